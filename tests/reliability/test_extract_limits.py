"""Hostile article pages must cost bounded time: the extraction runs on the daemon's event loop, so a
page that takes minutes freezes every source's fetch (their timeouts cannot even fire) and alert
delivery with it.

Found here: lexbor's HTML tree builder is quadratic in the depth of nested <div>s (16,000 deep: ~3 s,
32,000: ~14 s, 64,000: ~2 min on the CI machine), and a 100,000-deep page is about 1.2 MB, far under the
10 MB body limit. The test runs the extraction in a child process so that, while the bug stands, it fails
after ``BUDGET`` seconds instead of burning minutes of CPU."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.reliability.harness import REPO

BUDGET = 10.0
CHILD = """
import sys, time
from scraper.errors import ExtractionError
from scraper.extract.article import extract_article
depth = int(sys.argv[1])
text = "بحث وزير الخارجية اليوم في القاهرة مع نظيره المصري ملف مياه النيل والتعاون الإقليمي في مجال الطاقة."
page = ("<html><head><title>عنوان</title></head><body>" + "<div>" * depth + "<p>" + text + "</p>"
        + "</div>" * depth + "</body></html>").encode()
started = time.monotonic()
try:
    draft = extract_article(page, "http://127.0.0.1/deep")
    print("ok", len(draft.paragraphs))
except ExtractionError as exc:
    print("refused", exc)
print(round(time.monotonic() - started, 2))
"""


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_deeply_nested_page_is_extracted_or_refused_quickly(depth: int) -> None:
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(depth)], capture_output=True, text=True,
                              timeout=BUDGET, cwd=REPO)
    except subprocess.TimeoutExpired:
        pytest.fail(f"extract_article on a page nested {depth:,} <div>s deep ran past {BUDGET}s "
                    "(quadratic tree building on the event loop: cap the nesting depth before parsing)")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith(("ok 1", "refused")), proc.stdout
