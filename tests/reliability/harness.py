"""Helpers shared by the reliability tests and bench/crash.py: run the real CLI in a subprocess (with its
own peak RSS), read its JSON log lines, look at the database, and a loopback blackhole for connect
timeouts. Nothing here talks to anything outside 127.0.0.0/8."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent.parent

ARTICLE_PAGE = """<!doctype html><html lang="ar" dir="rtl"><head><meta charset="{charset}">
<title>{title}</title></head><body><nav><a href="/">الرئيسية</a></nav>
<article><h1>{title}</h1><div class="article-body">{paragraphs}</div></article>
<footer>جميع الحقوق محفوظة</footer></body></html>"""


def article_html(title: str, paragraphs: list[str], charset: str = "utf-8") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return ARTICLE_PAGE.format(title=title, paragraphs=body, charset=charset)


def rss(items: list[tuple[str, str]], encoding: str = "UTF-8") -> str:
    """An RSS 2.0 document of (title, link) items."""
    entries = "".join(f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid></item>"
                      for t, link in items)
    return (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>t</title>'
            f"<link>http://127.0.0.1/</link><description>d</description>{entries}</channel></rss>")


def base_env(db_url: str, config: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRAPER_", "SMTP_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": db_url, "SCRAPER_CONFIG": str(config), "SCRAPER_LOG_FORMAT": "json",
                "PYTHONPATH": str(REPO), "SCRAPER_WEB_PORT": "0"})  # no web server in `run`: no port to share
    env.update(extra)
    return env


@dataclass
class Finished:
    returncode: int
    stderr: str
    stdout: str
    max_rss_mb: float  # peak resident set of the scraper process (VmHWM, sampled until it exits)
    seconds: float

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = []
        for line in self.stderr.splitlines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if name is None or record.get("event") == name:
                out.append(record)
        return out


def run_cli(args: list[str], env: dict[str, str], workdir: Path, timeout: float = 120.0) -> Finished:
    """Run ``python -m scraper ARGS`` to completion; kill it (and fail) past ``timeout`` seconds."""
    err_path, out_path = workdir / f"stderr.{time.monotonic_ns()}", workdir / f"stdout.{time.monotonic_ns()}"
    started = time.monotonic()
    with err_path.open("wb") as err, out_path.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "scraper", *args], env=env, stdout=out, stderr=err,
                                cwd=workdir)
        deadline = started + timeout
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            pid, status, _usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise AssertionError(f"scraper {' '.join(args)} ran past {timeout}s: "
                                     f"{err_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Finished(returncode=proc.returncode, stderr=err_path.read_text(encoding="utf-8", errors="replace"),
                    stdout=out_path.read_text(encoding="utf-8", errors="replace"),
                    max_rss_mb=peak_kb / 1024, seconds=time.monotonic() - started)


def _vm_hwm_kb(pid: int) -> int:
    """Peak RSS so far of a running process. (wait4's ru_maxrss would also count the pages the child
    shared with this test process between fork and exec, so it measures the parent, not the daemon.)"""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def query(db_url: str, sql: str, **params: object) -> list[dict[str, Any]]:
    """Rows of a read-only query, through a short-lived engine (no pool kept between calls)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def source_states(db_url: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in query(db_url, "SELECT * FROM sources")}


@contextmanager
def blackhole() -> Iterator[int]:
    """A port on 127.0.0.1 that listens but never completes a connection: the accept queue (backlog 0)
    is filled by two connections nobody accepts, so further SYNs are dropped and connects time out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers: list[socket.socket] = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        with suppress(BlockingIOError):
            c.connect(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.1)
    try:
        yield port
    finally:
        for c in fillers:
            c.close()
        server.close()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_daemon(proc: subprocess.Popen[bytes], timeout: float = 45.0) -> int:
    """SIGTERM the daemon and wait for its exit status; kill it if it does not stop within ``timeout``."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
