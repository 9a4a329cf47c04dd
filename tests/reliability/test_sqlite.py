"""SQLite under pressure: a reader in another process while the daemon writes (WAL + busy_timeout: no
"database is locked"), and the disk filling up under the running daemon (the database stays
consistent, earlier rows intact, the error is logged, the daemon keeps running and catches up once
there is room again).

The disk-full test mounts a small tmpfs when the test runs as root with mount rights (as on the CI
machine); elsewhere it limits the daemon's file size with RLIMIT_FSIZE instead (EFBIG rather than
ENOSPC, and no "room again" step, since a file-size limit cannot be lifted from outside)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from scraper.demo.site import NewsSite
from scraper.store.db import upgrade
from tests.reliability.crashkit import WATCHED, make_articles
from tests.reliability.harness import REPO, base_env, run_cli, stop_daemon

pytestmark = pytest.mark.slow

READER = """
import sqlite3, sys, time
db, seconds = sys.argv[1], float(sys.argv[2])
conn = sqlite3.connect(db, timeout=10)
conn.execute("PRAGMA busy_timeout=10000")
reads = errors = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        conn.execute("SELECT count(*), max(length(body)) FROM articles").fetchone()
        conn.execute("SELECT a.id FROM articles a JOIN article_urls u ON u.article_id = a.id "
                     "ORDER BY a.fetched_at DESC LIMIT 20").fetchall()
        reads += 1
        time.sleep(0.005)
    except sqlite3.Error as exc:
        errors += 1
        print("error", exc, flush=True)
print("reads", reads, "errors", errors)
"""


def _config(tmp: Path, site: NewsSite, interval: str = "10m") -> Path:
    path = tmp / "sources.yaml"
    sources = "".join(f"  - {{name: {o}, url: '{site.base}/{o}/rss.xml', interval: {interval}, "
                      f"min_interval: 1s, max_interval: 2s, allow_private: true}}\n" for o in site.outlets())
    path.write_text(f"rules:\n  - {{name: watched, query: '{WATCHED}'}}\nsources:\n{sources}", encoding="utf-8")
    return path


def test_readers_never_see_database_is_locked(tmp_path: Path) -> None:
    db = tmp_path / "rw.db"
    db_url = f"sqlite:///{db}"
    upgrade(db_url)
    with NewsSite(make_articles(4, 25)) as site:
        config = _config(tmp_path, site)
        env = base_env(db_url, config, SCRAPER_PER_HOST_DELAY="0", SCRAPER_PER_HOST_CONCURRENCY="8")
        reader = subprocess.Popen([sys.executable, "-c", READER, str(db), "12"], stdout=subprocess.PIPE, text=True)
        try:
            searches = [run_cli(["search", WATCHED, "--format", "json", "--limit", "5"], env, tmp_path)]
            done = run_cli(["run", "--once"], env, tmp_path, timeout=90)
            searches.append(run_cli(["search", WATCHED, "--format", "json"], env, tmp_path))
            out, _ = reader.communicate(timeout=60)
        finally:
            if reader.poll() is None:
                reader.kill()
    assert done.returncode == 0, done.stderr[-3000:]
    assert "locked" not in done.stderr.lower()
    assert all(s.returncode == 0 and "locked" not in s.stderr for s in searches), searches[-1].stderr
    reads, errors = (int(x) for x in out.split()[-3::2])
    assert errors == 0 and not any(line.startswith("error ") for line in out.splitlines()), out
    assert reads > 20
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == len(site.articles)


@contextlib.contextmanager
def _small_disk(where: Path, size_mb: int) -> Iterator[bool]:
    """A tmpfs of ``size_mb`` at ``where``; yields False (nothing mounted) when mounting is refused."""
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    try:
        yield proc.returncode == 0
    finally:
        if proc.returncode == 0:
            subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(path: Path) -> None:
    """Fill the file system holding ``path`` with one file, to the last byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for block in (65536, 512, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * block):
                    pass
    finally:
        os.close(fd)


