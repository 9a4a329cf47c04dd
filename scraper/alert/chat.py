"""Chat presets on top of plain HTTP delivery: Slack incoming webhooks and Telegram bots.

Both get a short text (headline, outlets, snippet, link); digests list one line per story. Failures map
to DeliveryError exactly like webhooks, so retries, backoff and dead letters work the same."""

from __future__ import annotations

import html

import httpx

from scraper.alert.email import plain_snippet
from scraper.alert.payload import AlertMessage
from scraper.alert.webhook import DeliveryError
from scraper.config import SlackChannel, TelegramChannel


def _story_lines(message: AlertMessage) -> list[tuple[str, str, str, str]]:
    """(title, outlets, snippet, url) for each story the message carries."""
    p = message.payload
    entries = p["stories"] if p.get("event") == "digest" else [{**p["story"], "article": p["article"]}]  # type: ignore[dict-item]
    out = []
    for st in entries:  # type: ignore[union-attr]
        art = st["article"]
        outlets = "، ".join(o["source"] for o in st.get("outlets", [])) or str(art["source"])
        title = str(art["title"] or art["url"])
        out.append((title, outlets, plain_snippet(str(art["snippet"] or "")), str(art["url"])))
    return out


def slack_text(message: AlertMessage) -> str:
    def esc(t: str) -> str:  # Slack mrkdwn control characters
        return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    lines = [f"*[{esc(message.rule)}]*"]
    for title, outlets, snippet, url in _story_lines(message):
        lines.append(f"<{esc(url)}|{esc(title)}> — {esc(outlets)}\n> {esc(snippet[:300])}")
    return "\n".join(lines)


def telegram_html(message: AlertMessage) -> str:
    e = html.escape
    lines = [f"<b>[{e(message.rule)}]</b>"]
    for title, outlets, snippet, url in _story_lines(message):
        href = e(url, quote=True) if url.startswith(("http://", "https://")) else ""
        link = f'<a href="{href}">{e(title)}</a>' if href else e(title)
        lines.append(f"{link}\n{e(outlets)}\n{e(snippet[:300])}")
    return "\n\n".join(lines)[:4000]  # Telegram's message limit is 4096 characters


async def _post(client: httpx.AsyncClient, url: str, body: dict[str, object], what: str, timeout: float) -> None:
    try:
        resp = await client.post(url, json=body, timeout=timeout)
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"{what} timed out after {timeout}s", unanswered=True) from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what} unreachable: {exc.__class__.__name__}") from exc
    if resp.status_code == 410:
        raise DeliveryError(f"{what} answered 410 Gone: channel disabled", permanent=True)
    if not 200 <= resp.status_code < 300:
        raise DeliveryError(f"{what} answered HTTP {resp.status_code}")


async def send_slack(client: httpx.AsyncClient, channel: SlackChannel, message: AlertMessage) -> None:
    await _post(client, channel.url, {"text": slack_text(message)}, "slack webhook", channel.timeout)


async def send_telegram(client: httpx.AsyncClient, channel: TelegramChannel, message: AlertMessage) -> None:
    url = f"{channel.api_base.rstrip('/')}/bot{channel.bot_token}/sendMessage"
    body = {"chat_id": channel.chat_id, "text": telegram_html(message), "parse_mode": "HTML"}
    # The URL holds the bot token: name the chat, never the URL, in errors and logs.
    await _post(client, url, body, f"telegram chat {channel.chat_id}", channel.timeout)
