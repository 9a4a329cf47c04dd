"""Database tables (SQLModel). Datetimes are aware UTC (SQLModel's UTCDateTime column type), so SQLite
and PostgreSQL agree and no naive time leaks into comparisons.

Unique keys make every write idempotent: a retried job, a second worker or a restart after a crash
cannot store an article twice (url_hash) or queue an alert twice (rule, story, channel).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Aware UTC; naive values are taken as UTC already."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SourceState(SQLModel, table=True):
    """What the poller knows about one configured source between passes."""

    __tablename__ = "sources"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(max_length=20)
    title: str | None = Field(default=None, max_length=500)
    next_check_at: datetime = Field(default_factory=utcnow, index=True)
    interval_seconds: float = 600.0
    etag: str | None = Field(default=None, max_length=1000)
    last_modified: str | None = Field(default=None, max_length=200)
    consecutive_failures: int = 0
    failing: bool = False
    last_checked_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error_class: str | None = Field(default=None, max_length=50)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    items_per_week: float | None = None
    articles_total: int = 0
    last_status: int | None = None
    body_hash: str | None = Field(default=None, max_length=64)  # of the last full (200) listing body
    last_unconditional_at: datetime | None = None
    validators_unreliable: bool = False  # the server sent unchanged ETag/Last-Modified for a changed body
    avg_body_chars: float | None = None  # moving average of extracted body length, to spot drift
    last_warning_at: datetime | None = None
    last_warning_class: str | None = Field(default=None, max_length=50)  # extraction_empty | extraction_drift
    last_warning: str | None = Field(default=None, sa_column=Column(Text))
    # How this source's pages were last decoded when that took a repair (e.g. "mojibake:cp1252"), so the
    # next page is decoded the same way without guessing again; None while plain decoding works.
    charset_fix: str | None = Field(default=None, max_length=50)
    created_at: datetime = Field(default_factory=utcnow)


class Story(SQLModel, table=True):
    """A news story: one article and every copy other outlets carried of it."""

    __tablename__ = "stories"

    id: int | None = Field(default=None, primary_key=True)
    first_article_id: int | None = Field(default=None, index=True)
    first_source: str = Field(max_length=200)
    first_seen_at: datetime = Field(default_factory=utcnow, index=True)
    title: str | None = Field(default=None, sa_column=Column(Text))
    article_count: int = 1


class Article(SQLModel, table=True):
    """A stored article: the original text for display and a normalized form for matching and search."""

    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_source_fetched", "source", "fetched_at"),)

    id: int | None = Field(default=None, primary_key=True)
    url_hash: str = Field(max_length=64, unique=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    canonical_url: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(max_length=200)
    story_id: int | None = Field(default=None, foreign_key="stories.id", index=True)
    title: str | None = Field(default=None, sa_column=Column(Text))
    author: str | None = Field(default=None, max_length=500)
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    title_norm: str = Field(default="", sa_column=Column(Text, nullable=False))
    body_norm: str = Field(default="", sa_column=Column(Text, nullable=False))
    language: str | None = Field(default=None, max_length=10)
    content_hash: str = Field(max_length=64, index=True)
    fingerprint: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    published_at: datetime | None = Field(default=None, index=True)
    fetched_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime | None = None
    revision: int = 1
    extraction: str | None = Field(default=None, sa_column=Column(Text))  # JSON: field → method

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.body.split("\n") if p.strip()]


class ArticleURL(SQLModel, table=True):
    """Every canonical URL an article is known by (feed link, page canonical, AMP variant...), so a
    poller skips a known article whichever of its URLs a feed lists."""

    __tablename__ = "article_urls"

    url_hash: str = Field(max_length=64, primary_key=True)
    article_id: int = Field(foreign_key="articles.id", index=True)


class StoryKey(SQLModel, table=True):
    """LSH band keys of recent articles' MinHash signatures: the persistent near-duplicate index.

    Candidates for a new article are the rows sharing one of its band keys inside the time window;
    they are then scored on the stored signatures. Shared by every worker, so all see one index."""

    __tablename__ = "story_keys"
    # SQLite: the rows live in the primary-key B-tree, so a band-key probe reads story_id and seen_at
    # in place (no rowid table behind a separate key index). Migration 0005, bench/RESULTS.stories.md.
    __table_args__ = {"sqlite_with_rowid": False}

    band_key: bytes = Field(sa_column=Column(LargeBinary(8), primary_key=True))
    article_id: int = Field(foreign_key="articles.id", primary_key=True)
    story_id: int  # not indexed: nothing looks keys up by story (find_story by band_key, prune by seen_at)
    seen_at: datetime = Field(index=True)


class ArticleRevision(SQLModel, table=True):
    """The previous version of an article whose headline or body changed on re-fetch."""

    __tablename__ = "article_revisions"

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="articles.id", index=True)
    revision: int
    title: str | None = Field(default=None, sa_column=Column(Text))
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64)
    replaced_at: datetime = Field(default_factory=utcnow)


class RuleMatch(SQLModel, table=True):
    """A rule that fired on an article, with what hit and where (for explanation and backtests)."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("rule", "article_id", name="uq_matches_rule_article"),)

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=200, index=True)
    article_id: int = Field(foreign_key="articles.id", index=True)
    story_id: int | None = Field(default=None, index=True)
    terms: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    hits: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of hit spans
    snippet: str = Field(default="", sa_column=Column(Text, nullable=False))
    matched_at: datetime = Field(default_factory=utcnow, index=True)


class Alert(SQLModel, table=True):
    """The outbox: one row per (rule, story, channel), written with the article, delivered later."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("rule", "story_id", "channel", name="uq_alerts_rule_story_channel"),
        Index("ix_alerts_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)  # idempotency key sent to receivers
    rule: str = Field(max_length=200)
    channel: str = Field(max_length=200)
    story_id: int = Field(foreign_key="stories.id")
    article_id: int = Field(foreign_key="articles.id")
    match_id: int | None = Field(default=None, foreign_key="matches.id")
    status: str = Field(default="pending", max_length=20)  # pending | sent | failed (dead letter)
    mode: str = Field(default="immediate", max_length=10)  # immediate | hourly | daily (digest)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class ChannelState(SQLModel, table=True):
    """A channel the receiver told us to stop using (HTTP 410). Its alerts wait until it is enabled."""

    __tablename__ = "channel_state"

    name: str = Field(max_length=200, primary_key=True)
    disabled: bool = False
    reason: str | None = Field(default=None, sa_column=Column(Text))
    changed_at: datetime = Field(default_factory=utcnow)


class AlertAttempt(SQLModel, table=True):
    """Every delivery attempt with its outcome."""

    __tablename__ = "alert_attempts"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", index=True)
    attempted_at: datetime = Field(default_factory=utcnow)
    ok: bool = False
    error: str | None = Field(default=None, sa_column=Column(Text))
    duration_ms: int = 0


class FetchLog(SQLModel, table=True):
    """One row per source check: what happened, how long it took, what it found."""

    __tablename__ = "fetch_log"
    __table_args__ = (Index("ix_fetch_log_source_at", "source", "checked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=200)
    url: str = Field(sa_column=Column(Text, nullable=False))
    checked_at: datetime = Field(default_factory=utcnow)
    outcome: str = Field(max_length=20)  # ok | not_modified | error
    status: int | None = None
    error_class: str | None = Field(default=None, max_length=50)
    error: str | None = Field(default=None, sa_column=Column(Text))
    duration_ms: int = 0
    items: int = 0
    new_articles: int = 0
