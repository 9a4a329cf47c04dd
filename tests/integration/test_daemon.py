"""The long-running daemon: it picks due sources on its tick, stores and alerts, and on SIGTERM finishes
in-flight work and exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlmodel import func, select

from scraper.demo.receiver import WebhookReceiver
from scraper.demo.site import NewsSite
from scraper.store.db import make_engine, upgrade
from scraper.store.db import session as open_session
from scraper.store.tables import Article, SourceState
from tests.conftest import free_port


def count_articles(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with open_session(engine) as s:
            return int(s.exec(select(func.count()).select_from(Article)).one())
    finally:
        engine.dispose()


def test_daemon_polls_alerts_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'd.db'}"
    upgrade(db_url)
    with NewsSite() as site, WebhookReceiver("k") as hook:
        config = tmp_path / "sources.yaml"
        sources = "".join(f"  - {{name: {o}, url: '{site.base}/{o}/rss.xml', interval: 1h}}\n" for o in site.outlets())
        config.write_text(
            f"channels:\n  ops: {{type: webhook, url: '{hook.url}', secret: k}}\n"
            "rules:\n  - {name: iran-russia, query: 'طهران AND موسكو', channels: [ops]}\n"
            f"sources:\n{sources}", encoding="utf-8")
        port = free_port()
        env = {**os.environ, "DATABASE_URL": db_url, "SCRAPER_CONFIG": str(config),
               "SCRAPER_ALLOW_PRIVATE_NETWORKS": "1", "SCRAPER_TICK_SECONDS": "0.5", "SCRAPER_LOG_FORMAT": "json",
               "SCRAPER_WEB_PORT": str(port)}
        proc = subprocess.Popen([sys.executable, "-m", "scraper", "run"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (count_articles(db_url) < len(site.articles) or not hook.deliveries):
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.3)
            assert count_articles(db_url) == len(site.articles)
            # the same process serves the API, health and metrics on SCRAPER_WEB_PORT
            base = f"http://127.0.0.1:{port}"
            health = httpx.get(f"{base}/healthz", timeout=10)
            assert health.status_code == 200, health.text
            assert health.json()["checks"]["scheduler"]["ok"] and health.json()["checks"]["outbox"]["ok"]
            found = httpx.get(f"{base}/api/articles", params={"q": "طهران AND موسكو"}, timeout=10).json()
            assert {r["url"].rsplit("/", 1)[-1] for r in found["results"]} == {
                "iran-russia-talks.html", "tehran-moscow-energy.html"}
            metrics = httpx.get(f"{base}/metrics", timeout=10).text
            assert "scraper_fetches_total" in metrics and 'rule="iran-russia"' in metrics
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=45)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err[-2000:]
        assert '"event": "daemon.stopped"' in err
        assert len(hook.deliveries) == 1  # one story, two outlets: one alert
    engine = make_engine(db_url)
    with open_session(engine) as s:
        states = s.exec(select(SourceState)).all()
        assert {st.name for st in states} == set(site.outlets())
        # polled once, then scheduled by the policy, not re-polled every tick
        assert all(st.last_success_at is not None and st.next_check_at > st.last_success_at for st in states)
    engine.dispose()
