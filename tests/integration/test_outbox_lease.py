"""Leases against a slow receiver: two dispatchers at once on PostgreSQL send every alert exactly once.

The lease is shortened (3 s instead of 2 min) and the receiver sleeps 0.5 s per request, so sending the
whole backlog (20 immediate alerts and one hourly digest of 3, ~10.5 s) takes far longer than one lease,
as 200 alerts to a receiver timing out after 10 s would in production. Leasing the batch at once let
the second dispatcher claim and send again whatever the first had not finished within the lease."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from datetime import timedelta

from sqlmodel import select

from scraper.alert.outbox import DeliveryReport, deliver_due
from scraper.config import Config, Settings
from scraper.demo.receiver import WebhookReceiver
from scraper.store import repo
from scraper.store.db import make_engine
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, AlertAttempt, as_utc, utcnow
from tests.integration.test_outbox import alerts, make_config, queue_alert_for_story

SHORT_LEASE = timedelta(seconds=3)
SLEEP = 0.5  # per request: well inside the send deadline (3/4 of the lease), far from the batch's length
IMMEDIATE, DIGESTED = 20, 3


def _slow_ok() -> int:
    time.sleep(SLEEP)
    return 200


def _dispatcher(db_url: str, config: Config, start: threading.Barrier,
                reports: list[DeliveryReport], errors: list[BaseException]) -> None:
    """One worker: its own engine and event loop, dispatching until nothing is pending (as the periodic
    ``scraper.deliver`` job does every 15 s on each Procrastinate worker)."""
    engine = make_engine(db_url)
    settings = Settings(database_url=db_url)
    try:
        start.wait()
        for _run in range(40):
            report = asyncio.run(deliver_due(settings, config, engine, lease=SHORT_LEASE))
            reports.append(report)
            with open_session(engine) as s:
                if not s.exec(select(Alert.id).where(Alert.status == "pending")).first():
                    return
            time.sleep(0.2)
    except BaseException as exc:  # handed to the test thread, which fails on it
        errors.append(exc)
    finally:
        engine.dispose()


def _end_the_hour(db_url: str) -> None:
    """The digest's hour is over: its rows are due now (the dispatchers run on the real clock)."""
    engine = make_engine(db_url)
    with open_session(engine) as s:
        for alert in s.exec(select(Alert).where(Alert.mode == "hourly")).all():
            alert.next_attempt_at = utcnow()
            s.add(alert)
        s.commit()
    engine.dispose()


def _delivered_alert_keys(hook: WebhookReceiver) -> Counter[str]:
    """Alert keys as the receiver saw them: an immediate message carries one, a digest lists its own."""
    keys: Counter[str] = Counter()
    for d in hook.deliveries:
        p = d.payload
        keys.update(p["alerts"] if p["event"] == "digest" else [p["id"]])  # type: ignore[arg-type]
    return keys


def test_two_dispatchers_and_a_slow_receiver_send_each_alert_exactly_once(pg_url: str) -> None:
    for i in range(IMMEDIATE):
        queue_alert_for_story(pg_url, i)
    for i in range(IMMEDIATE, IMMEDIATE + DIGESTED):
        queue_alert_for_story(pg_url, i, policy=repo.AlertPolicy("hourly"))
    _end_the_hour(pg_url)
    with WebhookReceiver("s", status=_slow_ok) as hook:
        config = make_config(hook.url, "s")
        start = threading.Barrier(2)
        reports: tuple[list[DeliveryReport], list[DeliveryReport]] = ([], [])
        errors: list[BaseException] = []
        workers = [threading.Thread(target=_dispatcher, args=(pg_url, config, start, reports[k], errors))
                   for k in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
        assert not errors, errors
        assert not any(w.is_alive() for w in workers)

    rows = alerts(pg_url)
    assert Counter(a.status for a in rows) == Counter({"sent": IMMEDIATE + DIGESTED})
    delivered = _delivered_alert_keys(hook)
    assert delivered == Counter({a.key: 1 for a in rows}), [k for k, n in delivered.items() if n > 1]
    assert len(hook.deliveries) == IMMEDIATE + 1
    sent_by = [sum(r.sent for r in rs) for rs in reports]
    assert sum(sent_by) == IMMEDIATE + DIGESTED and min(sent_by) > 0, sent_by  # both really took part
    engine = make_engine(pg_url)
    with open_session(engine) as s:
        attempts = s.exec(select(AlertAttempt)).all()
    engine.dispose()
    assert len(attempts) == IMMEDIATE + DIGESTED and all(a.ok for a in attempts)


def test_a_send_is_cut_off_before_its_lease_ends_whatever_the_channel_timeout(sqlite_url: str) -> None:
    """httpx times each read, not the exchange, so the channel timeout alone does not bound a send. The
    dispatcher gives up at 3/4 of the lease: the attempt is a recorded failure in backoff, not a send
    still running when another dispatcher may claim the row."""

    def slower_than_the_lease() -> int:
        time.sleep(SHORT_LEASE.total_seconds() + 1)
        return 200

    queue_alert_for_story(sqlite_url, 0)
    with WebhookReceiver("s", status=slower_than_the_lease) as hook:
        config = make_config(hook.url, "s")
        config.channels["ops"].timeout = 60  # type: ignore[union-attr]
        engine = make_engine(sqlite_url)
        now = utcnow()
        report = asyncio.run(deliver_due(Settings(database_url=sqlite_url), config, engine, now=now,
                                         lease=SHORT_LEASE))
        engine.dispose()
    assert report.retrying == 1
    [row] = alerts(sqlite_url)
    assert row.status == "pending" and "no answer within 2.25s" in (row.last_error or "")
    assert as_utc(row.next_attempt_at) > now + timedelta(seconds=15)  # in backoff, no longer leased
