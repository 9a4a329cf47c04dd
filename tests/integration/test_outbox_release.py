"""A channel's first success releases its other alerts from their backoff, on SQLite and PostgreSQL.

Backoff times are random (jitter); where a test needs "waiting out a long backoff" it sets that row's
next_attempt_at to hours ahead, as a backoff after many failures would."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from scraper.alert.outbox import LEASE, _claim
from scraper.demo.receiver import WebhookReceiver
from scraper.store.db import make_engine
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, as_utc, utcnow
from tests.integration.test_outbox import deliver, make_config, queue_alert_for_story
from tests.reliability.harness import closed_port

LONG_BACKOFF = timedelta(hours=5)


def _rows(db_url: str) -> dict[int, Alert]:
    engine = make_engine(db_url)
    with open_session(engine) as s:
        rows = {a.id or 0: a for a in s.exec(select(Alert).order_by(Alert.id)).all()}
    engine.dispose()
    return rows


def _due(db_url: str) -> dict[int, datetime]:
    return {i: as_utc(a.next_attempt_at) for i, a in _rows(db_url).items()}  # type: ignore[misc]


def _set_due(db_url: str, when: dict[int, datetime]) -> None:
    engine = make_engine(db_url)
    with open_session(engine) as s:
        for alert_id, at in when.items():
            alert = s.get(Alert, alert_id)
            assert alert is not None
            alert.next_attempt_at = at
            s.add(alert)
        s.commit()
    engine.dispose()


def test_first_success_after_an_outage_makes_the_waiting_alerts_due_now(db_url: str) -> None:
    for i in range(4):
        queue_alert_for_story(db_url, i)
    down = make_config(f"http://127.0.0.1:{closed_port()}/hook", "s")  # nobody listening
    now = utcnow()
    for _failure in range(5):
        now = max(_due(db_url).values())
        assert deliver(db_url, down, now=now).retrying == 4
    first, *others = sorted(_rows(db_url))
    back = now + timedelta(minutes=10)
    _set_due(db_url, {first: back} | {i: now + LONG_BACKOFF for i in others})

    with WebhookReceiver("s") as hook:
        up = make_config(hook.url, "s")
        assert deliver(db_url, up, now=back).sent == 1  # only the first is due: it gets through
        due = _due(db_url)
        assert all(due[i] <= back + timedelta(seconds=5) for i in others), due  # released, not in 5 h
        assert deliver(db_url, up, now=back + timedelta(seconds=10)).sent == 3
        ids = [d.payload["id"] for d in hook.deliveries]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert {a.status for a in _rows(db_url).values()} == {"sent"}


def test_an_alert_failing_while_the_channel_works_is_released_once_only(db_url: str) -> None:
    """A payload the receiver refuses (400) while it accepts the others must keep its backoff, or every
    success on the channel would retry it."""
    answers = iter([400, 200, 400, 200])
    with WebhookReceiver("s", status=lambda: next(answers)) as hook:
        cfg = make_config(hook.url, "s")
        queue_alert_for_story(db_url, 0)
        [poison] = _rows(db_url)
        t0 = utcnow()
        assert deliver(db_url, cfg, now=t0).retrying == 1
        _set_due(db_url, {poison: t0 + LONG_BACKOFF})

        queue_alert_for_story(db_url, 1)  # the channel's first success ever: it releases the poison too
        t1 = t0 + timedelta(minutes=1)
        assert deliver(db_url, cfg, now=t1).sent == 1
        assert _due(db_url)[poison] <= t1 + timedelta(seconds=5)
        assert deliver(db_url, cfg, now=t1 + timedelta(seconds=10)).retrying == 1  # refused again
        _set_due(db_url, {poison: t0 + LONG_BACKOFF})

        queue_alert_for_story(db_url, 2)  # it failed before this channel's last success: stays put
        t2 = t1 + timedelta(minutes=2)
        assert deliver(db_url, cfg, now=t2).sent == 1
        assert _due(db_url)[poison] == t0 + LONG_BACKOFF
        assert len(hook.deliveries) == 2


def test_a_row_leased_by_another_dispatcher_is_not_released(db_url: str) -> None:
    """Releasing sets next_attempt_at to now; on a row another dispatcher is sending that would end its
    lease and let a third dispatcher send it again."""
    for i in range(2):
        queue_alert_for_story(db_url, i)
    now = utcnow()
    down = make_config(f"http://127.0.0.1:{closed_port()}/hook", "s")
    assert deliver(db_url, down, now=now).retrying == 2
    ours, theirs = sorted(_rows(db_url))
    t = now + timedelta(hours=1)
    _set_due(db_url, {ours: t, theirs: t})
    engine = make_engine(db_url)
    assert _claim(engine, [theirs], t, LEASE) == [theirs]  # another dispatcher is sending it now
    with WebhookReceiver("s") as hook:
        assert deliver(db_url, make_config(hook.url, "s"), now=t).sent == 1
        assert len(hook.deliveries) == 1
    assert _due(db_url)[theirs] == t + LEASE  # its lease is intact
    assert _claim(engine, [theirs], t + timedelta(seconds=1), LEASE) == []
    engine.dispose()