def _rows(db: Path) -> dict[str, str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return {str(u): str(h) for u, h in conn.execute("SELECT url, content_hash FROM articles")}


def _limit_file_size(limit: int) -> None:  # runs in the child before exec
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_disk_full_keeps_database_consistent_and_daemon_running(tmp_path: Path) -> None:
    wave1 = make_articles(2, 5, seed=1)
    big = "، ".join(["كلمة طويلة في نص كبير يملأ القرص"] * 700)
    wave2 = [replace(a, slug=f"big-{a.slug}", paragraphs=(*a.paragraphs, big)) for a in make_articles(2, 20, seed=2)]
    # 16 MB: once the filler is gone, the second wave needs ~4 MB of database plus up to ~4 MB of WAL
    # (SQLite checkpoints at 1,000 pages); 8 MB left the catch-up at the mercy of checkpoint timing.
    with _small_disk(tmp_path / "fs", 16) as mounted, NewsSite(wave1) as site:
        db = tmp_path / "fs" / "full.db"
        db_url = f"sqlite:///{db}"
        upgrade(db_url)
        config = _config(tmp_path, site, interval="1s")
        env = base_env(db_url, config, SCRAPER_TICK_SECONDS="0.3", SCRAPER_PER_HOST_DELAY="0")
        log_path = tmp_path / "daemon.log"
        with log_path.open("wb") as log:
            preexec = None if mounted else (lambda: _limit_file_size(db.stat().st_size + 400_000))
            proc = subprocess.Popen([sys.executable, "-m", "scraper", "run"], env=env, stdout=log, stderr=log,
                                    cwd=REPO, preexec_fn=preexec)
            try:
                _wait(lambda: len(_rows(db)) == len(wave1), 60, proc, log_path)
                before = _rows(db)
                filler = tmp_path / "fs" / "filler"
                if mounted:
                    _fill(filler)
                site.articles.extend(wave2)
                _wait(lambda: "full" in _log(log_path) or "too large" in _log(log_path), 60, proc, log_path)
                time.sleep(3)  # more ticks against the full disk: each source is checked again, after its backoff
                assert proc.poll() is None, _log(log_path)[-3000:]
                with sqlite3.connect(db, timeout=10) as conn:
                    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                during = _rows(db)
                assert {u: during[u] for u in before} == before  # earlier rows intact
                assert len(during) < len(wave1) + len(wave2)
                if mounted:
                    filler.unlink()  # room again: the daemon catches up on its own
                    _wait(lambda: len(_rows(db)) == len(wave1) + len(wave2), 90, proc, log_path)
            finally:
                code = stop_daemon(proc)
        text = _log(log_path)
        assert code == 0, text[-3000:]
        assert "database or disk is full" in text or "too large" in text
        if mounted:
            _assert_disk_full_classified(text)
        with sqlite3.connect(db, timeout=10) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            urls = [r[0] for r in conn.execute("SELECT url FROM articles")]
        assert len(urls) == len(set(urls))
        after = _rows(db)
        assert {u: after[u] for u in before} == before


def _assert_disk_full_classified(text: str) -> None:
    """Disk full is one classified line per check (no traceback, no crash event), and a source that hit
    it is backed off like any failing source instead of being polled again at once."""
    events = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    full = [e for e in events if e.get("error_class") == "disk_full"]
    assert full and {e["event"] for e in full} <= {"source.error", "source.not_recorded", "outbox.error"}, full
    assert all("exc" not in e for e in full)
    assert not [e for e in events if e["event"].endswith(".crash")], text[-3000:]
    by_source: dict[str, list[datetime]] = {}
    for e in full:
        if e["event"] == "source.error":
            by_source.setdefault(e["source"], []).append(datetime.fromisoformat(e["ts"]))
    gaps = [b - a for times in by_source.values() for a, b in itertools.pairwise(times)]
    # min_interval is 1 s and the failure backoff never goes below it; without the backoff the source
    # was checked again as soon as the failed check ended (a few milliseconds).
    assert gaps and all(gap >= timedelta(seconds=0.5) for gap in gaps), (gaps, by_source)


def _log(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _wait(cond, seconds: float, proc: subprocess.Popen[bytes], log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, _log(log)[-3000:]
        with contextlib.suppress(sqlite3.Error):
            if cond():
                return
        time.sleep(0.2)
    raise AssertionError(f"condition not met in {seconds}s: {_log(log)[-3000:]}")

