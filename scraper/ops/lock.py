"""One scheduler per data directory.

Two schedulers on one database would both poll every source and double the load on every site. With
SQLite the database lives in a data directory, so the lock is an ``fcntl.flock`` on
``<data dir>/scraper.lock`` (released by the kernel when the process dies, even on kill -9). With
PostgreSQL there is no shared directory, so the lock is a session-level advisory lock held on a
dedicated connection (released when that connection closes, including when the process dies).
"""

from __future__ import annotations

import fcntl
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import psycopg
from sqlalchemy.engine import make_url

from scraper.errors import ConfigError

LOCK_NAME = "scraper.lock"
# A fixed 64-bit key for pg_try_advisory_lock: stable across processes and versions.
ADVISORY_KEY = zlib.crc32(b"scraper.scheduler")


class SchedulerLocked(ConfigError):
    """Another scheduler already runs on this data directory or database. A ConfigError so the CLI
    prints the message and exits 2 instead of showing a traceback."""

    error_class = "locked"


def data_dir_of(database_url: str) -> Path:
    """The folder holding a SQLite database (the current folder for in-memory databases)."""
    url = make_url(database_url)
    if url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent
    return Path.cwd()


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


def libpq_url(database_url: str) -> str:
    """A URL psycopg understands (SQLAlchemy's ``postgresql+psycopg://`` is not one)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def file_lock(directory: Path) -> Iterator[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    handle: IO[str] = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise SchedulerLocked(
                f"another scheduler (pid {holder}) is already running on the data directory {directory} "
                f"(lock file {path}); stop it first, or give this one its own DATABASE_URL") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield path
    finally:
        handle.close()  # closing the descriptor releases the flock


@contextmanager
def advisory_lock(database_url: str) -> Iterator[int]:
    with psycopg.connect(libpq_url(database_url), autocommit=True, connect_timeout=10) as conn:
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY,)).fetchone()
        if not got or not got[0]:
            holder = conn.execute(
                "SELECT a.pid, a.client_addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.objid::bigint = %s AND l.granted LIMIT 1",
                (ADVISORY_KEY,)).fetchone()
            who = f"PostgreSQL backend {holder[0]} from {holder[1] or 'local socket'}" if holder else "another process"
            raise SchedulerLocked(
                f"another scheduler ({who}) already holds the scheduler lock on this database; stop it first, "
                "or run `scraper worker` processes to scale out instead of a second `scraper run`")
        yield ADVISORY_KEY
        # Closing the connection releases the advisory lock.


@contextmanager
def scheduler_lock(database_url: str) -> Iterator[str]:
    """Hold the one-scheduler lock for ``database_url`` while the block runs. Raises SchedulerLocked
    when another scheduler holds it. Yields a description of the lock for the log."""
    if is_postgres(database_url):
        with advisory_lock(database_url) as key:
            yield f"postgresql advisory lock {key}"
    else:
        with file_lock(data_dir_of(database_url)) as path:
            yield str(path)
