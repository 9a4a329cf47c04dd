"""Body-extraction benchmark: token F1 and median ms/page, our extract_article vs trafilatura.extract.

    .venv/bin/python bench/extraction.py [--corpus /work/shared/corpus] [--write bench/RESULTS.extraction.md]

Sets: (a) Arabic pages with body ground truth (CNN Arabic x2, LBC: full text; assabah: must/must-not
snippets), (b) the 181-page scrapinghub English benchmark. Also: the 8 date-labelled Arabic pages, and
how often our tabular Hijri conversion agrees with Umm al-Qura (hijridate), when it is installed.
Needs trafilatura in the venv (pip install trafilatura); everything else is the project's own code.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scraper.extract.article import extract_article
from scraper.extract.hijri import hijri_to_gregorian

_TOKEN = re.compile(r"\w+")
NOTES = """
## Notes

* Speed is the median of wall time per page, ours = the whole `extract_article` (metadata, dates and
  body), trafilatura = `trafilatura.extract` (body only). Each page is timed once (`--repeat N`: best
  of N runs in a row, less noisy but warm caches). The machine has 2 cores shared with other
  engineers (load average 4-6 during these runs), so absolute figures move a lot between runs
  (trafilatura's median ranged 35-121 ms across runs); compare the two columns of the same run.
* The 20x target holds on the Arabic pages but is NOT met on the scrapinghub set. Same-session A/B
  (three alternating runs of the previous code, commit 49e79d3, and this one): our median
  5.91 / 6.17 / 5.55 ms before vs 3.54 / 3.67 / 3.40 ms after, trafilatura 38-43 ms in those runs,
  so 6.6-7.5x before and 10.2-12.7x after (14.3x with `--repeat 3`). Output is unchanged on all 196
  corpus pages (title, author, date, canonical URL, language, paragraphs, methods), hence the
  identical F1.
* Where the time goes now (py-spy over the scrapinghub pages): the lexbor parse itself ~30%, the one
  Python walk over the pruned body that records parent / subtree end / tags below / link text per
  element ~13%, reading and normalising block texts ~13%, JSON-LD + <meta> + date + title + canonical
  ~20%, junk-tag removal ~5%, scoring ~6%. What made the old code slow: a CSS query per text block
  (`css_first("a")`, `css_first("br")`; lexbor re-parses the selector on every call, 5-15 us each),
  `:has()` selector lists run three times per page, a whole-line regex per paragraph, an unanchored
  regex over JSON-LD blocks, and a mojibake regex over whole pages that merely contained "Ø".
* Not done: getting to 20x needs the remaining per-element Python work gone, i.e. the walk and the
  block-text pass in C (a small Cython/C helper over lexbor, or a selectolax feature returning the
  parent index per element), or scoring only a candidate subtree. The str input also pays a UTF-8
  re-encode inside the parser (~0.2 ms on a 120 kB page). (For bytes input, `decode_html` now decodes
  UTF-8 once instead of twice.)
* Hijri: the tabular calendar (civil epoch) is what `scraper/extract/hijri.py` implements; the line
  above measures its agreement with Umm al-Qura (hijridate, installed in the venv only for this).
* Arabic F1 covers 3 pages only (CNN Arabic twice, LBC); assabah has snippets, not full text.
"""


def token_f1(predicted: str, truth: str) -> float:
    """Bag-of-tokens F1 (the scrapinghub benchmark's measure): 0 for an empty prediction."""
    p, t = Counter(_TOKEN.findall(predicted.lower())), Counter(_TOKEN.findall(truth.lower()))
    common = sum((p & t).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(t.values())
    return 2 * precision * recall / (precision + recall)


def ours(html: str, url: str) -> str:
    return extract_article(html, url).body


def trafilatura_body(html: str, url: str) -> str:
    import trafilatura

    return trafilatura.extract(html, url=url) or ""


@dataclass
class Side:
    """One extractor's results over a set: F1, wall ms and CPU ms per page."""

    f1: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def run(extractors: tuple[Callable[[str, str], str], ...], pages: list[tuple[str, str, str]], repeat: int = 1
        ) -> list[Side]:
    """Each page goes through every extractor in turn before the next page, so a burst of load on the
    shared machine hits all sides alike (timing one extractor over the whole set and then the other
    let a burst land on one side only). With ``repeat`` > 1 a page's time is the best of that many
    runs in a row (less noise, but warm caches). Exceptions count as an empty body: a crash is a miss."""
    sides = [Side() for _ in extractors]
    for html, url, truth in pages:
        for extractor, side in zip(extractors, sides, strict=True):
            wall = cpu = float("inf")
            for _ in range(repeat):
                w0, c0 = time.perf_counter(), time.process_time()
                try:
                    body = extractor(html, url)
                except Exception:  # the benchmark must finish; a failing page scores 0
                    body = ""
                wall = min(wall, (time.perf_counter() - w0) * 1000)
                cpu = min(cpu, (time.process_time() - c0) * 1000)
            side.wall.append(wall)
            side.cpu.append(cpu)
            side.f1.append(token_f1(body, truth))
    return sides


def anchor(pages: list[tuple[str, str, str]]) -> float:
    """Median ms of a bare selectolax parse + body text: the floor any selectolax extractor pays."""
    from selectolax.lexbor import LexborHTMLParser

    times = []
    for html, _, _ in pages:
        start = time.perf_counter()
        tree = LexborHTMLParser(html)
        if tree.body is not None:
            tree.body.text()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def arabic_pages(corpus: Path) -> list[tuple[str, str, str]]:
    art = corpus / "articles"
    cnn_truth = (art / "arabic.cnn.com/cnn-arabic-2013-syria-clashes.txt").read_text()
    cnn_url = "http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html"
    lbc_url = json.loads((art / "lbcgroup.tv/lbcgroup-2026-01-08.meta.json").read_text())["url"]
    return [
        ((art / "arabic.cnn.com/cnn-arabic-2013-syria-clashes.html").read_text(), cnn_url, cnn_truth),
        ((art / "arabic.cnn.com/cnn-arabic-2013-syria-clashes.goose3.html").read_text(), cnn_url, cnn_truth),
        ((art / "lbcgroup.tv/lbcgroup-2026-01-08.html").read_text(), lbc_url,
         (art / "lbcgroup.tv/lbcgroup-2026-01-08.txt").read_text()),
    ]


def english_pages(corpus: Path) -> list[tuple[str, str, str]]:
    base = corpus / "articles/_benchmark-scrapinghub-en"
    truth = json.loads((base / "ground-truth.json").read_text())
    pages = []
    for key, item in sorted(truth.items()):
        html = gzip.decompress((base / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace")
        pages.append((html, item["url"], item["articleBody"]))
    return pages


def snippet_check(corpus: Path, extractor: Callable[[str, str], str]) -> str:
    art = corpus / "articles/assabah.com.tn"
    gt = json.loads((art / "assabah-sudan-interview.json").read_text())
    body = extractor((art / "assabah-sudan-interview.html").read_text(), gt["url"])
    hits = sum(s in body for s in gt["with"])
    leaks = sum(s in body for s in gt["without"])
    return f"{hits}/{len(gt['with'])} must-have snippets, {leaks}/{len(gt['without'])} boilerplate leaks"


def date_check(corpus: Path) -> str:
    ok, lines = 0, []
    for truth_file in sorted((corpus / "articles").glob("*/*.json")):
        truth = json.loads(truth_file.read_text())
        if "publication_date" not in truth:
            continue
        html = truth_file.with_suffix(".html").read_bytes()
        raw = extract_article(html, truth["url"])
        got = raw.published_at
        good = got is not None and truth["publication_date"] in _local_dates(got)
        ok += good
        lines.append(f"  {truth_file.parent.name}: truth {truth['publication_date']}, got {got} "
                     f"({raw.method.get('published_at')}) {'ok' if good else 'WRONG'}")
    return "\n".join([f"dates: {ok}/{len(lines)} calendar dates right (UTC or UTC+1..+4 local)", *lines])


def _local_dates(utc: object) -> set[str]:
    # The ground truth is the page's local calendar date; Arab sites sit at UTC+1..+4.
    return {(utc + timedelta(hours=h)).date().isoformat() for h in range(5)}  # type: ignore[operator]


def hijri_check() -> str:
    try:
        from hijridate import Hijri
    except ImportError:
        return "hijri: hijridate not installed, agreement with Umm al-Qura not measured"
    diffs: Counter[int] = Counter()
    for year in range(1400, 1451):
        for month in range(1, 13):
            for day in (1, 10, 20, 29):
                ours_d = hijri_to_gregorian(year, month, day)
                theirs = Hijri(year, month, day).to_gregorian()
                diffs[(ours_d - date(theirs.year, theirs.month, theirs.day)).days] += 1
    total = sum(diffs.values())
    shares = ", ".join(f"{d:+d} day: {n / total:.1%}" for d, n in sorted(diffs.items()))
    return f"hijri (tabular vs Umm al-Qura via hijridate, 1400-1450 AH, {total} dates): {shares}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="/work/shared/corpus")
    ap.add_argument("--write", default="")
    ap.add_argument("--repeat", type=int, default=1, help="time each page as the best of N runs in a row")
    args = ap.parse_args()
    corpus = Path(args.corpus)
    repeat = f" --repeat {args.repeat}" if args.repeat > 1 else ""
    out = [f"command: .venv/bin/python bench/extraction.py --corpus {corpus}{repeat} --write {args.write or '-'}"]
    for name, pages in (("arabic (CNN x2, LBC)", arabic_pages(corpus)), ("scrapinghub-en", english_pages(corpus))):
        mine, theirs = run((ours, trafilatura_body), pages, args.repeat)
        o_ms, t_ms = statistics.median(mine.wall), statistics.median(theirs.wall)
        o_cpu, t_cpu = statistics.median(mine.cpu), statistics.median(theirs.cpu)
        o_f1, t_f1 = statistics.mean(mine.f1), statistics.mean(theirs.f1)
        out.append(
            f"{name}: {len(pages)} pages | F1 ours {o_f1:.4f} vs trafilatura {t_f1:.4f} "
            f"[{'met' if o_f1 >= t_f1 else 'NOT met'}] | median ms ours {o_ms:.2f} vs trafilatura {t_ms:.2f} "
            f"= {t_ms / o_ms:.1f}x faster [20x target {'met' if t_ms >= 20 * o_ms else 'NOT met'}] | "
            f"CPU ms {o_cpu:.2f} vs {t_cpu:.2f} = {t_cpu / o_cpu:.1f}x | "
            f"anchor (selectolax parse + text) {anchor(pages):.2f} ms | load average {os.getloadavg()[0]:.2f}"
        )
    out.append(f"assabah: ours {snippet_check(corpus, ours)}; trafilatura {snippet_check(corpus, trafilatura_body)}")
    out.append(date_check(corpus))
    out.append(hijri_check())
    report = "\n".join(out)
    print(report)
    if args.write:
        Path(args.write).write_text(f"# Extraction benchmark\n\n```\n{report}\n```\n{NOTES}", encoding="utf-8")


if __name__ == "__main__":
    main()
