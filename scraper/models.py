"""Plain typed records passed between pipeline stages: FeedItem → ArticleDraft → stored Article."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FeedItem:
    """One entry found in a feed, sitemap or section page."""

    url: str
    title: str | None = None
    published_at: datetime | None = None  # timezone-aware UTC
    summary: str | None = None
    author: str | None = None
    guid: str | None = None


@dataclass
class ParsedFeed:
    """What a feed/sitemap/listing parser returns."""

    items: list[FeedItem]
    title: str | None = None
    ttl_minutes: int | None = None  # RSS <ttl> hint
    parser: str = ""  # which parser produced it, e.g. "fastfeedparser" or "feedparser"


@dataclass
class ArticleDraft:
    """What extraction returns for one article page."""

    url: str
    title: str | None
    paragraphs: list[str]
    canonical_url: str | None = None
    author: str | None = None
    published_at: datetime | None = None  # timezone-aware UTC
    language: str | None = None
    method: dict[str, str] = field(default_factory=dict)  # field name → method that produced it

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)
