"""Giving up by age (SCRAPER_ALERT_MAX_AGE) and the dispatcher's clock: the retry policy as a table, then
the outbox against a real receiver with controlled clocks."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from scraper.alert.outbox import set_channel_disabled
from scraper.alert.retry import next_attempt_at
from scraper.cli import app
from scraper.config import Settings
from scraper.demo.receiver import WebhookReceiver
from scraper.errors import ConfigError
from scraper.store.db import make_engine
from scraper.store.db import session as open_session
from scraper.store.tables import AlertAttempt, as_utc, utcnow
from tests.integration.test_outbox import alerts, deliver, make_config, queue_alert_for_story

T0 = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # a Friday evening
H = timedelta(hours=1)
DAY3 = 72 * H


@pytest.mark.parametrize(("attempts", "failing_for", "max_attempts", "expected"), [
    (1, timedelta(0), 0, (timedelta(seconds=15), timedelta(seconds=30))),  # first retry: 15-30 s
    (12, 10 * H, 0, (3 * H, 6 * H)),  # the backoff is capped at 6 h
    (20, 70 * H, 0, (2 * H, 2 * H)),  # the last retry is pulled forward to the 72 h deadline
    (20, DAY3, 0, None),  # failing for 72 h: dead-lettered
    (100, H, 0, (3 * H, 6 * H)),  # no count cap by default: age decides
    (3, H, 3, None),  # the optional count cap still applies
    (2, H, 3, (30 * timedelta(seconds=1), 60 * timedelta(seconds=1))),
])
def test_next_attempt_at(attempts: int, failing_for: timedelta, max_attempts: int,
                         expected: tuple[timedelta, timedelta] | None) -> None:
    now = T0 + failing_for
    for seed in range(20):
        at = next_attempt_at(attempts, T0, now, DAY3, max_attempts, random.Random(seed))
        if expected is None:
            assert at is None
        else:
            assert at is not None and expected[0] <= at - now <= expected[1], at - now


def test_settings_read_the_max_age_as_a_duration() -> None:
    assert Settings.from_env({}).alert_max_age == 72 * 3600
    assert Settings.from_env({}).alert_max_attempts == 0
    assert Settings.from_env({"SCRAPER_ALERT_MAX_AGE": "48h"}).alert_max_age == 48 * 3600
    with pytest.raises(ConfigError, match="not a duration"):
        Settings.from_env({"SCRAPER_ALERT_MAX_AGE": "a weekend"})


def test_attempts_and_retries_run_on_the_dispatchers_clock(sqlite_url: str) -> None:
    """A dispatcher started ten days ahead records its attempt then and schedules the retry from then:
    on the wall clock the retry would be due ten days in the simulated past."""
    queue_alert_for_story(sqlite_url, 0)
    later = utcnow() + timedelta(days=10)
    with WebhookReceiver("s", status=503) as hook:
        assert deliver(sqlite_url, make_config(hook.url, "s"), now=later).retrying == 1
    [row] = alerts(sqlite_url)
    engine = make_engine(sqlite_url)
    with open_session(engine) as s:
        [attempt] = s.exec(select(AlertAttempt)).all()
    engine.dispose()
    assert timedelta(0) <= as_utc(attempt.attempted_at) - later < timedelta(seconds=10)  # type: ignore[operator]
    assert timedelta(seconds=15) <= as_utc(row.next_attempt_at) - later < timedelta(seconds=40)  # type: ignore[operator]


def test_alerts_retry_restarts_the_failure_age(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(database_url=sqlite_url, alert_max_age=3600.0)
    queue_alert_for_story(sqlite_url, 0)
    t0 = utcnow()
    with WebhookReceiver("s", status=503) as hook:
        cfg = make_config(hook.url, "s")
        assert deliver(sqlite_url, cfg, settings, now=t0).retrying == 1
        assert deliver(sqlite_url, cfg, settings, now=t0 + 2 * H).dead == 1  # failing for 2 h > 1 h
        monkeypatch.setenv("DATABASE_URL", sqlite_url)
        result = CliRunner().invoke(app, ["alerts", "retry", "--failed"])
        assert result.exit_code == 0, result.output
        # Failing since this attempt, not since t0 three hours ago: retried, not dead-lettered at once.
        assert deliver(sqlite_url, cfg, settings, now=t0 + 3 * H).retrying == 1
        assert deliver(sqlite_url, cfg, settings, now=t0 + 4 * H + timedelta(minutes=1)).dead == 1


def test_time_held_by_a_disabled_channel_does_not_count_as_failing(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, alert_max_age=3600.0)
    answers = iter([410, 503, 200])
    queue_alert_for_story(sqlite_url, 0)
    t0 = utcnow()
    with WebhookReceiver("s", status=lambda: next(answers)) as hook:
        cfg = make_config(hook.url, "s")
        assert deliver(sqlite_url, cfg, settings, now=t0).held == 1
        engine = make_engine(sqlite_url)
        assert set_channel_disabled(engine, "ops", False, now=t0 + 5 * H) == 1  # enabled five hours later
        engine.dispose()
        assert deliver(sqlite_url, cfg, settings, now=t0 + 5 * H).retrying == 1  # not dead: 0 h failing
        assert deliver(sqlite_url, cfg, settings, now=t0 + 6 * H).sent == 1
        assert len(hook.deliveries) == 1
