"""Signed webhook delivery.

Headers: ``X-Scraper-Event: match``, ``X-Scraper-Id: <idempotency key>``, ``X-Scraper-Timestamp: <unix
seconds>`` and ``X-Scraper-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">``, so a
receiver can check the sender and refuse replays (reject timestamps older than a few minutes)."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

import httpx

from scraper.alert.payload import AlertMessage
from scraper.config import WebhookChannel


class DeliveryError(Exception):
    """A channel refused or failed a delivery. ``permanent`` means retrying cannot help (410 Gone);
    ``unanswered``: the receiver gave no answer in time (the dispatcher defers the channel's other
    messages rather than wait out the same timeout for each)."""

    def __init__(self, message: str, permanent: bool = False, unanswered: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.unanswered = unanswered


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, max_age: float = 300.0,
           now: float | None = None) -> bool:
    """What a receiver does: constant-time compare, and refuse stale timestamps (replays)."""
    try:
        age = (now if now is not None else time.time()) - int(timestamp)
    except ValueError:
        return False
    return abs(age) <= max_age and hmac.compare_digest(sign(secret, timestamp, body), signature)


def redacted(url: str) -> str:
    """A receiver URL as errors and logs show it: scheme, host and port only. Chat and automation
    services put their secret in the path or query (Slack's /services/T.../B.../token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}/…"


async def send_webhook(client: httpx.AsyncClient, channel: WebhookChannel, message: AlertMessage) -> None:
    body = message.body_bytes()
    shown = redacted(channel.url)
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Scraper-Event": str(message.payload.get("event", "match")),
        "X-Scraper-Id": message.key,
        "X-Scraper-Timestamp": ts,
        "X-Scraper-Signature": sign(channel.secret, ts, body),
    }
    try:
        resp = await client.post(channel.url, content=body, headers=headers, timeout=channel.timeout)
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"webhook {shown} timed out after {channel.timeout}s", unanswered=True) from exc
    except httpx.HTTPError as exc:
        detail = str(exc).replace(channel.url, shown)
        raise DeliveryError(f"webhook {shown} unreachable: {exc.__class__.__name__}: {detail}") from exc
    if resp.status_code == 410:
        raise DeliveryError(f"webhook {shown} answered 410 Gone: channel disabled", permanent=True)
    if not 200 <= resp.status_code < 300:
        raise DeliveryError(f"webhook {shown} answered HTTP {resp.status_code}")
