"""PostgreSQL connections cut under the running daemon (what a server restart does to it): the daemon's
backends are terminated three times during ingestion and delivery (pg_terminate_backend, on its test
database only, so other tests on the same cluster are untouched). It must reconnect and finish: every
article stored once, every alert delivered."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from scraper.demo.receiver import Delivery, WebhookReceiver
from scraper.demo.site import NewsSite
from tests.conftest import PG_ADMIN
from tests.reliability.crashkit import WATCHED, make_articles
from tests.reliability.harness import REPO, base_env, query, stop_daemon

pytestmark = [pytest.mark.pg, pytest.mark.slow]


def _terminate(dbname: str) -> int:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                            "AND pid <> pg_backend_pid()", (dbname,)).fetchall()
    return sum(bool(r[0]) for r in rows)


def test_daemon_survives_terminated_backends(pg_url: str, tmp_path: Path) -> None:
    dbname = pg_url.rsplit("/", 1)[1]
    articles = make_articles(3, 16, seed=5)
    matched = sum(WATCHED in " ".join(a.paragraphs) for a in articles)

    def slow(_d: Delivery) -> None:
        time.sleep(0.1)

    with NewsSite(articles) as site, WebhookReceiver("pg-secret", on_delivery=slow) as hook:
        config = tmp_path / "sources.yaml"
        sources = "".join(f"  - {{name: {o}, url: '{site.base}/{o}/rss.xml', interval: 10m, min_interval: 2s, "
                          f"allow_private: true}}\n" for o in site.outlets())
        config.write_text(f"channels:\n  ops: {{type: webhook, url: '{hook.url}', secret: pg-secret}}\n"
                          f"rules:\n  - {{name: watched, query: '{WATCHED}', channels: [ops]}}\n"
                          f"sources:\n{sources}", encoding="utf-8")
        env = base_env(pg_url, config, SCRAPER_TICK_SECONDS="0.3", SCRAPER_PER_HOST_DELAY="0.08")
        log = tmp_path / "daemon.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "scraper", "run"], env=env, stdout=out, stderr=out,
                                    cwd=REPO)
            terminated = []
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    assert proc.poll() is None, log.read_text()[-3000:]
                    stored = len(query(pg_url, "SELECT id FROM articles"))
                    sent = len(query(pg_url, "SELECT id FROM alerts WHERE status = 'sent'"))
                    # cut at a third and two thirds of ingestion, and once during delivery
                    due = [stored >= len(articles) // 3, stored >= 2 * len(articles) // 3, sent >= matched // 3]
                    if len(terminated) < 3 and due[len(terminated)]:
                        terminated.append(_terminate(dbname))
                    if stored == len(articles) and sent == matched and len(terminated) == 3:
                        break
                    time.sleep(0.1)
            finally:
                code = stop_daemon(proc)
        text = log.read_text(encoding="utf-8", errors="replace")
        assert len(terminated) == 3 and sum(terminated) >= 1, terminated
        assert code == 0, text[-3000:]
        urls = [r["url"] for r in query(pg_url, "SELECT url FROM articles")]
        assert len(urls) == len(set(urls)) == len(articles)
        statuses = Counter(r["status"] for r in query(pg_url, "SELECT status FROM alerts"))
        assert statuses == Counter({"sent": matched}), statuses
        ids = Counter(d.headers["x-scraper-id"] for d in hook.deliveries)
        assert len(ids) == matched
        assert sum(ids.values()) - len(ids) <= 3  # a cut during a send may repeat that one alert
