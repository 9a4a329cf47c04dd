"""`scraper search` through the real CLI: formats, filters, story collapsing and syntax errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from tests.integration.test_stories_store import close, make_runtime, store

TALKS = [
    "استقبل الرئيس الروسي في موسكو وزير الخارجية الإيراني وبحث معه ملفات التعاون الاقتصادي والطاقة.",
    "وقال الكرملين في بيان إن الجانبين اتفقا على تسريع مشروعات النقل وتوسيع التبادل التجاري بالعملات المحلية.",
    "وأكد الوزير الإيراني أن طهران ترى في العلاقة مع موسكو شراكة استراتيجية طويلة الأمد.",
]
BUDGET = ["أعلنت الحكومة المصرية خطة لخفض عجز الموازنة خلال ثلاث سنوات تعتمد على زيادة الإيرادات الضريبية."]


@pytest.fixture
def filled_db(db_url: str) -> str:
    rt = make_runtime(db_url)
    store(rt, 0, "https://outlet0.example/talks", "بوتين يستقبل عراقجي في موسكو", TALKS)
    store(rt, 1, "https://outlet1.example/talks-copy", "عراقجي في الكرملين", ["موسكو (وكالات) -", *TALKS])
    store(rt, 2, "https://outlet2.example/budget", "خطة مصرية لخفض العجز", BUDGET)
    close(rt)
    return db_url


def scraper(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "SCRAPER_CONFIG": "/nonexistent.yaml"}
    return subprocess.run([sys.executable, "-m", "scraper", "search", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_search_json_csv_and_story_collapse(filled_db: str) -> None:
    proc = scraper(filled_db, "طهران AND موسكو", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {r["url"] for r in rows} == {"https://outlet0.example/talks", "https://outlet1.example/talks-copy"}
    for key in ("url", "title", "source", "published_at", "fetched_at", "story_id", "snippet"):
        assert key in rows[0]
    assert "[[" in rows[0]["snippet"]
    collapsed = json.loads(scraper(filled_db, "طهران AND موسكو", "--stories", "--format", "json").stdout)
    assert len(collapsed) == 1 and collapsed[0]["outlets"] == 2
    only = json.loads(scraper(filled_db, "الكرملين", "--source", "outlet-2", "--format", "json").stdout)
    assert only == []
    # a name finds its adjective: مصر finds "الحكومة المصرية"
    table = list(csv.DictReader(io.StringIO(scraper(filled_db, "مصر", "--format", "csv").stdout)))
    assert [r["url"] for r in table] == ["https://outlet2.example/budget"]


def test_search_errors_exit_2_with_the_position(filled_db: str) -> None:
    proc = scraper(filled_db, "إيران AND (روسيا")
    assert proc.returncode == 2 and "^" in proc.stderr and "Traceback" not in proc.stderr
    proc = scraper(filled_db, "إيران", "--format", "xml")
    assert proc.returncode == 2 and "unknown format" in proc.stderr
    proc = scraper(filled_db, "إيران", "--from", "yesterday")
    assert proc.returncode == 2 and "not an ISO date" in proc.stderr
