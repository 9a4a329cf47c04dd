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

from scraper import metrics
from scraper.alert.chat import send_slack, send_telegram
from scraper.alert.digest import build_digest
from scraper.alert.email import send_email
from scraper.alert.payload import build_message
from scraper.alert.webhook import DeliveryError, send_webhook
from scraper.config import Config, EmailChannel, Settings, SlackChannel, TelegramChannel, WebhookChannel
from scraper.logs import log_event
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, AlertAttempt, Article, ChannelState, utcnow

LEASE = timedelta(minutes=2)
BASE_BACKOFF = 30.0  # seconds before the first retry
MAX_BACKOFF = 6 * 3600.0


@dataclass
class DeliveryReport:
    """Counts of alerts (not messages: a digest delivers many alerts in one message)."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    held: int = 0  # waiting for a disabled channel to be enabled again


def retry_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: ~30 s, 1 min, 2 min ... capped at 6 h."""
    rng = rng or random.Random()
    base = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** max(0, attempts - 1))
    return base / 2 + rng.uniform(0, base / 2)


def disabled_channels(engine: Engine) -> dict[str, str]:
    with open_session(engine) as s:
        return {c.name: c.reason or "" for c in s.exec(select(ChannelState).where(col(ChannelState.disabled))).all()}


def set_channel_disabled(engine: Engine, name: str, disabled: bool, reason: str | None = None) -> int:
    """Disable a channel (its alerts wait) or enable it (its waiting alerts become due now)."""
    with open_session(engine) as s:
        state = s.get(ChannelState, name) or ChannelState(name=name)
        state.disabled, state.reason, state.changed_at = disabled, reason, utcnow()
        s.add(state)
        released = 0
        if not disabled:
            res = s.exec(update(Alert).where(col(Alert.channel) == name, col(Alert.status) == "pending",  # type: ignore[call-overload]
                                             col(Alert.mode) == "immediate").values(next_attempt_at=utcnow()))
            released = int(res.rowcount or 0)
        s.commit()
    return released


def _group_key(alert: Alert) -> tuple[object, ...]:
    # Immediate alerts go alone; digest alerts of one rule, channel and period go together.
    return (alert.id,) if alert.mode == "immediate" else (alert.rule, alert.channel, alert.mode)


def _claim(engine: Engine, now: datetime, limit: int) -> list[list[int]]:
    """Lease up to ``limit`` due rows, grouped into messages. The conditional UPDATE is the lock: only
    one claimant wins a row, so concurrent dispatchers never send the same alert at once."""
    disabled = set(disabled_channels(engine))
    with open_session(engine) as s:
        rows = list(s.exec(
            select(Alert).where(Alert.status == "pending", Alert.next_attempt_at <= now)
            .order_by(col(Alert.id)).limit(limit)
        ).all())
        groups: dict[tuple[object, ...], list[int]] = {}
        for alert in rows:
            if alert.channel in disabled:
                continue
            res = s.exec(  # type: ignore[call-overload]
                update(Alert).where(col(Alert.id) == alert.id, col(Alert.status) == "pending",
                                    col(Alert.next_attempt_at) <= now)
                .values(next_attempt_at=now + LEASE)
            )
            if res.rowcount == 1:
                groups.setdefault(_group_key(alert), []).append(alert.id or 0)
        s.commit()
    return list(groups.values())


async def deliver_due(settings: Settings, config: Config, engine: Engine, now: datetime | None = None,
                      limit: int = 200) -> DeliveryReport:
    """Deliver every due alert once; returns counts. Safe to run concurrently from several workers."""
    now = now or utcnow()
    report = DeliveryReport()
    groups = _claim(engine, now, limit)
    if not groups:
        return report
    async with httpx.AsyncClient(follow_redirects=False) as client:
        for ids in groups:
            outcome = await _deliver_group(settings, config, engine, client, ids)
            setattr(report, outcome, getattr(report, outcome) + len(ids))
    return report


async def _send(settings: Settings, config: Config, client: httpx.AsyncClient, alerts: list[Alert],
                engine: Engine) -> str | None:
    channel = config.channels.get(alerts[0].channel)
    if channel is None:
        raise DeliveryError(f"channel {alerts[0].channel!r} is no longer configured", permanent=False)
    with open_session(engine) as s:
        digest = alerts[0].mode != "immediate"
        message = build_digest(s, alerts) if digest else build_message(s, alerts[0])
    if isinstance(channel, WebhookChannel):
        await send_webhook(client, channel, message)
    elif isinstance(channel, SlackChannel):
        await send_slack(client, channel, message)
    elif isinstance(channel, TelegramChannel):
        await send_telegram(client, channel, message)
    else:
        assert isinstance(channel, EmailChannel)
        return await send_email(settings, channel, message)
    return None


async def _deliver_group(settings: Settings, config: Config, engine: Engine, client: httpx.AsyncClient,
                         ids: list[int]) -> str:
    with open_session(engine) as s:
        alerts = [a for a in (s.get(Alert, i) for i in ids) if a is not None]
    started = time.monotonic()
    error: str | None = None
    warning: str | None = None
    permanent = False
    try:
        warning = await _send(settings, config, client, alerts, engine)
    except DeliveryError as exc:
        error, permanent = str(exc), exc.permanent
        if permanent:  # e.g. 410 Gone: stop using the channel, keep its alerts until it is enabled again
            set_channel_disabled(engine, alerts[0].channel, True, error)
            log_event("channel.disabled", logging.WARNING, channel=alerts[0].channel, reason=error)
            return _record_attempts(settings, engine, ids, error, None, "held", started)
    except LookupError as exc:
        return _record_attempts(settings, engine, ids, str(exc), None, "dead", started)
    return _record_attempts(settings, engine, ids, error, warning, None, started)


def _record_attempts(settings: Settings, engine: Engine, ids: list[int], error: str | None, warning: str | None,
                     forced: str | None, started: float) -> str:
    now = utcnow()
    outcome = "sent"
    with open_session(engine) as s:
        for alert_id in ids:
            alert = s.get(Alert, alert_id)
            assert alert is not None
            alert.attempts += 1
            s.add(AlertAttempt(alert_id=alert_id, attempted_at=now, ok=error is None, error=error or warning,
                               duration_ms=int((time.monotonic() - started) * 1000)))
            outcome = forced or _apply(alert, error, warning, now, settings.alert_max_attempts)
            article = s.get(Article, alert.article_id)
            metrics.observe_alert(alert.channel, outcome, published_at=article.published_at if article else None,
                                  sent_at=now)
            s.add(alert)
        s.commit()
    level = logging.INFO if outcome == "sent" else logging.WARNING
    log_event(f"alert.{outcome}", level, alert_ids=ids, rule=alert.rule, channel=alert.channel,
              attempts=alert.attempts, error=error)
    return outcome


def _apply(alert: Alert, error: str | None, warning: str | None, now: datetime, max_attempts: int) -> str:
    if error is None:
        alert.status, alert.sent_at, alert.last_error = "sent", now, warning
        return "sent"
    alert.last_error = error
    if alert.attempts >= max_attempts:
        alert.status = "failed"
        return "dead"
    alert.next_attempt_at = now + timedelta(seconds=retry_delay(alert.attempts))
    return "retrying"


def pending_count(engine: Engine) -> int:
    with open_session(engine) as s:
        return len(s.exec(select(Alert.id).where(Alert.status == "pending")).all())
