"""When a failing alert is tried again, and when it is given up: pure functions of counts and times.

An alert is given up (dead-lettered) by age, not by count: once it has been failing for ``max_age``
(SCRAPER_ALERT_MAX_AGE, 72 h by default), so a receiver down for a whole weekend still gets its alerts
while one that is gone for good stops being tried after a bounded time. The backoff doubles from 30 s up
to 6 h, so the number of attempts in that time is bounded anyway (24-29 in 72 h); ``max_attempts``
(SCRAPER_ALERT_MAX_ATTEMPTS) is an optional second cap for operators who want fewer, off (0) by default.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

BASE_BACKOFF = 30.0  # seconds before the first retry
MAX_BACKOFF = 6 * 3600.0


def retry_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: ~30 s, 1 min, 2 min ... capped at 6 h."""
    rng = rng or random.Random()
    base = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** max(0, attempts - 1))
    return base / 2 + rng.uniform(0, base / 2)


def next_attempt_at(attempts: int, failing_since: datetime, now: datetime, max_age: timedelta,
                    max_attempts: int = 0, rng: random.Random | None = None) -> datetime | None:
    """The time of the next attempt after a failure at ``now``, or None to dead-letter the alert.

    ``attempts`` counts this failure; ``failing_since`` is the time of the first failure of this run
    of failures. The last retry is moved forward to the end of ``max_age`` rather than past it, so the
    alert gets one attempt at its deadline, not up to a whole backoff (6 h) after it."""
    deadline = failing_since + max_age
    if now >= deadline or (max_attempts > 0 and attempts >= max_attempts):
        return None
    return min(now + timedelta(seconds=retry_delay(attempts, rng)), deadline)
