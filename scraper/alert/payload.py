"""The alert a receiver gets: one documented, versioned JSON object, built from stored rows.

Schema version 1 (webhook body; the email renders the same data):
{
  "id": "<idempotency key, stable for (rule, story, channel)>",
  "event": "match", "version": 1, "created_at": "<ISO 8601 UTC>",
  "rule": "<rule name>",
  "story": {"id": 12, "first_source": "bbc-arabic", "first_seen_at": "...", "outlets": [{"source", "url", "seen_at"}]},
  "article": {"url", "title", "source", "published_at", "snippet", "terms": [..]}
}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from scraper.store import repo
from scraper.store.tables import Alert, Article, RuleMatch, Story, as_utc

SCHEMA_VERSION = 1


def iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


@dataclass(frozen=True)
class AlertMessage:
    """Everything a channel needs to render and send one alert."""

    key: str
    rule: str
    channel: str
    payload: dict[str, object]

    @property
    def article(self) -> dict[str, object]:
        return self.payload["article"]  # type: ignore[return-value]

    def body_bytes(self) -> bytes:
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode()


def build_message(session: Session, alert: Alert) -> AlertMessage:
    article = session.get(Article, alert.article_id)
    story = session.get(Story, alert.story_id)
    match = session.get(RuleMatch, alert.match_id) if alert.match_id else None
    if article is None or story is None:
        raise LookupError(f"alert {alert.id} points at a missing article or story")
    outlets = [
        {"source": src, "url": url, "seen_at": iso(seen)}
        for src, seen, url in repo.story_outlets(session, story.id or 0)
    ]
    payload: dict[str, object] = {
        "id": alert.key,
        "event": "match",
        "version": SCHEMA_VERSION,
        "created_at": iso(alert.created_at),
        "rule": alert.rule,
        "story": {"id": story.id, "first_source": story.first_source,
                  "first_seen_at": iso(story.first_seen_at), "outlets": outlets},
        "article": {
            "url": article.url,
            "title": article.title,
            "source": article.source,
            "published_at": iso(article.published_at),
            "snippet": match.snippet if match else "",
            "terms": json.loads(match.terms) if match else [],
        },
    }
    return AlertMessage(key=alert.key, rule=alert.rule, channel=alert.channel, payload=payload)
