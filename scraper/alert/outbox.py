"""The outbox dispatcher: delivers pending alert rows with retries, backoff and a dead-letter state.

Delivery is at-least-once. A row is claimed with a lease (next_attempt_at pushed forward) before it is
sent, so two dispatchers never send it at once, and a dispatcher killed mid-send leaves it to be sent
again when the lease runs out. Receivers recognize such a duplicate by its ``id`` (webhook) or
``Message-ID`` (email), both derived from the alert's idempotency key.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, update
from sqlmodel import col, select

from scraper.alert.email import send_email
from scraper.alert.payload import build_message
from scraper.alert.webhook import DeliveryError, send_webhook
from scraper.config import Config, EmailChannel, Settings, WebhookChannel
from scraper.logs import log_event
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, AlertAttempt, utcnow

LEASE = timedelta(minutes=2)
BASE_BACKOFF = 30.0  # seconds before the first retry
MAX_BACKOFF = 6 * 3600.0


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0


def retry_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: ~30 s, 1 min, 2 min ... capped at 6 h."""
    rng = rng or random.Random()
    base = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** max(0, attempts - 1))
    return base / 2 + rng.uniform(0, base / 2)


def _claim(engine: Engine, now: datetime, limit: int) -> list[int]:
    """Lease up to ``limit`` due rows. The conditional UPDATE is the lock: only one claimant wins."""
    with open_session(engine) as s:
        ids = list(s.exec(
            select(Alert.id).where(Alert.status == "pending", Alert.next_attempt_at <= now)
            .order_by(col(Alert.id)).limit(limit)
        ).all())
        won = []
        for alert_id in ids:
            res = s.exec(  # type: ignore[call-overload]
                update(Alert).where(col(Alert.id) == alert_id, col(Alert.status) == "pending",
                                    col(Alert.next_attempt_at) <= now)
                .values(next_attempt_at=now + LEASE)
            )
            if res.rowcount == 1:
                won.append(alert_id)
        s.commit()
    return won


async def deliver_due(settings: Settings, config: Config, engine: Engine, now: datetime | None = None,
                      limit: int = 200) -> DeliveryReport:
    """Deliver every due alert once; returns counts. Safe to run concurrently from several workers."""
    now = now or utcnow()
    report = DeliveryReport()
    ids = _claim(engine, now, limit)
    if not ids:
        return report
    async with httpx.AsyncClient(follow_redirects=False) as client:
        for alert_id in ids:
            outcome = await _deliver_one(settings, config, engine, client, alert_id)
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


async def _send(settings: Settings, config: Config, client: httpx.AsyncClient, alert: Alert,
                engine: Engine) -> str | None:
    channel = config.channels.get(alert.channel)
    if channel is None:
        raise DeliveryError(f"channel {alert.channel!r} is no longer configured", permanent=False)
    with open_session(engine) as s:
        message = build_message(s, alert)
    if isinstance(channel, WebhookChannel):
        await send_webhook(client, channel, message)
        return None
    assert isinstance(channel, EmailChannel)
    return await send_email(settings, channel, message)


async def _deliver_one(settings: Settings, config: Config, engine: Engine, client: httpx.AsyncClient,
                       alert_id: int) -> str:
    with open_session(engine) as s:
        alert = s.get(Alert, alert_id)
    assert alert is not None
    started = time.monotonic()
    error: str | None = None
    warning: str | None = None
    permanent = False
    try:
        warning = await _send(settings, config, client, alert, engine)
    except DeliveryError as exc:
        error, permanent = str(exc), exc.permanent
    except LookupError as exc:
        error, permanent = str(exc), True
    return _record_attempt(settings, engine, alert_id, error or None, warning, permanent, started)


def _record_attempt(settings: Settings, engine: Engine, alert_id: int, error: str | None, warning: str | None,
                    permanent: bool, started: float) -> str:
    now = utcnow()
    with open_session(engine) as s:
        alert = s.get(Alert, alert_id)
        assert alert is not None
        alert.attempts += 1
        s.add(AlertAttempt(alert_id=alert_id, attempted_at=now, ok=error is None, error=error or warning,
                           duration_ms=int((time.monotonic() - started) * 1000)))
        if error is None:
            alert.status, alert.sent_at, alert.last_error = "sent", now, warning
            outcome = "sent"
        elif permanent or alert.attempts >= settings.alert_max_attempts:
            alert.status, alert.last_error = "failed", error
            outcome = "dead"
        else:
            alert.next_attempt_at = now + timedelta(seconds=retry_delay(alert.attempts))
            alert.last_error = error
            outcome = "retrying"
        s.add(alert)
        s.commit()
    level = logging.INFO if outcome == "sent" else logging.WARNING
    log_event(f"alert.{outcome}", level, alert_id=alert_id, rule=alert.rule, channel=alert.channel,
              attempts=alert.attempts, error=error)
    return outcome


def pending_count(engine: Engine) -> int:
    with open_session(engine) as s:
        return len(s.exec(select(Alert.id).where(Alert.status == "pending")).all())
