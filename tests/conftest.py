"""Shared fixtures: databases (SQLite and a real PostgreSQL), a real SMTP server, a webhook receiver.

PostgreSQL: one migrated template database is created per test run; each test that asks for it gets
a fresh copy (CREATE DATABASE ... TEMPLATE, fast) and every database is dropped afterwards."""

from __future__ import annotations

import gzip
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from scraper.demo.receiver import WebhookReceiver

FIXTURES = Path(__file__).parent / "fixtures"
PG_ADMIN = os.environ.get("SCRAPER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def read_fixture(relpath: str) -> bytes:
    """Bytes of a fixture; ``.gz`` files are decompressed."""
    path = FIXTURES / relpath
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _pg_exec(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def _pg_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database used as the template for per-test databases."""
    if not _pg_available():
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN}; .ci/run starts it (pg_ctlcluster)")
    from scraper.store.db import upgrade

    name = f"scraper_tmpl_{uuid.uuid4().hex[:10]}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    try:
        upgrade(_pg_url(name))
        _pg_exec(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        yield name
    finally:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _temp_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A database for one test (a copy of ``template`` when given), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _pg_exec(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield _pg_url(name)
    finally:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    with _temp_database("scraper_test", request.getfixturevalue("pg_template")) as url:
        yield url


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database (no migrations applied), for migration tests."""
    if not _pg_available():
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN}")
    with _temp_database("scraper_empty") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    from scraper.store.db import upgrade

    url = f"sqlite:///{tmp_path / 'scraper.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated database, once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.getfixturevalue(name)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SMTPSink:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler:
    def __init__(self, sink: SMTPSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.sink.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[arg-type]
        with self.sink.lock:
            self.sink.messages.append(msg)  # type: ignore[arg-type]
            self.sink.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[SMTPSink]:
    sink = SMTPSink(host="127.0.0.1", port=free_port())
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret="test-secret-ﺱ") as receiver:
        yield receiver
