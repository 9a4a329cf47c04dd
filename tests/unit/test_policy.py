"""Table tests for the polling policy (scraper/schedule/policy.py): publishing rate, server hints,
Retry-After, backoff with full jitter, failing sources."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.schedule.policy import (
    FAILING_AFTER,
    RETRY_AFTER_CEILING,
    WEEK,
    PollState,
    hint_seconds,
    next_check,
    parse_retry_after,
)

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
MIN, MAX = 60.0, 21600.0
BASE = PollState(interval=600.0, min_interval=MIN, max_interval=MAX, consecutive_failures=0, items_per_week=None)


class FixedRng(random.Random):
    """rng.random() always returns ``x``, so uniform(a, b) = a + (b - a) * x: jitter pinned per case."""

    def __init__(self, x: float) -> None:
        super().__init__(0)
        self.x = x

    def random(self) -> float:
        return self.x


def http_date(seconds_from_now: float) -> str:
    return format_datetime(NOW + timedelta(seconds=seconds_from_now), usegmt=True)


def delay_and_interval(state: PollState = BASE, *, x: float = 0.0, new_items: int | None = None,
                       ttl: int | None = None, cc: str | None = None, expires: str | None = None,
                       retry_after: float | None = None, failed: bool = False) -> tuple[float, float]:
    at, interval = next_check(NOW, state, new_items=new_items, ttl_minutes=ttl, cache_control=cc,
                              expires=expires, retry_after=retry_after, failed=failed, rng=FixedRng(x))
    return (at - NOW).total_seconds(), interval


def rate(items_per_week: float | None, interval: float = 600.0) -> PollState:
    return replace(BASE, items_per_week=items_per_week, interval=interval)


# (id, state, kwargs, expected delay, expected interval); jitter pinned to 0 unless the case sets x.
SUCCESS_CASES = [
    # Publishing rate: interval ≈ week / items per week, clamped.
    ("10-per-hour", rate(10 * 24 * 7), {}, 360.0, 360.0),
    ("daily", rate(7), {}, 21600.0, 21600.0),  # 86400 s wanted, capped at max_interval
    ("hourly", rate(24 * 7), {}, 3600.0, 3600.0),
    ("weekly", rate(1), {}, MAX, MAX),
    ("silent-for-a-week", rate(0), {}, MAX, MAX),
    ("firehose", rate(1_000_000), {}, MIN, MIN),
    ("rate-wins-over-new-items", rate(24 * 7), {"new_items": 50}, 3600.0, 3600.0),
    # No history yet: adapt from what this check found.
    ("no-history-no-news", BASE, {}, 600.0, 600.0),
    ("no-history-nothing-new", BASE, {"new_items": 0}, 750.0, 750.0),
    ("no-history-one-new", BASE, {"new_items": 1}, 600.0, 600.0),
    ("no-history-three-new", BASE, {"new_items": 3}, 200.0, 200.0),
    ("no-history-flood", BASE, {"new_items": 100}, MIN, MIN),
    ("stored-interval-above-max", replace(BASE, interval=1e6), {}, MAX, MAX),
    ("stored-interval-below-min", replace(BASE, interval=1.0), {}, MIN, MIN),
    # Server hints only lengthen, up to max_interval.
    ("rss-ttl-lengthens", rate(10 * 24 * 7), {"ttl": 60}, 3600.0, 3600.0),
    ("rss-ttl-never-shortens", rate(24 * 7), {"ttl": 10}, 3600.0, 3600.0),
    ("rss-ttl-zero-ignored", rate(10 * 24 * 7), {"ttl": 0}, 360.0, 360.0),
    ("max-age", rate(10 * 24 * 7), {"cc": "public, max-age=7200"}, 7200.0, 7200.0),
    ("s-maxage", rate(10 * 24 * 7), {"cc": "s-maxage=900"}, 900.0, 900.0),
    ("max-age-capped", rate(10 * 24 * 7), {"cc": "max-age=999999"}, MAX, MAX),
    ("max-age-shorter-ignored", rate(24 * 7), {"cc": "max-age=60"}, 3600.0, 3600.0),
    ("no-cache-no-hint", rate(10 * 24 * 7), {"cc": "no-cache, no-store"}, 360.0, 360.0),
    ("expires", rate(10 * 24 * 7), {"expires": http_date(1800)}, 1800.0, 1800.0),
    ("expires-past", rate(10 * 24 * 7), {"expires": http_date(-1800)}, 360.0, 360.0),
    ("expires-garbage", rate(10 * 24 * 7), {"expires": "0"}, 360.0, 360.0),
    ("max-age-overrides-expires", rate(10 * 24 * 7), {"cc": "max-age=60", "expires": http_date(7200)},
     360.0, 360.0),
    ("longest-hint-wins", rate(10 * 24 * 7), {"ttl": 30, "cc": "max-age=600"}, 1800.0, 1800.0),
    # Jitter: up to +10% of the interval, never past max_interval, never earlier than the interval.
    ("jitter-full", rate(10 * 24 * 7), {"x": 1.0}, 396.0, 360.0),
    ("jitter-half", rate(10 * 24 * 7), {"x": 0.5}, 378.0, 360.0),
    ("jitter-at-max", rate(1), {"x": 1.0}, MAX, MAX),
    ("jitter-near-max", rate(24 * 7, interval=600), {"x": 1.0, "cc": "max-age=21000"}, MAX, 21000.0),
    # A Retry-After on a success (e.g. 200 with a hint) still postpones the next check.
    ("retry-after-on-success", rate(10 * 24 * 7), {"retry_after": 1000.0}, 1000.0, 360.0),
]


@pytest.mark.parametrize(("state", "kwargs", "delay", "interval"),
                         [c[1:] for c in SUCCESS_CASES], ids=[c[0] for c in SUCCESS_CASES])
def test_success(state: PollState, kwargs: dict[str, object], delay: float, interval: float) -> None:
    assert delay_and_interval(state, **kwargs) == pytest.approx((delay, interval))  # type: ignore[arg-type]


def failing(failures: int, interval: float = 600.0) -> PollState:
    return replace(BASE, consecutive_failures=failures, interval=interval, items_per_week=50.0)


FAILURE_CASES = [
    # Exponential backoff, full jitter: uniform(0, min(max, interval·2^failures)), floored at min_interval.
    ("first-failure-top", failing(1), {"x": 1.0}, 1200.0),
    ("first-failure-middle", failing(1), {"x": 0.5}, 600.0),
    ("third-failure-top", failing(3), {"x": 1.0}, 4800.0),
    ("fourth-failure-half", failing(4), {"x": 0.5}, 4800.0),
    ("jitter-zero-floored", failing(3), {"x": 0.0}, MIN),
    ("cap-at-max", failing(4, interval=3600.0), {"x": 1.0}, MAX),
    ("uncounted-failure-is-first", failing(0), {"x": 1.0}, 1200.0),
    # After FAILING_AFTER failures: max_interval, no jitter.
    ("failing", failing(FAILING_AFTER), {"x": 0.0}, MAX),
    ("failing-long", failing(FAILING_AFTER + 20), {"x": 1.0}, MAX),
    # Retry-After: at least what the server asked, even past max_interval, up to a day.
    ("retry-after-wins", failing(1), {"x": 0.0, "retry_after": 7200.0}, 7200.0),
    ("retry-after-past-max", failing(1), {"x": 0.0, "retry_after": 50000.0}, 50000.0),
    ("retry-after-ceiling", failing(1), {"x": 0.0, "retry_after": 10 * 86400.0}, RETRY_AFTER_CEILING),
    ("backoff-longer-than-retry-after", failing(3), {"x": 1.0, "retry_after": 10.0}, 4800.0),
    ("failing-and-retry-after", failing(FAILING_AFTER), {"retry_after": 30000.0}, 30000.0),
    ("retry-after-zero-ignored", failing(1), {"x": 1.0, "retry_after": 0.0}, 1200.0),
]


@pytest.mark.parametrize(("state", "kwargs", "delay"), [c[1:] for c in FAILURE_CASES],
                         ids=[c[0] for c in FAILURE_CASES])
def test_failure(state: PollState, kwargs: dict[str, object], delay: float) -> None:
    got_delay, got_interval = delay_and_interval(state, failed=True, **kwargs)  # type: ignore[arg-type]
    assert got_delay == pytest.approx(delay)
    # The regular interval is kept through failures, so the source is fast again once it recovers;
    # hints from a failed answer are ignored.
    assert got_interval == state.interval


def test_failure_ignores_cache_hints() -> None:
    assert delay_and_interval(failing(1), x=1.0, failed=True, cc="max-age=20000") == (1200.0, 600.0)


def test_full_jitter_spreads_retries() -> None:
    rng = random.Random(42)
    delays = [next_check(NOW, failing(3), new_items=None, ttl_minutes=None, cache_control=None, expires=None,
                         retry_after=None, failed=True, rng=rng)[0] for _ in range(200)]
    seconds = [(d - NOW).total_seconds() for d in delays]
    assert min(seconds) >= MIN and max(seconds) <= 4800.0
    assert len({round(s) for s in seconds}) > 150  # not bunched on a few values
    assert sum(seconds) / len(seconds) == pytest.approx(2400.0, rel=0.15)  # uniform over [0, 4800]


def test_default_rng_is_used_when_none_given() -> None:
    at, interval = next_check(NOW, rate(24 * 7), new_items=1, ttl_minutes=None, cache_control=None,
                              expires=None, retry_after=None, failed=False)
    assert interval == 3600.0 and 3600.0 <= (at - NOW).total_seconds() <= 3960.0


def test_week_constant_matches_rate_formula() -> None:
    assert WEEK == 604800.0
    assert delay_and_interval(rate(WEEK / 1234.0))[1] == pytest.approx(1234.0)


@given(interval=st.floats(1, 1e7), lo=st.floats(1, 3600), span=st.floats(0, 1e6),
       failures=st.integers(0, 50), ipw=st.one_of(st.none(), st.floats(0, 1e6)),
       new=st.one_of(st.none(), st.integers(0, 10_000)), ra=st.one_of(st.none(), st.floats(0, 1e7)),
       failed=st.booleans(), x=st.floats(0, 0.999999), ttl=st.one_of(st.none(), st.integers(-5, 100_000)))
def test_bounds_hold_for_any_input(interval: float, lo: float, span: float, failures: int, ipw: float | None,
                                   new: int | None, ra: float | None, failed: bool, x: float,
                                   ttl: int | None) -> None:
    state = PollState(interval, lo, lo + span, failures, ipw)
    delay, chosen = delay_and_interval(state, x=x, new_items=new, retry_after=ra, failed=failed, ttl=ttl)
    assert lo <= chosen <= lo + span
    ceiling = max(lo + span, min(ra or 0.0, RETRY_AFTER_CEILING))
    assert lo - 1e-6 <= delay <= ceiling + 1e-6


# --- Retry-After parsing --------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0),
    (" 5 ", 5.0),
    ("0", 0.0),
    (http_date(600), 600.0),
    (http_date(-600), 0.0),  # a date in the past: retry now
    ("Mon, 01 Jan 2024 12:10:00 GMT", 600.0),
    ("Monday, 01-Jan-24 12:10:00 GMT", 600.0),  # RFC 850 form, still allowed by RFC 9110
    ("Mon Jan  1 12:10:00 2024", 600.0),  # asctime form
    (None, None),
    ("", None),
    ("soon", None),
    ("-5", None),
    ("1.5", None),
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_with_naive_now() -> None:
    assert parse_retry_after(http_date(60), NOW.replace(tzinfo=None)) == 60.0


@pytest.mark.parametrize(
    "header", ["Mon, 4 Jan 2026 10:00:" + "4" * 120 + " GMT", "Mon, 4 Jan " + "9" * 40 + " 10:00:00 GMT"]
)
def test_hostile_http_date_is_ignored_not_raised(header: str) -> None:
    """Found by atheris in the same stdlib parser: a 120-digit field raised OverflowError, which a server could
    send as Retry-After or Expires to turn a classified 429 into an internal error."""
    now = datetime(2026, 1, 5, 12, tzinfo=UTC)
    assert parse_retry_after(header, now) is None
    assert hint_seconds(now, ttl_minutes=None, cache_control=None, expires=header) is None
