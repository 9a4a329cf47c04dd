"""A channel's first success after failures releases its other alerts from their backoff.

Without it, a receiver back from a long outage would get its backlog only as each alert's backoff ends,
up to 6 h later; with it, the whole backlog goes out on the next dispatcher runs."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine, exists, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from scraper.logs import log_event
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, AlertAttempt


def last_success(s: Session, channel: str) -> datetime | None:
    """When a message last got through on ``channel``."""
    return s.exec(select(AlertAttempt.attempted_at).join(Alert, col(Alert.id) == AlertAttempt.alert_id)
                  .where(Alert.channel == channel, col(AlertAttempt.ok))
                  .order_by(col(AlertAttempt.id).desc()).limit(1)).first()


def release_backoff(engine: Engine, channel: str, sent: list[int], now: datetime, horizon: timedelta,
                    previous_ok: datetime | None) -> int:
    """A send just succeeded: the channel works, so its alerts waiting out a backoff become due now
    instead of up to 6 h later. Returns how many.

    ``sent`` are the alerts that just got through, ``previous_ok`` the channel's success before them.
    Rows due within ``horizon`` (two leases) are left alone: they may be leased by another dispatcher
    this very moment (a lease ends at most one lease from now; the second allows for clock skew between
    workers), and a backoff that short ends soon anyway. An alert that already failed while the channel
    was known to work (an attempt failed before the channel's previous success) fails on its own
    account, such as a payload the receiver refuses: it keeps its backoff, or every success on the
    channel would retry it again.

    Its own transaction, after the outcome is committed: releasing is a shortcut (the backoff delivers
    these alerts anyway), so a failure here, such as a deadlock with another dispatcher's release, is
    logged and must not cost the record of a message already sent."""
    stmt = update(Alert).where(
        col(Alert.channel) == channel, col(Alert.status) == "pending", col(Alert.attempts) > 0,
        col(Alert.next_attempt_at) > now + horizon, col(Alert.id).not_in(sent),
    )
    if previous_ok is not None:
        stmt = stmt.where(~exists().where(col(AlertAttempt.alert_id) == Alert.id, ~col(AlertAttempt.ok),
                                          col(AlertAttempt.attempted_at) <= previous_ok))
    try:
        with open_session(engine) as s:
            released = int(s.exec(stmt.values(next_attempt_at=now)).rowcount or 0)  # type: ignore[call-overload]
            s.commit()
    except DBAPIError as exc:
        log_event("alert.release_failed", logging.WARNING, channel=channel, error=type(exc.orig).__name__)
        return 0
    if released:
        log_event("alert.released", channel=channel, released=released)
    return released
