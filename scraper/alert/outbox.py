"""The outbox dispatcher: delivers pending alert rows with retries, backoff and a dead-letter state.

Delivery is at-least-once. A row is claimed with a lease (next_attempt_at pushed forward) before it is
sent, so two dispatchers never send it at once, and a dispatcher killed mid-send leaves it to be sent
again when the lease runs out. Receivers recognize such a duplicate by its ``id`` (webhook) or
``Message-ID`` (email), both derived from the alert's idempotency key.

The lease covers one message, not a batch. A dispatcher lists the due rows grouped into messages (an
immediate alert alone, a digest's alerts together), then claims each message just before sending it
and records the outcome right after. Claiming a whole batch with one lease (as before) let the lease run
out while the batch was still being sent to a slow receiver (200 alerts × a 10 s timeout is 33 min
against a 2 min lease) and a second worker then claimed and sent the same alerts again. Renewing a batch
lease would need a heartbeat task and still hold rows hostage behind a stuck send. Per-message claims
cost one UPDATE and commit per message: 200 alerts to a loopback receiver that answers at once took
~1.35× as long (measured ad hoc on a loaded machine), a cost a real receiver's round trip hides.
Each send is also cut off at SEND_SHARE of the lease whatever the channel's own timeouts (httpx and
aiosmtplib time each read, not the whole exchange, so a receiver trickling its answer could outlast any
lease): only a dispatcher that is killed or frozen past the lease can let a second one send the same
message.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import httpx
from sqlalchemy import Engine, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from scraper import metrics
from scraper.alert.chat import send_slack, send_telegram
from scraper.alert.digest import build_digest
from scraper.alert.email import send_email
from scraper.alert.payload import AlertMessage, build_message
from scraper.alert.release import last_success, release_backoff
from scraper.alert.retry import next_attempt_at, retry_delay
from scraper.alert.webhook import DeliveryError, send_webhook
from scraper.config import Config, EmailChannel, Settings, SlackChannel, TelegramChannel, WebhookChannel
from scraper.logs import log_event
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, AlertAttempt, Article, ChannelState, as_utc, utcnow

__all__ = ["LEASE", "DeliveryReport", "deliver_due", "disabled_channels", "pending_count", "retry_delay",
           "set_channel_disabled"]

LEASE = timedelta(minutes=2)
T = TypeVar("T")
RECORD_TRIES = 3  # a cut connection is replaced by the pool at once; three covers a second cut in a row
SEND_SHARE = 0.75  # of the lease for the send itself; the rest is for building the message and recording it


@dataclass
class DeliveryReport:
    """Counts of alerts (not messages: a digest delivers many alerts in one message)."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    held: int = 0  # waiting for a disabled channel to be enabled again
    # Not tried this run: their channel left an earlier message unanswered within its timeout. They stay
    # due (no attempt recorded) and the next run tries again, one message first.
    deferred: int = 0


@dataclass(frozen=True)
class DispatchClock:
    """The dispatcher's clock: the ``now`` it was given, moving on with real time. Claims, leases, attempt
    times and the retry schedule all read it, so a run started at a controlled time stays on that time
    line, and a lease taken late in a long run still ends after the moment it is taken."""

    start: datetime
    started: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.started)


