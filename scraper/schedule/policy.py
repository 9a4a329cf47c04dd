"""When to check a source next. Pure: takes the source's polling state, what the last check saw and
``now``; returns the next check time and the interval to keep. No clock, no I/O (randomness only through
``rng``), so it is table-tested.

The idea is Miniflux's "entry frequency" scheduler: poll a source about as often as it publishes
(interval ≈ one week / items per week), within the source's [min_interval, max_interval]. Server hints
(RSS ttl, Cache-Control max-age, Expires) may lengthen the interval but never shorten it below our own
choice, and never past max_interval. Errors back off exponentially with full jitter; a Retry-After from
the server is honoured even past max_interval (up to a day).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

WEEK = 7 * 24 * 3600.0
RETRY_AFTER_CEILING = 24 * 3600.0  # a server asking for more than a day is treated as asking for a day
FAILING_AFTER = 5  # consecutive failures after which a source is marked failing (then polled at max_interval)
SUCCESS_JITTER = 0.1  # successful checks are pushed up to 10% later so sources set up together drift apart
QUIET_GROWTH = 1.25  # with no publishing history, each check that finds nothing lengthens the interval so much

_MAX_AGE_RE = re.compile(r"(?:^|[,\s])(s-maxage|max-age)\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_RNG = random.Random()


@dataclass
class PollState:
    """A source's polling state as the caller stores it.

    ``interval`` is the regular interval chosen last time (what next_check returned);
    ``consecutive_failures`` counts failures in a row *including the check being scheduled* when it
    failed (0 after a success); ``items_per_week`` is the source's publishing rate if known."""

    interval: float
    min_interval: float
    max_interval: float
    consecutive_failures: int
    items_per_week: float | None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from ``now``: either delta-seconds or an HTTP-date. None if absent or
    unparseable; a date in the past gives 0."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    return _seconds_until(text, now)


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: a 100-digit field (atheris)
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - _aware(now)).total_seconds())


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def hint_seconds(now: datetime, *, ttl_minutes: int | None, cache_control: str | None,
                 expires: str | None) -> float | None:
    """The longest freshness the server announced (RSS ttl, Cache-Control max-age, Expires), or None.
    ``no-cache``/``no-store`` only say "revalidate", which polling does anyway, so they add no hint."""
    hints: list[float] = []
    if ttl_minutes is not None and ttl_minutes > 0:
        hints.append(ttl_minutes * 60.0)
    if cache_control:
        m = _MAX_AGE_RE.search(cache_control)
        if m:
            hints.append(float(m.group(2)))
    if expires and not (cache_control and _MAX_AGE_RE.search(cache_control)):
        # Cache-Control max-age overrides Expires (RFC 9111 §5.3), so Expires counts only without it.
        until = _seconds_until(expires, now)
        if until is not None:
            hints.append(until)
    return max(hints) if hints else None


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def base_interval(state: PollState, new_items: int | None) -> float:
    """The regular interval from the publishing rate, clamped to [min_interval, max_interval]."""
    if state.items_per_week is not None:
        # A source that published nothing in a week is polled rarely (max_interval).
        wanted = WEEK / state.items_per_week if state.items_per_week > 0 else state.max_interval
    elif new_items is None:
        wanted = state.interval
    elif new_items == 0:
        wanted = state.interval * QUIET_GROWTH
    else:
        # No history yet: aim for about one new item per check (k new items → interval / k).
        wanted = state.interval / new_items
    return _clamp(wanted, state.min_interval, state.max_interval)


def _failure_delay(state: PollState, interval: float, rng: random.Random) -> float:
    failures = max(1, state.consecutive_failures)
    if failures >= FAILING_AFTER:
        return state.max_interval
    # Full jitter (uniform over [0, cap]) spreads out the retries of sources that failed together,
    # e.g. many feeds of one host during its outage; the floor keeps a retry from hammering the host.
    cap = min(state.max_interval, interval * math.pow(2, failures))
    return max(state.min_interval, rng.uniform(0.0, cap))


def next_check(now: datetime, state: PollState, *, new_items: int | None, ttl_minutes: int | None,
               cache_control: str | None, expires: str | None, retry_after: float | None, failed: bool,
               rng: random.Random | None = None) -> tuple[datetime, float]:
    """(next_check_at, interval): when to check next, and the regular interval to store and pass back as
    ``state.interval`` next time. After a failure the interval is kept as it was and only the next check
    time backs off, so one bad spell does not leave a fast source slow after it recovers."""
    rng = rng or _RNG
    if failed:
        interval = _clamp(state.interval, state.min_interval, state.max_interval)
        delay = _failure_delay(state, interval, rng)
    else:
        interval = base_interval(state, new_items)
        hint = hint_seconds(now, ttl_minutes=ttl_minutes, cache_control=cache_control, expires=expires)
        if hint is not None:
            interval = max(interval, min(hint, state.max_interval))
        headroom = max(0.0, state.max_interval - interval)
        delay = interval + min(headroom, interval * SUCCESS_JITTER * rng.random())
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, RETRY_AFTER_CEILING))
    return now + timedelta(seconds=delay), interval
