"""The daemon's stderr is one JSON object per line, APScheduler's own messages included: a slow webhook
receiver keeps the delivery job running past its period, so APScheduler skips runs and says so; that
must arrive as a `scheduler.job_skipped` event, not as a plain-text line in the middle of the JSON log."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from scraper.demo.receiver import WebhookReceiver
from scraper.demo.site import NewsSite
from scraper.store.db import upgrade
from tests.reliability.harness import REPO, base_env, stop_daemon

RECEIVER_PAUSE = 1.5  # seconds the receiver takes per alert; the delivery job runs every tick (0.3 s)


def _slow_ok() -> int:
    time.sleep(RECEIVER_PAUSE)
    return 200


def test_every_stderr_line_of_the_daemon_is_json(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'log.db'}"
    upgrade(db_url)
    log_path = tmp_path / "daemon.log"
    with NewsSite() as site, WebhookReceiver("k", status=_slow_ok) as hook:
        config = tmp_path / "sources.yaml"
        sources = "".join(f"  - {{name: {o}, url: '{site.base}/{o}/rss.xml', interval: 1h, allow_private: true}}\n"
                          for o in site.outlets())
        config.write_text(
            f"channels:\n  ops: {{type: webhook, url: '{hook.url}', secret: k}}\n"
            "rules:\n  - {name: iran-russia, query: 'طهران AND موسكو', channels: [ops]}\n"
            f"sources:\n{sources}", encoding="utf-8")
        env = base_env(db_url, config, SCRAPER_TICK_SECONDS="0.3", SCRAPER_ALLOW_PRIVATE_NETWORKS="1")
        with log_path.open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "scraper", "run"], env=env, stdout=log, stderr=log,
                                    cwd=REPO)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and not ('"scheduler.job_skipped"' in _text(log_path)
                                                           and hook.deliveries):
                    assert proc.poll() is None, _text(log_path)[-3000:]
                    time.sleep(0.2)
            finally:
                code = stop_daemon(proc)
    text = _text(log_path)
    assert code == 0, text[-3000:]
    lines = text.splitlines()
    not_json = [line for line in lines if not _is_json_object(line)]
    assert not not_json, not_json[:5]
    events = [json.loads(line) for line in lines]
    skipped = [e for e in events if e["event"] == "scheduler.job_skipped"]
    assert skipped and skipped[0]["job"] == "deliver" and skipped[0]["level"] == "warning", skipped[:2]
    assert {"daemon.started", "article.stored", "daemon.stopped"} <= {e["event"] for e in events}


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False