@dataclass
class _Run:
    """What one dispatcher run passes down to the delivery of each message."""

    settings: Settings
    config: Config
    engine: Engine
    client: httpx.AsyncClient
    clock: DispatchClock
    lease: timedelta
    held: set[str] = field(default_factory=set)  # channels disabled (410) during this run
    unanswered: set[str] = field(default_factory=set)  # channels that let a send time out during this run


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Loading the CA bundle takes ~50 ms of CPU and the dispatcher runs every few seconds: load it once."""
    return httpx.create_ssl_context()


def disabled_channels(engine: Engine) -> dict[str, str]:
    with open_session(engine) as s:
        return {c.name: c.reason or "" for c in s.exec(select(ChannelState).where(col(ChannelState.disabled))).all()}


def set_channel_disabled(engine: Engine, name: str, disabled: bool, reason: str | None = None,
                         now: datetime | None = None) -> int:
    """Disable a channel (its alerts wait) or enable it (its waiting alerts become due now, and their
    failure age starts afresh: time spent held is not time spent failing)."""
    now = now or utcnow()
    with open_session(engine) as s:
        state = s.get(ChannelState, name) or ChannelState(name=name)
        state.disabled, state.reason, state.changed_at = disabled, reason, now
        s.add(state)
        released = 0
        if not disabled:
            pending = (col(Alert.channel) == name, col(Alert.status) == "pending")
            s.exec(update(Alert).where(*pending).values(attempts=0))  # type: ignore[call-overload]
            res = s.exec(update(Alert).where(*pending, col(Alert.mode) == "immediate")  # type: ignore[call-overload]
                         .values(next_attempt_at=now))
            released = int(res.rowcount or 0)
        s.commit()
    return released


def _group_key(alert: Alert) -> tuple[object, ...]:
    # Immediate alerts go alone; digest alerts of one rule, channel and period go together.
    return (alert.id,) if alert.mode == "immediate" else (alert.rule, alert.channel, alert.mode)


def _due_messages(engine: Engine, now: datetime, limit: int) -> list[tuple[str, list[int]]]:
    """Up to ``limit`` due rows as (channel, alert ids) per message. Nothing is leased yet."""
    disabled = set(disabled_channels(engine))
    with open_session(engine) as s:
        rows = s.exec(select(Alert).where(Alert.status == "pending", Alert.next_attempt_at <= now)
                      .order_by(col(Alert.id)).limit(limit)).all()
    groups: dict[tuple[object, ...], tuple[str, list[int]]] = {}
    for alert in rows:
        if alert.channel not in disabled:
            groups.setdefault(_group_key(alert), (alert.channel, []))[1].append(alert.id or 0)
    return list(groups.values())


def _claim(engine: Engine, ids: list[int], now: datetime, lease: timedelta) -> list[int]:
    """Lease the rows of one message that are still due; returns those this dispatcher won. The
    conditional UPDATE is the lock: PostgreSQL re-checks the condition on a row another transaction
    just leased, SQLite runs one writer at a time, so only one claimant wins a row."""
    with open_session(engine) as s:
        won = s.exec(update(Alert).where(  # type: ignore[call-overload]
            col(Alert.id).in_(ids), col(Alert.status) == "pending", col(Alert.next_attempt_at) <= now,
        ).values(next_attempt_at=now + lease).returning(col(Alert.id))).scalars().all()
        s.commit()
    return sorted(won)


async def deliver_due(settings: Settings, config: Config, engine: Engine, now: datetime | None = None,
                      limit: int = 200, lease: timedelta = LEASE) -> DeliveryReport:
    """Deliver every due alert once; returns counts. Safe to run concurrently from several workers.
    ``now`` sets the dispatcher's clock (it moves on with real time from there)."""
    clock = DispatchClock(now or utcnow())
    report = DeliveryReport()
    messages = _due_messages(engine, clock.now(), limit)
    if not messages:
        return report
    async with httpx.AsyncClient(follow_redirects=False, verify=_tls_context()) as client:
        run = _Run(settings, config, engine, client, clock, lease)
        deferred: dict[str, int] = {}
        for channel, ids in messages:
            if channel in run.held:
                continue  # a 410 disabled it a moment ago: the rest of its alerts wait with it
            if channel in run.unanswered:  # a receiver that is down or stuck: one timeout per run, not one each
                deferred[channel] = deferred.get(channel, 0) + len(ids)
                continue
            claimed = _claim(engine, ids, clock.now(), lease)
            if claimed:  # else another dispatcher has it (or has sent it already)
                outcome = await _deliver_message(run, claimed)
                setattr(report, outcome, getattr(report, outcome) + len(claimed))
    for channel, count in deferred.items():
        log_event("alert.deferred", logging.WARNING, channel=channel, alerts=count,
                  reason="the channel left a send unanswered this run; the next run tries again")
    report.deferred = sum(deferred.values())
    return report


async def _send(run: _Run, alerts: list[Alert]) -> str | None:
    channel = run.config.channels.get(alerts[0].channel)
    if channel is None:
        raise DeliveryError(f"channel {alerts[0].channel!r} is no longer configured", permanent=False)
    message = _on_fresh_connection([a.id or 0 for a in alerts], lambda: _build(run.engine, alerts))
    if isinstance(channel, WebhookChannel):
        await send_webhook(run.client, channel, message)
    elif isinstance(channel, SlackChannel):
        await send_slack(run.client, channel, message)
    elif isinstance(channel, TelegramChannel):
        await send_telegram(run.client, channel, message)
    else:
        assert isinstance(channel, EmailChannel)
        return await send_email(run.settings, channel, message)
    return None


def _build(engine: Engine, alerts: list[Alert]) -> AlertMessage:
    with open_session(engine) as s:
        return build_digest(s, alerts) if alerts[0].mode != "immediate" else build_message(s, alerts[0])


async def _send_within_lease(run: _Run, alerts: list[Alert]) -> str | None:
    limit = run.lease.total_seconds() * SEND_SHARE
    try:
        async with asyncio.timeout(limit):
            return await _send(run, alerts)
    except TimeoutError as exc:  # our deadline; the channels turn their own timeouts into DeliveryError
        raise DeliveryError(f"channel {alerts[0].channel!r}: no answer within {limit:g}s "
                            f"(a send may not outlast its lease)", unanswered=True) from exc


