"""PostgreSQL cuts the dispatcher's connection right after a send, while it records the outcome (what a
server restart does): the record is written on a fresh connection, so the alert is `sent` at once instead of
staying leased for LEASE and going out a second time (found by test_pg_reconnect.py in a clean-clone run)."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from sqlalchemy import event
from sqlmodel import select

from scraper.alert.outbox import deliver_due
from scraper.config import Settings
from scraper.demo.receiver import WebhookReceiver
from scraper.store.db import make_engine
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, AlertAttempt
from tests.conftest import PG_ADMIN
from tests.integration.test_outbox import make_config, queue_alert_for_story


def _kill_backend_on_first_attempt_row(engine: Any) -> list[int]:
    """Terminate (really, with pg_terminate_backend) the connection that is about to write the first
    alert_attempts row; returns the pids killed."""
    killed: list[int] = []

    @event.listens_for(engine, "before_cursor_execute")
    def cut(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if killed or "INSERT INTO alert_attempts" not in statement:
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        killed.append(pid)

    return killed


def test_outcome_is_recorded_on_a_new_connection_when_the_old_one_is_cut(pg_url: str) -> None:
    queue_alert_for_story(pg_url, 1)
    engine = make_engine(pg_url)
    killed = _kill_backend_on_first_attempt_row(engine)
    try:
        with WebhookReceiver("s") as hook:
            report = asyncio.run(deliver_due(Settings(database_url=pg_url), make_config(hook.url, "s"), engine))
            deliveries = len(hook.deliveries)
    finally:
        engine.dispose()
    assert len(killed) == 1  # the cut really happened, in the record step
    assert report.sent == 1 and deliveries == 1
    check = make_engine(pg_url)
    with open_session(check) as s:
        alert = s.exec(select(Alert)).one()
        attempts = s.exec(select(AlertAttempt)).all()
    check.dispose()
    assert alert.status == "sent" and alert.attempts == 1
    assert len(attempts) == 1 and attempts[0].ok
