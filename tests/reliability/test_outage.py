"""Receivers down for an hour, a weekend, or longer than the alerts' maximum age, then up.

20 matched stories × (webhook + email) = 40 alerts are stored through the real pipeline
(``store_article``). Both channels are then down (the webhook answers 503, SMTP refuses connections)
while the dispatcher runs, then both come back.

Time is simulated through the dispatcher's own clock (``deliver_due(now=...)``), which claims, records
attempts and schedules retries, so a weekend takes seconds. The dispatcher runs whenever an alert is
due, at most once per 5 simulated minutes while the receivers are down and once a minute after."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlmodel import func, select

from scraper.alert.outbox import deliver_due
from scraper.config import Config, Settings, Source
from scraper.demo.receiver import WebhookReceiver
from scraper.models import ArticleDraft, FeedItem
from scraper.normalize.urls import canonical_url, url_hash
from scraper.pipeline import Runtime, store_article
from scraper.store import repo
from scraper.store.db import make_engine
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, AlertAttempt, as_utc, utcnow
from tests.conftest import SMTPSink
from tests.reliability.crashkit import WATCHED, make_articles
from tests.reliability.harness import closed_port

STORIES = 20
MINUTE = timedelta(minutes=1)


def _world(db_url: str, hook: WebhookReceiver) -> Runtime:
    config = Config.model_validate({
        "channels": {"ops": {"type": "webhook", "url": hook.url, "secret": hook.secret, "timeout": 2},
                     "desk": {"type": "email", "to": ["desk@example.org"]}},
        "rules": [{"name": "watched", "query": WATCHED, "channels": ["ops", "desk"]}],
        "sources": [{"name": "wire", "url": "http://127.0.0.1/rss.xml", "allow_private": True}],
    })
    engine = make_engine(db_url)
    rt = Runtime(settings=Settings(), config=config, engine=engine, fetcher=None,  # type: ignore[arg-type]
                 rules=Runtime.build_rules(config))
    source: Source = config.sources[0]
    with open_session(engine) as s:
        repo.sync_sources(s, config)
    matching = [a for a in make_articles(6, 25, seed=11) if WATCHED in " ".join(a.paragraphs)][:STORIES]
    assert len(matching) == STORIES
    for a in matching:
        url = f"http://127.0.0.1/{a.outlet}/{a.slug}.html"
        draft = ArticleDraft(url=url, title=a.title, paragraphs=list(a.paragraphs))
        outcome, alerts = store_article(rt, source, FeedItem(url=url), url_hash(canonical_url(url)), draft)
        assert (outcome, alerts) == ("new", 2)
    return rt


def _statuses(rt: Runtime) -> Counter[str]:
    with open_session(rt.engine) as s:
        return Counter(a.status for a in s.exec(select(Alert)).all())


def _next_due(rt: Runtime) -> datetime | None:
    with open_session(rt.engine) as s:
        due = s.exec(select(func.min(Alert.next_attempt_at)).where(Alert.status == "pending")).one()
    return as_utc(due)


async def _dispatch_until(rt: Runtime, settings: Settings, now: datetime, until: datetime | None,
                          every: timedelta) -> datetime:
    """Run the dispatcher at every due time, at most once per ``every``, until ``until`` or nothing is left."""
    while (due := _next_due(rt)) is not None:
        now = max(now + every, due)
        if until is not None and now >= until:
            return until
        report = await deliver_due(settings, rt.config, rt.engine, now=now)
        assert until is None or report.sent == 0  # nothing gets through while the receivers are down
    return now


def _outage_then_recovery(rt: Runtime, hook: WebhookReceiver, smtp: SMTPSink, settings: Settings,
                          down_for: timedelta) -> tuple[datetime, datetime]:
    """Both receivers down for ``down_for`` of simulated time, then up until nothing is pending.
    Returns (when they came back, the simulated time of the last dispatch)."""
    down = replace(settings, smtp_host="127.0.0.1", smtp_port=closed_port())
    up = replace(settings, smtp_host=smtp.host, smtp_port=smtp.port)
    start = utcnow()

    async def dispatch() -> datetime:
        hook.status = 503
        # Every 5 minutes while down (fewer runs, the same attempts), every minute once up.
        back_at = await _dispatch_until(rt, down, start - MINUTE, start + down_for, 5 * MINUTE)
        hook.status = 200
        return await _dispatch_until(rt, up, back_at - MINUTE, None, MINUTE)

    return start + down_for, asyncio.run(dispatch())


def _assert_all_delivered_once(rt: Runtime, hook: WebhookReceiver, smtp: SMTPSink) -> None:
    assert _statuses(rt) == Counter({"sent": 2 * STORIES}), _statuses(rt)
    hook_ids = Counter(d.headers["x-scraper-id"] for d in hook.deliveries)
    mail_ids = Counter(str(m["X-Scraper-Id"]) for m in smtp.messages)
    assert len(hook_ids) == STORIES and max(hook_ids.values()) == 1
    assert len(mail_ids) == STORIES and max(mail_ids.values()) == 1
    with open_session(rt.engine) as s:
        keys = {a.key for a in s.exec(select(Alert)).all()}
    assert set(hook_ids) | set(mail_ids) == keys


def _sent_times(rt: Runtime, channel: str) -> list[datetime]:
    with open_session(rt.engine) as s:
        rows = s.exec(select(Alert).where(Alert.channel == channel)).all()
    return sorted(as_utc(a.sent_at) for a in rows if a.sent_at)  # type: ignore[misc]


@pytest.mark.parametrize("down_for", [timedelta(hours=1), timedelta(hours=64)], ids=["hour", "weekend"])
def test_receivers_down_then_up_with_default_settings_dead_letter_nothing(
        sqlite_url: str, smtp_server: SMTPSink, down_for: timedelta) -> None:
    """An hour, and a weekend (Friday 18:00 to Monday 10:00), with the default settings: every alert is
    delivered once afterwards. (Giving up after a count of attempts, the old 8 lost ~95 % of an hour's
    alerts and 12 lasted ~7 h.) Once one message on a channel gets through, the channel's other alerts
    are released from their backoff (up to 6 h by then): the backlog goes out within minutes, not hours."""
    with WebhookReceiver("outage-secret") as hook:
        rt = _world(sqlite_url, hook)
        back_at, _end = _outage_then_recovery(rt, hook, smtp_server, rt.settings, down_for)
        _assert_all_delivered_once(rt, hook, smtp_server)
        for channel in ("ops", "desk"):  # each channel recovers with its own first success
            sent = _sent_times(rt, channel)
            assert sent[0] >= back_at
            assert sent[-1] - sent[0] <= 6 * MINUTE, (channel, sent[0], sent[-1])
        rt.engine.dispose()


def test_alerts_failing_past_the_max_age_are_dead_lettered_at_the_deadline(sqlite_url: str,
                                                                           smtp_server: SMTPSink) -> None:
    """SCRAPER_ALERT_MAX_AGE=2h and both receivers down for 3 h: every alert is dead-lettered, each after
    failing for 2 h (its last attempt is pulled forward to the deadline rather than a backoff past it),
    and nothing goes out when the receivers come back."""
    with WebhookReceiver("outage-secret") as hook:
        rt = _world(sqlite_url, hook)
        settings = replace(rt.settings, alert_max_age=2 * 3600.0)
        _outage_then_recovery(rt, hook, smtp_server, settings, timedelta(hours=3))
        assert _statuses(rt) == Counter({"failed": 2 * STORIES})
        assert hook.deliveries == [] and smtp_server.messages == []
        with open_session(rt.engine) as s:
            for alert in s.exec(select(Alert)).all():
                times = [as_utc(t) for t in s.exec(select(AlertAttempt.attempted_at)
                                                   .where(AlertAttempt.alert_id == alert.id)).all()]
                failing_for = max(times) - min(times)  # type: ignore[type-var,operator]  # runs come 5 min apart
                assert timedelta(hours=2) <= failing_for <= timedelta(hours=2) + 5 * MINUTE, failing_for
                assert alert.attempts == len(times) < 20
        rt.engine.dispose()