def _load(engine: Engine, ids: list[int]) -> list[Alert]:
    with open_session(engine) as s:
        return [a for a in (s.get(Alert, i) for i in ids) if a is not None]


async def _deliver_message(run: _Run, ids: list[int]) -> str:
    alerts = _on_fresh_connection(ids, lambda: _load(run.engine, ids))
    started = time.monotonic()
    error: str | None = None
    warning: str | None = None
    try:
        warning = await _send_within_lease(run, alerts)
    except DeliveryError as exc:
        error = str(exc)
        if exc.unanswered:
            run.unanswered.add(alerts[0].channel)
        if exc.permanent:  # e.g. 410 Gone: stop using the channel, keep its alerts until it is enabled again
            set_channel_disabled(run.engine, alerts[0].channel, True, error, now=run.clock.now())
            run.held.add(alerts[0].channel)
            log_event("channel.disabled", logging.WARNING, channel=alerts[0].channel, reason=error)
            return _record_attempts(run, ids, error, None, "held", started)
    except LookupError as exc:
        return _record_attempts(run, ids, str(exc), None, "dead", started)
    return _record_attempts(run, ids, error, warning, None, started)


def _record_attempts(run: _Run, ids: list[int], error: str | None, warning: str | None,
                     forced: str | None, started: float) -> str:
    """Record what a send did. The send has happened: losing its record to a dropped database connection
    (a PostgreSQL restart) would leave the message leased for LEASE and then send it again."""
    return _on_fresh_connection(ids, lambda: _record_attempts_once(run, ids, error, warning, forced, started))


def _on_fresh_connection(ids: list[int], work: Callable[[], T]) -> T:
    """Run ``work`` (its own sessions), again on a fresh connection if the database cut the one it had.
    Used between a claim and the record of its outcome: an error there leaves the claim leased for LEASE."""
    for attempt in range(1, RECORD_TRIES + 1):
        try:
            return work()
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == RECORD_TRIES:
                raise
            log_event("outbox.db_retry", logging.WARNING, alert_ids=ids, attempt=attempt,
                      error=str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__)
    raise AssertionError("unreachable")


def _record_attempts_once(run: _Run, ids: list[int], error: str | None, warning: str | None,
                          forced: str | None, started: float) -> str:
    now = run.clock.now()
    outcome = "sent"
    success = error is None and forced is None
    with open_session(run.engine) as s:
        alerts = [s.get(Alert, alert_id) for alert_id in ids]
        channel = alerts[0].channel if alerts[0] else ""
        previous_ok = last_success(s, channel) if success else None  # read before this one is on record
        for alert in alerts:
            assert alert is not None
            alert.attempts += 1
            s.add(AlertAttempt(alert_id=alert.id, attempted_at=now, ok=error is None, error=error or warning,
                               duration_ms=int((time.monotonic() - started) * 1000)))
            outcome = forced or _apply(s, alert, error, warning, now, run.settings)
            article = s.get(Article, alert.article_id)
            metrics.observe_alert(channel, outcome, published_at=article.published_at if article else None,
                                  sent_at=now)
            s.add(alert)
        s.commit()
    level = logging.INFO if outcome == "sent" else logging.WARNING
    log_event(f"alert.{outcome}", level, alert_ids=ids, rule=alert.rule, channel=channel,
              attempts=alert.attempts, error=error)
    if success:
        release_backoff(run.engine, channel, ids, now, 2 * run.lease, previous_ok)
    return outcome


def _apply(s: Session, alert: Alert, error: str | None, warning: str | None, now: datetime,
           settings: Settings) -> str:
    if error is None:
        alert.status, alert.sent_at, alert.last_error = "sent", now, warning
        return "sent"
    alert.last_error = error
    s.flush()  # this attempt's row counts in the failure age
    retry_at = next_attempt_at(alert.attempts, _failing_since(s, alert, now), now,
                               timedelta(seconds=settings.alert_max_age), settings.alert_max_attempts)
    if retry_at is None:
        alert.status = "failed"
        return "dead"
    alert.next_attempt_at = retry_at
    return "retrying"


def _failing_since(s: Session, alert: Alert, now: datetime) -> datetime:
    """When this run of failures began: the oldest of the alert's last ``attempts`` attempts. The count
    is reset by ``scraper alerts retry`` and by enabling a channel, which restarts the failure age."""
    first = s.exec(select(AlertAttempt.attempted_at).where(AlertAttempt.alert_id == alert.id)
                   .order_by(col(AlertAttempt.id).desc()).offset(max(0, alert.attempts - 1)).limit(1)).first()
    return as_utc(first) or now


def pending_count(engine: Engine) -> int:
    with open_session(engine) as s:
        return len(s.exec(select(Alert.id).where(Alert.status == "pending")).all())
