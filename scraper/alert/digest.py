"""Digests: the alerts of one (rule, channel) gathered over an hour or a day, sent as one message with
one entry per story and the outlets that carried it.

Webhook payload (version 1, ``event: digest``):
{"id": "<digest key>", "event": "digest", "version": 1, "rule": "...", "mode": "hourly|daily",
 "created_at": "...", "alerts": ["<alert key>", ...],
 "stories": [{"id", "first_source", "first_seen_at", "outlets": [...], "article": {url, title, source,
              published_at, snippet, terms}}, ...]}
"""

from __future__ import annotations

import hashlib
import html
from email.message import EmailMessage
from email.utils import formatdate

from sqlmodel import Session

from scraper.alert.email import html_snippet, isolate_latin, plain_snippet
from scraper.alert.payload import SCHEMA_VERSION, AlertMessage, build_message, iso
from scraper.config import EmailChannel
from scraper.store.tables import Alert, utcnow


def digest_key(alerts: list[Alert]) -> str:
    """Stable for the same set of alerts, so a digest re-sent after a crash carries the same id."""
    return hashlib.sha256("\x1f".join(sorted(a.key for a in alerts)).encode()).hexdigest()[:32]


def build_digest(session: Session, alerts: list[Alert]) -> AlertMessage:
    first = alerts[0]
    stories = []
    for alert in sorted(alerts, key=lambda a: a.created_at):
        single = build_message(session, alert).payload
        stories.append({**single["story"], "article": single["article"]})  # type: ignore[dict-item]
    payload: dict[str, object] = {
        "id": digest_key(alerts), "event": "digest", "version": SCHEMA_VERSION, "rule": first.rule,
        "mode": first.mode, "created_at": iso(utcnow()), "alerts": [a.key for a in alerts], "stories": stories,
    }
    return AlertMessage(key=str(payload["id"]), rule=first.rule, channel=first.channel, payload=payload)


def render_digest_email(message: AlertMessage, channel: EmailChannel, sender: str) -> EmailMessage:
    stories: list[dict] = message.payload["stories"]  # type: ignore[assignment]
    period = "ساعي" if message.payload.get("mode") == "hourly" else "يومي"
    msg = EmailMessage()
    msg["Subject"] = f"[{message.rule}] ملخص {period}: {len(stories)} خبر"
    msg["From"], msg["To"] = sender, ", ".join(channel.to)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{message.key}@scraper.digests>"
    msg["X-Scraper-Id"] = message.key
    text_parts, html_parts = [], []
    e = html.escape
    for st in stories:
        art = st["article"]
        outlets = "، ".join(o["source"] for o in st["outlets"])
        text_parts.append(f"* {art['title']}\n  {outlets}\n  {plain_snippet(art['snippet'])}\n  {art['url']}\n")
        href = e(art["url"], quote=True) if str(art["url"]).startswith(("http://", "https://")) else "#"
        html_parts.append(
            f'<li style="margin-bottom:1em"><a href="{href}"><b>{isolate_latin(e(art["title"] or ""))}</b></a>'
            f"<br><small>نشرته: <bdi>{e(outlets)}</bdi></small><br>{html_snippet(art['snippet'])}</li>")
    msg.set_content(f"{len(stories)} خبر للقاعدة {message.rule}\n\n" + "\n".join(text_parts))
    msg.add_alternative(
        f'<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8"></head>'
        f'<body dir="rtl" style="font-family: Tahoma, Arial, sans-serif; line-height:1.7">'
        f'<h2>ملخص {period} للقاعدة <bdi dir="ltr">{e(message.rule)}</bdi>: {len(stories)} خبر</h2>'
        f"<ol>{''.join(html_parts)}</ol></body></html>", subtype="html")
    return msg
