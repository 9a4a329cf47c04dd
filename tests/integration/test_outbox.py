"""The outbox against a real webhook receiver and a real SMTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import timedelta

import pytest
from sqlmodel import select

from scraper.alert.outbox import deliver_due, retry_delay
from scraper.alert.webhook import sign, verify
from scraper.config import Config, Settings
from scraper.demo.receiver import WebhookReceiver
from scraper.store import repo
from scraper.store.db import make_engine
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, AlertAttempt, Article, as_utc, utcnow
from tests.conftest import SMTPSink

TITLE = "لافروف يستقبل نظيره الإيراني في موسكو"
SNIPPET = "استقبل وزير الخارجية [[الروسي]] نظيره [[الإيراني]] في [[موسكو]] لبحث التعاون"


def make_config(hook_url: str, secret: str, email_to: list[str] | None = None) -> Config:
    channels: dict[str, object] = {"ops": {"type": "webhook", "url": hook_url, "secret": secret, "timeout": 2}}
    rule_channels = ["ops"]
    if email_to:
        channels["desk"] = {"type": "email", "to": email_to}
        rule_channels = ["desk"]
    return Config.model_validate({
        "channels": channels,
        "rules": [{"name": "iran-russia", "query": "إيران AND روسيا", "channels": rule_channels}],
        "sources": [],
    })


def queue_alert(db_url: str, channels: list[str], title: str = TITLE) -> list[int]:
    """Store one article with a match and its alert rows, as the pipeline does."""
    engine = make_engine(db_url)
    with open_session(engine) as s:
        story = repo.new_story(s, "rt-arabic", title, utcnow())
        article = Article(url_hash="a" * 64, url="https://arabic.rt.com/world/1-لافروف/", canonical_url="x",
                          source="rt-arabic", story_id=story.id, title=title,
                          body="استقبل وزير الخارجية الروسي نظيره الإيراني في موسكو لبحث التعاون",
                          content_hash="c" * 64, published_at=utcnow())
        s.add(article)
        s.flush()
        record = repo.MatchRecord(rule="iran-russia", terms=["إيران", "روسيا"], hits=[], snippet=SNIPPET)
        repo.add_match_and_alerts(s, article, record, channels)
        s.commit()
        ids = [a.id for a in s.exec(select(Alert)).all()]
    engine.dispose()
    return ids  # type: ignore[return-value]


def alerts(db_url: str) -> list[Alert]:
    engine = make_engine(db_url)
    with open_session(engine) as s:
        rows = list(s.exec(select(Alert)).all())
    engine.dispose()
    return rows


def deliver(db_url: str, config: Config, settings: Settings | None = None, now=None):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    try:
        return asyncio.run(deliver_due(settings or Settings(database_url=db_url), config, engine, now=now))
    finally:
        engine.dispose()


def test_webhook_is_signed_and_carries_the_documented_payload(db_url: str,
                                                               webhook_receiver: WebhookReceiver) -> None:
    queue_alert(db_url, ["ops"])
    report = deliver(db_url, make_config(webhook_receiver.url, webhook_receiver.secret))
    assert report.sent == 1
    [d] = webhook_receiver.deliveries
    assert d.signature_ok
    assert d.headers["x-scraper-event"] == "match"
    p = d.payload
    assert p["event"] == "match" and p["version"] == 1 and p["rule"] == "iran-russia"
    assert p["id"] == alerts(db_url)[0].key == d.headers["x-scraper-id"]
    art = p["article"]
    assert art["title"] == TITLE and art["source"] == "rt-arabic"
    assert art["url"].startswith("https://arabic.rt.com/") and art["snippet"] == SNIPPET
    assert art["published_at"].endswith("Z")
    assert p["story"]["outlets"][0]["source"] == "rt-arabic"
    # a second run sends nothing
    assert deliver(db_url, make_config(webhook_receiver.url, webhook_receiver.secret)).sent == 0
    assert len(webhook_receiver.deliveries) == 1


def test_signature_verification_refuses_tampering_and_replays() -> None:
    body = json.dumps({"id": "k", "title": "طهران"}, ensure_ascii=False).encode()
    sig = sign("secret", "1700000000", body)
    assert verify("secret", "1700000000", body, sig, now=1700000100)
    assert not verify("secret", "1700000000", body + b" ", sig, now=1700000100)
    assert not verify("other", "1700000000", body, sig, now=1700000100)
    assert not verify("secret", "1700000000", body, sig, now=1700009999)  # replay after 5 minutes
    assert not verify("secret", "not-a-number", body, sig)


def test_500_is_retried_with_backoff_then_delivered_once(sqlite_url: str) -> None:
    answers = iter([500, 500, 200])
    with WebhookReceiver("s", status=lambda: next(answers)) as hook:
        queue_alert(sqlite_url, ["ops"])
        cfg = make_config(hook.url, "s")
        assert deliver(sqlite_url, cfg).retrying == 1
        [a] = alerts(sqlite_url)
        assert a.status == "pending" and a.attempts == 1 and "HTTP 500" in (a.last_error or "")
        assert a.next_attempt_at > utcnow() + timedelta(seconds=10)  # backed off, not hammered
        assert deliver(sqlite_url, cfg).sent == 0  # not due yet
        later = utcnow() + timedelta(hours=1)
        assert deliver(sqlite_url, cfg, now=later).retrying == 1
        assert deliver(sqlite_url, cfg, now=later + timedelta(hours=1)).sent == 1
        assert len(hook.deliveries) == 1
        assert alerts(sqlite_url)[0].status == "sent"


def test_receiver_down_then_up_gets_every_alert_exactly_once(db_url: str) -> None:
    with socket.socket() as s:  # a port with nobody listening: connection refused
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    for i in range(3):
        queue_alert_for_story(db_url, i)
    cfg_down = make_config(f"http://127.0.0.1:{dead_port}/hook", "s")
    assert deliver(db_url, cfg_down).retrying == 3
    assert all("unreachable" in (a.last_error or "") for a in alerts(db_url))
    with WebhookReceiver("s") as hook:
        cfg_up = make_config(hook.url, "s")
        later = utcnow() + timedelta(hours=1)
        assert deliver(db_url, cfg_up, now=later).sent == 3
        assert deliver(db_url, cfg_up, now=later + timedelta(hours=1)).sent == 0
        ids = [d.payload["id"] for d in hook.deliveries]
        assert len(ids) == 3 and len(set(ids)) == 3


def queue_alert_for_story(db_url: str, i: int, channels: list[str] | None = None,
                          policy: repo.AlertPolicy | None = None) -> None:
    engine = make_engine(db_url)
    with open_session(engine) as s:
        story = repo.new_story(s, "bbc-arabic", f"خبر {i}", utcnow())
        article = Article(url_hash=f"{i:064d}", url=f"https://www.bbc.com/arabic/{i}", canonical_url="x",
                          source="bbc-arabic", story_id=story.id, title=f"طهران وموسكو {i}", body="نص",
                          content_hash=f"{i:064d}")
        s.add(article)
        s.flush()
        repo.add_match_and_alerts(s, article, repo.MatchRecord("iran-russia", ["طهران"], [], "[[طهران]] نص"),
                                  channels or ["ops"], policy)
        s.commit()
    engine.dispose()


def test_dead_letter_after_max_attempts_with_every_attempt_recorded(sqlite_url: str) -> None:
    with WebhookReceiver("s", status=503) as hook:
        queue_alert(sqlite_url, ["ops"])
        cfg = make_config(hook.url, "s")
        settings = Settings(database_url=sqlite_url, alert_max_attempts=3)
        now = utcnow()
        outcomes = []
        for k in range(3):
            r = deliver(sqlite_url, cfg, settings, now=now + timedelta(days=k))
            outcomes.append((r.retrying, r.dead))
        assert outcomes == [(1, 0), (1, 0), (0, 1)]
        [a] = alerts(sqlite_url)
        assert a.status == "failed" and a.attempts == 3
        engine = make_engine(sqlite_url)
        with open_session(engine) as s:
            attempts = s.exec(select(AlertAttempt)).all()
        assert [t.ok for t in attempts] == [False, False, False]
        assert all("503" in (t.error or "") for t in attempts)


def test_410_gone_disables_the_channel_until_enabled_and_keeps_its_alerts(sqlite_url: str) -> None:
    from scraper.alert.outbox import disabled_channels, set_channel_disabled

    answers = iter([410, 200])
    with WebhookReceiver("s", status=lambda: next(answers)) as hook:
        queue_alert(sqlite_url, ["ops"])
        cfg = make_config(hook.url, "s")
        assert deliver(sqlite_url, cfg).held == 1
        engine = make_engine(sqlite_url)
        assert "410 Gone" in disabled_channels(engine)["ops"]
        [a] = alerts(sqlite_url)
        assert a.status == "pending"
        assert deliver(sqlite_url, cfg, now=utcnow() + timedelta(hours=2)).sent == 0  # channel is off
        assert set_channel_disabled(engine, "ops", False) == 1
        engine.dispose()
        assert deliver(sqlite_url, cfg).sent == 1
        assert len(hook.deliveries) == 1


def test_hourly_digest_sends_one_message_with_one_entry_per_story(db_url: str, smtp_server: SMTPSink) -> None:
    from scraper.store.tables import Story

    cfg = make_config("http://127.0.0.1:9/x", "s", email_to=["desk@example.org"])
    with WebhookReceiver("s") as hook:
        cfg.channels["ops"].url = hook.url  # type: ignore[union-attr]
        for i in range(3):
            queue_alert_for_story(db_url, i, channels=["ops", "desk"], policy=repo.AlertPolicy("hourly"))
        rows = alerts(db_url)
        assert {a.mode for a in rows} == {"hourly"} and all(a.next_attempt_at.minute == 0 for a in rows)
        settings = Settings(database_url=db_url, smtp_host=smtp_server.host, smtp_port=smtp_server.port)
        assert deliver(db_url, cfg, settings).sent == 0  # not before the hour ends
        report = deliver(db_url, cfg, settings, now=utcnow() + timedelta(hours=1, minutes=1))
        assert report.sent == 6
        [d] = hook.deliveries
        assert d.signature_ok and d.headers["x-scraper-event"] == "digest"
        p = d.payload
        assert p["event"] == "digest" and p["mode"] == "hourly" and len(p["stories"]) == 3
        assert sorted(p["alerts"]) == sorted(a.key for a in rows if a.channel == "ops")
        assert {st["article"]["title"] for st in p["stories"]} == {f"طهران وموسكو {i}" for i in range(3)}
        [mail] = smtp_server.messages
        assert "3" in mail["Subject"] and mail["Subject"].startswith("[iran-russia] ملخص ساعي")
        html = mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        assert html.count("<li") == 3 and 'dir="rtl"' in html
    engine = make_engine(db_url)
    with open_session(engine) as s:
        assert len(s.exec(select(Story)).all()) == 3
    engine.dispose()


def test_throttle_sends_the_overflow_to_the_hourly_digest(sqlite_url: str) -> None:
    for i in range(3):
        queue_alert_for_story(sqlite_url, i, channels=["ops"], policy=repo.AlertPolicy("immediate", throttle=2))
    assert [a.mode for a in sorted(alerts(sqlite_url), key=lambda a: a.id)] == ["immediate", "immediate", "hourly"]


def test_slow_receiver_past_the_timeout_is_retried(sqlite_url: str) -> None:
    import time

    def slow() -> int:
        time.sleep(3)
        return 200

    with WebhookReceiver("s", status=slow) as hook:
        queue_alert(sqlite_url, ["ops"])
        report = deliver(sqlite_url, make_config(hook.url, "s"))  # channel timeout is 2 s
    assert report.retrying == 1
    assert "timed out" in (alerts(sqlite_url)[0].last_error or "")


def test_claimed_alert_is_not_sent_twice_by_a_second_dispatcher(db_url: str) -> None:
    from scraper.alert.outbox import LEASE, _claim, _due_messages

    queue_alert(db_url, ["ops"])
    engine = make_engine(db_url)
    now = utcnow()
    [(channel, ids)] = _due_messages(engine, now, 10)
    assert channel == "ops" and len(ids) == 1
    assert _claim(engine, ids, now, LEASE) == ids
    assert _claim(engine, ids, now, LEASE) == []  # leased by the first
    assert _due_messages(engine, now, 10) == []
    assert _claim(engine, ids, now + LEASE + timedelta(seconds=1), LEASE) == ids  # lease ran out: crash recovery
    engine.dispose()


def test_email_is_multipart_rtl_with_message_id_from_the_key(db_url: str, smtp_server: SMTPSink) -> None:
    queue_alert(db_url, ["desk"])
    settings = Settings(database_url=db_url, smtp_host=smtp_server.host, smtp_port=smtp_server.port,
                        smtp_from="scraper@example.org")
    report = deliver(db_url, make_config("http://127.0.0.1:9/x", "s", email_to=["desk@example.org"]), settings)
    assert report.sent == 1
    [msg] = smtp_server.messages
    key = alerts(db_url)[0].key
    assert msg["Message-ID"] == f"<{key}@scraper.alerts>"
    assert msg["Subject"] == f"[iran-russia] {TITLE}"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert TITLE in text and "[[" not in text and "الإيراني" in text
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    assert "<mark>الإيراني</mark>" in html
    assert "<bdi" in html and "https://arabic.rt.com/" in html


def test_email_escapes_hostile_titles(sqlite_url: str, smtp_server: SMTPSink) -> None:
    queue_alert(sqlite_url, ["desk"], title='<script>alert(1)</script> طهران <img src=x onerror="x()">')
    settings = Settings(database_url=sqlite_url, smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    deliver(sqlite_url, make_config("http://127.0.0.1:9/x", "s", email_to=["desk@example.org"]), settings)
    html = smtp_server.messages[0].get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "<img" not in html and "&lt;script&gt;" in html


def test_smtp_rejecting_the_recipient_is_a_recorded_failure(sqlite_url: str, smtp_server: SMTPSink) -> None:
    smtp_server.refuse.add("gone@example.org")
    queue_alert(sqlite_url, ["desk"])
    settings = Settings(database_url=sqlite_url, smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    report = deliver(sqlite_url, make_config("http://127.0.0.1:9/x", "s", email_to=["gone@example.org"]), settings)
    assert report.retrying == 1 and smtp_server.messages == []
    assert "refused every recipient" in (alerts(sqlite_url)[0].last_error or "")


@pytest.mark.parametrize("attempts", [1, 2, 5, 20])
def test_retry_delay_grows_and_is_capped(attempts: int) -> None:
    import random

    delays = [retry_delay(attempts, random.Random(seed)) for seed in range(20)]
    base = min(6 * 3600, 30 * 2 ** (attempts - 1))
    assert all(base / 2 <= d <= base for d in delays)
    assert len(set(delays)) > 1  # jittered


def test_slack_and_telegram_presets_carry_the_story(sqlite_url: str) -> None:
    with WebhookReceiver("unused") as hook:
        cfg = Config.model_validate({
            "channels": {"team": {"type": "slack", "url": hook.url},
                         "tg": {"type": "telegram", "bot_token": "123:SECRET", "chat_id": "-100200",
                                "api_base": hook.url.removesuffix("/hook")}},
            "rules": [{"name": "iran-russia", "query": "إيران", "channels": ["team", "tg"]}], "sources": [],
        })
        queue_alert(sqlite_url, ["team", "tg"], title="لافروف <b>يستقبل</b> عراقجي")
        assert deliver(sqlite_url, cfg).sent == 2
        by_path = {d.path: d.payload for d in hook.deliveries}
        slack = by_path["/hook"]["text"]
        assert "*[iran-russia]*" in slack and "&lt;b&gt;" in slack and "https://arabic.rt.com/" in slack
        tg = by_path["/bot123:SECRET/sendMessage"]
        assert tg["chat_id"] == "-100200" and tg["parse_mode"] == "HTML"
        assert "&lt;b&gt;يستقبل&lt;/b&gt;" in tg["text"] and "موسكو" in tg["text"]


def test_telegram_errors_never_show_the_bot_token(sqlite_url: str) -> None:
    cfg = Config.model_validate({
        "channels": {"tg": {"type": "telegram", "bot_token": "999:TOPSECRET", "chat_id": "1",
                            "api_base": "http://127.0.0.1:9"}},
        "rules": [{"name": "iran-russia", "query": "إيران", "channels": ["tg"]}], "sources": [],
    })
    queue_alert(sqlite_url, ["tg"])
    assert deliver(sqlite_url, cfg).retrying == 1
    error = alerts(sqlite_url)[0].last_error or ""
    assert "telegram chat 1 unreachable" in error and "TOPSECRET" not in error


def test_bidi_overrides_are_dropped_from_the_subject(sqlite_url: str, smtp_server: SMTPSink) -> None:
    queue_alert(sqlite_url, ["desk"], title="ملف \u202egnp.exe مرفق")
    settings = Settings(database_url=sqlite_url, smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    deliver(sqlite_url, make_config("http://127.0.0.1:9/x", "s", email_to=["desk@example.org"]), settings)
    subject = smtp_server.messages[0]["Subject"]
    assert "\u202e" not in subject and "gnp.exe" in subject


def test_a_channel_that_leaves_a_send_unanswered_is_not_waited_on_again_in_the_same_run(db_url: str) -> None:
    """A receiver that accepts and never answers used to cost one full timeout per due message per run
    (200 messages x 10 s); now the first timeout defers that channel's other messages to the next run,
    unattempted and still due, and the other channels' alerts go out in the same run."""
    import threading

    stuck = threading.Event()

    def never_in_time() -> int:
        stuck.wait(5)  # past the 1 s channel timeout
        return 200

    with WebhookReceiver("s", status=never_in_time) as slow, WebhookReceiver("s") as ok:
        config = Config.model_validate({
            "channels": {"slow": {"type": "webhook", "url": slow.url, "secret": "s", "timeout": 1},
                         "ops": {"type": "webhook", "url": ok.url, "secret": "s", "timeout": 2}},
            "rules": [{"name": "iran-russia", "query": "طهران", "channels": ["slow", "ops"]}],
            "sources": [],
        })
        for i in range(4):
            queue_alert_for_story(db_url, i, channels=["slow"])
        for i in range(4, 6):
            queue_alert_for_story(db_url, i, channels=["ops"])
        now = utcnow()
        report = deliver(db_url, config, now=now)
        stuck.set()
        assert (report.retrying, report.deferred, report.sent) == (1, 3, 2)
        assert len(ok.deliveries) == 2
    rows = {a.id: a for a in alerts(db_url)}
    slow_rows = sorted((a for a in rows.values() if a.channel == "slow"), key=lambda a: a.id or 0)
    assert [a.attempts for a in slow_rows] == [1, 0, 0, 0]
    assert "timed out" in (slow_rows[0].last_error or "")
    assert all(a.status == "pending" and as_utc(a.next_attempt_at) <= now for a in slow_rows[1:])  # still due
