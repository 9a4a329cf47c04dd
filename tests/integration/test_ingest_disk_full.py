"""Which storage errors mean "disk full" (classified ``disk_full``, one line, the source backed off) and
which stay bugs. The real disk-full run is tests/reliability/test_sqlite.py (a tmpfs filled to the last
byte under the running daemon); these are the errors each driver raises, built as the drivers build them."""

from __future__ import annotations

import errno
import sqlite3

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from scraper.store.repo import disk_full_cause


def _wrapped(orig: Exception) -> OperationalError:
    """SQLAlchemy's wrapper, whose text carries the statement and its parameters (article text)."""
    try:
        raise OperationalError("INSERT INTO articles (body) VALUES (?)", ("نص المقال كاملا",), orig) from orig
    except OperationalError as exc:
        return exc


@pytest.mark.parametrize(("exc", "cause"), [
    (_wrapped(sqlite3.OperationalError("database or disk is full")), "database or disk is full"),
    (_wrapped(psycopg.errors.DiskFull('could not extend file "base/16384/16397": No space left on device\n'
                                      "HINT:  Check free disk space.")),
     'could not extend file "base/16384/16397": No space left on device'),
    (OSError(errno.ENOSPC, "No space left on device"), "No space left on device (errno 28)"),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), "Disk quota exceeded (errno 122)"),
])
def test_disk_full_is_recognised_in_one_line_without_the_statement(exc: Exception, cause: str) -> None:
    assert disk_full_cause(exc) == cause
    assert "INSERT" not in cause and "نص" not in cause


def test_a_chained_disk_full_is_found() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("while writing the WAL") from inner
    except RuntimeError as exc:
        assert disk_full_cause(exc) == "No space left on device (errno 28)"


@pytest.mark.parametrize("exc", [
    _wrapped(sqlite3.OperationalError("database is locked")),
    IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed: article_urls.url_hash")),
    OSError(errno.EACCES, "Permission denied"),
    ValueError("no space here"),
])
def test_other_errors_are_not_disk_full(exc: Exception) -> None:
    assert disk_full_cause(exc) is None
