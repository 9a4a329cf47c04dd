"""Email alerts: multipart text + right-to-left HTML, sent over SMTP (aiosmtplib).

The Message-ID is derived from the alert's idempotency key, so a duplicate sent after a crash is
recognizable by the receiver's mail client."""

from __future__ import annotations

import html
import re
import ssl
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from scraper.alert.payload import AlertMessage
from scraper.alert.webhook import DeliveryError
from scraper.config import EmailChannel, Settings

_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_HIT = re.compile(r"\[\[(.+?)\]\]", re.S)
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z0-9 .,:/_\-]*[A-Za-z0-9]|[A-Za-z]")


def plain_snippet(snippet: str) -> str:
    return _HIT.sub(r"\1", snippet)


def isolate_latin(escaped: str) -> str:
    """Wrap Latin runs (names, acronyms) in <bdi> so they do not scramble the RTL line."""
    return _LATIN_RUN.sub(lambda m: f"<bdi>{m.group()}</bdi>", escaped)


def html_snippet(snippet: str) -> str:
    """Escape first, then turn the matcher's [[hit]] markers into <mark>: scraped text stays inert."""
    escaped = html.escape(snippet, quote=True)
    return _HIT.sub(r"<mark>\1</mark>", isolate_latin(escaped))


def render_email(message: AlertMessage, channel: EmailChannel, sender: str) -> EmailMessage:
    art = message.article
    title = str(art.get("title") or art.get("url"))
    subject = f"[{message.rule}] {title}"
    msg = EmailMessage()
    # Bidi overrides in a scraped headline could make a mail list show "gnp.exe" as "exe.png": drop them.
    msg["Subject"] = _BIDI_CONTROLS.sub("", re.sub(r"[\r\n]+", " ", subject))[:300]
    msg["From"] = sender
    msg["To"] = ", ".join(channel.to)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{message.key}@scraper.alerts>"
    msg["X-Scraper-Id"] = message.key
    msg["X-Scraper-Rule"] = message.rule
    published = art.get("published_at") or "—"
    terms = "، ".join(str(t) for t in art.get("terms") or [])
    msg.set_content(
        f"{title}\n\nالمصدر: {art.get('source')}\nالتاريخ: {published}\nالكلمات: {terms}\n\n"
        f"{plain_snippet(str(art.get('snippet') or ''))}\n\n{art.get('url')}\n\n"
        f"-- scraper, rule {message.rule} (alert {message.key})\n"
    )
    msg.add_alternative(_render_html(message, title, str(published), terms), subtype="html")
    return msg


def _render_html(message: AlertMessage, title: str, published: str, terms: str) -> str:
    art = message.article
    e = html.escape
    url = str(art.get("url") or "")
    safe_href = e(url, quote=True) if url.startswith(("http://", "https://")) else "#"
    snippet = html_snippet(str(art.get("snippet") or ""))
    return f"""<!doctype html>
<html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{e(title)}</title></head>
<body dir="rtl" style="font-family: 'Noto Naskh Arabic', Tahoma, Arial, sans-serif; line-height: 1.7;">
<div dir="rtl" lang="ar">
<p style="color:#666;font-size:90%">تنبيه القاعدة <bdi dir="ltr">{e(message.rule)}</bdi></p>
<h2 style="margin:0.3em 0"><a href="{safe_href}">{isolate_latin(e(title))}</a></h2>
<p style="color:#444">المصدر: <bdi>{e(str(art.get('source')))}</bdi> · التاريخ: <bdi dir="ltr">{e(published)}</bdi></p>
<p>الكلمات المطابقة: {e(terms)}</p>
<blockquote style="border-right:3px solid #c90;margin:0;padding:0 1em">{snippet}</blockquote>
<p><a href="{safe_href}" dir="ltr">{e(url)}</a></p>
<p style="color:#999;font-size:80%">alert <bdi dir="ltr">{e(message.key)}</bdi></p>
</div></body></html>
"""


async def send_email(settings: Settings, channel: EmailChannel, message: AlertMessage) -> str | None:
    """Send one alert. Returns a warning when some (not all) recipients were refused: the message
    went out, so retrying would only duplicate it for the others."""
    if message.payload.get("event") == "digest":
        from scraper.alert.digest import render_digest_email

        msg = render_digest_email(message, channel, settings.smtp_from)
    else:
        msg = render_email(message, channel, settings.smtp_from)
    tls_context = ssl.create_default_context(cafile=settings.smtp_ca_file) if settings.smtp_ca_file else None
    try:
        errors, _resp = await aiosmtplib.send(
            msg,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user,
            password=settings.smtp_password,
            start_tls=settings.smtp_starttls,
            use_tls=settings.smtp_tls,
            tls_context=tls_context,
            timeout=30,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"SMTP {settings.smtp_host}:{settings.smtp_port} refused every recipient: "
                            f"{'; '.join(str(r) for r in exc.recipients)}") from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc.__class__.__name__}: {exc}",
                            unanswered=isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError)) from exc
    if errors:
        refused = ", ".join(f"{addr} ({code})" for addr, (code, _m) in errors.items())
        return f"SMTP refused some recipients: {refused}"
    return None
