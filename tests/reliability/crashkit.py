"""kill -9 the daemon at chosen points, restart it, let it finish, and count what was lost or duplicated.

Used by tests/reliability/test_crash.py (a few fixed kill points) and bench/crash.py (many random ones).

The world: a loopback news site with ``outlets`` × ``per_outlet`` distinct Arabic articles, about half
of them mentioning the watched word (each its own story, so each matched story is one alert), a webhook
receiver that takes ``receiver_delay`` seconds per delivery (a wide window for kills during delivery),
and `scraper run` with a short tick on SQLite.

Kill points: ("ingest", f) kills as soon as a fraction f of the articles is stored; ("deliver", f) as
soon as the receiver has accepted a fraction f of the matched alerts. Time compression: a kill during
delivery leaves the claimed alerts leased (outbox.LEASE, 2 minutes) before anyone may send them again;
instead of waiting, the harness moves those leases back by LEASE before the restart, as if the daemon
had been down that long. Nothing else is touched in the database.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from scraper.alert.outbox import LEASE
from scraper.demo.articles import DemoArticle
from scraper.demo.receiver import Delivery, WebhookReceiver
from scraper.demo.site import NewsSite
from scraper.store.db import upgrade
from tests.reliability.harness import base_env

WATCHED = "الهيدروجين"
_WORDS = (
    "الحكومة الوزير البرلمان الاقتصاد السوق الأسعار النفط الغاز الكهرباء المياه الزراعة الصناعة التجارة "
    "الاستثمار البنك العملة التضخم الميزانية الضرائب الشركات العمال الرواتب التعليم الجامعة المدارس الصحة "
    "المستشفى الدواء الطرق الموانئ المطار السياحة الفنادق المدينة القرية الشمال الجنوب الشرق الغرب الحدود "
    "الأمن الشرطة المحكمة القانون الدستور الانتخابات الأحزاب المعارضة الرئيس المجلس اللجنة التقرير البيان "
    "المؤتمر الاجتماع الاتفاق المفاوضات الوفد السفير الخارجية الداخلية الدفاع الجيش المناخ الأمطار الحرارة "
    "الرياح الزلزال الفيضانات الطاقة الشمسية الرياح المصنع الإنتاج التصدير الاستيراد القمح السكر الحديد"
)
_VOCAB = _WORDS.split()


@dataclass
class CrashReport:
    kills: list[tuple[str, float]]
    reached: list[bool] = field(default_factory=list)  # whether each kill point was reached before the kill
    articles_expected: int = 0
    articles_stored: int = 0
    articles_unique_urls: int = 0
    alerts_matched: int = 0  # alert rows (one per matched story and channel)
    alerts_sent: int = 0
    alerts_received_unique: int = 0
    deliveries: int = 0
    duplicate_ids: list[str] = field(default_factory=list)
    integrity: list[str] = field(default_factory=list)  # PRAGMA integrity_check after each kill
    seconds: float = 0.0
    exit_code: int | None = None
    died: list[int] = field(default_factory=list)  # exit codes of daemons that stopped before their kill
    log_tail: str = ""

    @property
    def lost_articles(self) -> int:
        return self.articles_expected - self.articles_unique_urls

    @property
    def duplicated_articles(self) -> int:
        return self.articles_stored - self.articles_unique_urls


def make_articles(outlets: int, per_outlet: int, seed: int = 7) -> list[DemoArticle]:
    rng = random.Random(seed)
    out = []
    for o in range(outlets):
        for i in range(per_outlet):
            paragraphs = []
            for _p in range(3):
                words = [rng.choice(_VOCAB) for _ in range(40)]
                if (o + i) % 2 == 0 and _p == 1:
                    words.insert(rng.randrange(len(words)), WATCHED)
                paragraphs.append(" ".join(words) + ".")
            title = " ".join(rng.choice(_VOCAB) for _ in range(6)) + f" {o}-{i}"
            out.append(DemoArticle(outlet=f"outlet{o}", slug=f"a{i}", title=title, author="مراسل",
                                   published="2026-01-05T10:00:00+03:00", paragraphs=tuple(paragraphs)))
    return out


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return -1


def _release_leases(db: Path) -> int:
    """Move the leases of pending alerts back by LEASE: the compressed wait after a crash."""
    from sqlmodel import select

    from scraper.store.db import make_engine
    from scraper.store.db import session as open_session
    from scraper.store.tables import Alert

    engine = make_engine(f"sqlite:///{db}")
    try:
        with open_session(engine) as s:
            rows = list(s.exec(select(Alert).where(Alert.status == "pending")).all())
            for alert in rows:
                alert.next_attempt_at = alert.next_attempt_at - LEASE
                s.add(alert)
            s.commit()
            return len(rows)
    finally:
        engine.dispose()


def _integrity(db: Path) -> str:
    with sqlite3.connect(db, timeout=10) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def run_scenario(tmp: Path, kills: list[tuple[str, float]], *, outlets: int = 3, per_outlet: int = 16,
                 receiver_delay: float = 0.12, finish_timeout: float = 90.0) -> CrashReport:
    db = tmp / "crash.db"
    db_url = f"sqlite:///{db}"
    upgrade(db_url)
    articles = make_articles(outlets, per_outlet)
    report = CrashReport(kills=list(kills), articles_expected=len(articles))
    started = time.monotonic()
    lock = threading.Lock()

    def slow(_d: Delivery) -> None:
        time.sleep(receiver_delay)

    with NewsSite(articles) as site, WebhookReceiver("crash-secret", on_delivery=slow) as hook:
        config = tmp / "sources.yaml"
        sources = "".join(f"  - {{name: {o}, url: '{site.base}/{o}/rss.xml', interval: 1h, allow_private: true}}\n"
                          for o in site.outlets())
        config.write_text(
            f"channels:\n  ops: {{type: webhook, url: '{hook.url}', secret: crash-secret, timeout: 5}}\n"
            f"rules:\n  - {{name: watched, query: '{WATCHED}', channels: [ops]}}\n"
            f"sources:\n{sources}", encoding="utf-8")
        env = base_env(db_url, config, SCRAPER_TICK_SECONDS="0.3", SCRAPER_PER_HOST_DELAY="0.03",
                       SCRAPER_FETCH_TIMEOUT="5")
        matched = sum(WATCHED in " ".join(a.paragraphs) for a in articles)
        log = (tmp / "daemon.log").open("ab")

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen([sys.executable, "-m", "scraper", "run"], env=env, stdout=log, stderr=log,
                                    cwd=tmp)

        for phase, fraction in kills:
            proc = start()
            reached = False
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                if phase == "ingest":
                    reached = _count(db, "SELECT count(*) FROM articles") >= fraction * len(articles)
                else:
                    with lock:
                        reached = len(hook.deliveries) >= fraction * matched
                if reached:
                    break
                time.sleep(0.01)
            if proc.poll() is not None:
                report.died.append(proc.returncode)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            report.reached.append(reached)
            report.integrity.append(_integrity(db))
            _release_leases(db)

        proc = start()
        deadline = time.monotonic() + finish_timeout
        while time.monotonic() < deadline and proc.poll() is None:
            done = (_count(db, "SELECT count(*) FROM articles") >= len(articles)
                    and _count(db, "SELECT count(*) FROM alerts WHERE status != 'sent'") == 0
                    and _count(db, "SELECT count(*) FROM alerts") >= matched)
            if done:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        try:
            report.exit_code = proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            proc.kill()
            report.exit_code = proc.wait()
        log.close()
        report.log_tail = (tmp / "daemon.log").read_text(encoding="utf-8", errors="replace")[-4000:]
        report.articles_stored = _count(db, "SELECT count(*) FROM articles")
        report.articles_unique_urls = _count(db, "SELECT count(DISTINCT url) FROM articles")
        report.alerts_matched = _count(db, "SELECT count(*) FROM alerts")
        report.alerts_sent = _count(db, "SELECT count(*) FROM alerts WHERE status = 'sent'")
        ids = Counter(d.headers.get("x-scraper-id", "") for d in hook.deliveries)
        report.deliveries = sum(ids.values())
        report.alerts_received_unique = len(ids)
        report.duplicate_ids = sorted(k for k, n in ids.items() if n > 1)
        assert all(d.signature_ok for d in hook.deliveries)
        # every received id is one of ours
        keys = _keys(db)
        assert set(ids) <= keys, set(ids) - keys
    report.seconds = time.monotonic() - started
    return report


def _keys(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {str(r[0]) for r in conn.execute("SELECT key FROM alerts")}


def expected_matches(outlets: int = 3, per_outlet: int = 16) -> int:
    return sum(WATCHED in " ".join(a.paragraphs) for a in make_articles(outlets, per_outlet))


if __name__ == "__main__":  # a quick manual run: python -m tests.reliability.crashkit
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        print(run_scenario(Path(d), [("ingest", 0.3), ("deliver", 0.5)]))
    os._exit(0)
