"""Receivers down for a simulated hour, then up: every alert is delivered, none twice.

20 matched stories × (webhook + email) = 40 alerts are stored through the real pipeline
(``store_article``). Both channels are then down (the webhook answers 503, SMTP refuses connections)
while the dispatcher runs once per simulated minute for an hour, then both come back.

Time compression: the outbox schedules retries from the wall clock (``utcnow()`` in
``_record_attempts``, whatever ``now`` the dispatcher was given), so a simulated minute is applied to
the database instead: every pending row's ``next_attempt_at`` moves back by a minute, then the
dispatcher runs with the real clock. That is the same as the world having waited a minute."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import select

from scraper.alert.outbox import deliver_due
from scraper.config import Config, Settings, Source
from scraper.demo.receiver import WebhookReceiver
from scraper.models import ArticleDraft, FeedItem
from scraper.normalize.urls import canonical_url, url_hash
from scraper.pipeline import Runtime, store_article
from scraper.store import repo
from scraper.store.db import make_engine
from scraper.store.db import session as open_session
from scraper.store.tables import Alert
from tests.conftest import SMTPSink
from tests.reliability.crashkit import WATCHED, make_articles
from tests.reliability.harness import closed_port

STORIES = 20
MINUTE = timedelta(minutes=1)
RECOVERY_STEPS = 48  # of 5 simulated minutes: 4 hours, past the longest backoff an hour's outage reaches


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


def _advance(rt: Runtime, by: timedelta) -> None:
    with open_session(rt.engine) as s:
        for alert in s.exec(select(Alert).where(Alert.status == "pending")).all():
            alert.next_attempt_at = alert.next_attempt_at - by
            s.add(alert)
        s.commit()


def _statuses(rt: Runtime) -> Counter[str]:
    with open_session(rt.engine) as s:
        return Counter(a.status for a in s.exec(select(Alert)).all())


def _outage_then_recovery(rt: Runtime, hook: WebhookReceiver, smtp: SMTPSink, settings: Settings,
                          minutes: int) -> Counter[str]:
    down = replace(settings, smtp_host="127.0.0.1", smtp_port=closed_port())
    up = replace(settings, smtp_host=smtp.host, smtp_port=smtp.port)
    hook.status = 503

    async def dispatch() -> None:
        for _minute in range(minutes):
            report = await deliver_due(down, rt.config, rt.engine)
            assert report.sent == 0
            _advance(rt, MINUTE)
        during = _statuses(rt)
        hook.status = 200
        for _step in range(RECOVERY_STEPS):  # the backoff reached during the outage is waited out
            await deliver_due(up, rt.config, rt.engine)
            if _statuses(rt)["pending"] == 0:
                break
            _advance(rt, 5 * MINUTE)
        assert during["sent"] == 0

    asyncio.run(dispatch())
    return _statuses(rt)


def _assert_all_delivered_once(rt: Runtime, hook: WebhookReceiver, smtp: SMTPSink, statuses: Counter[str]) -> None:
    assert statuses == Counter({"sent": 2 * STORIES}), statuses
    hook_ids = Counter(d.headers["x-scraper-id"] for d in hook.deliveries)
    mail_ids = Counter(str(m["X-Scraper-Id"]) for m in smtp.messages)
    assert len(hook_ids) == STORIES and max(hook_ids.values()) == 1
    assert len(mail_ids) == STORIES and max(mail_ids.values()) == 1
    with open_session(rt.engine) as s:
        keys = {a.key for a in s.exec(select(Alert)).all()}
    assert set(hook_ids) | set(mail_ids) == keys


@pytest.mark.parametrize("attempts", [12])
def test_both_channels_down_then_up_with_enough_attempts(sqlite_url: str, smtp_server: SMTPSink,
                                                         attempts: int) -> None:
    with WebhookReceiver("outage-secret") as hook:
        rt = _world(sqlite_url, hook)
        settings = replace(rt.settings, alert_max_attempts=attempts)
        statuses = _outage_then_recovery(rt, hook, smtp_server, settings, minutes=60)
        _assert_all_delivered_once(rt, hook, smtp_server, statuses)
        rt.engine.dispose()


def test_an_hour_down_with_default_settings_dead_letters_nothing(sqlite_url: str, smtp_server: SMTPSink) -> None:
    """With the default settings an hour-long outage of both receivers dead-letters nothing. (With the old
    default of 8 attempts, the 8th came 32-63 minutes after the first and ~95 % of the alerts ended
    "failed", delivered only after `scraper alerts retry --failed`.)"""
    with WebhookReceiver("outage-secret") as hook:
        rt = _world(sqlite_url, hook)
        statuses = _outage_then_recovery(rt, hook, smtp_server, rt.settings, minutes=60)
        _assert_all_delivered_once(rt, hook, smtp_server, statuses)
        rt.engine.dispose()
