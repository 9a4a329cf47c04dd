"""Queries and idempotent writes. Every function takes a Session; the caller owns the transaction."""

from __future__ import annotations

import errno
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from scraper.config import Config
from scraper.store.tables import (
    Alert,
    Article,
    ArticleRevision,
    ArticleURL,
    FetchLog,
    RuleMatch,
    SourceState,
    Story,
    utcnow,
)

# How each database says "no room": SQLite's SQLITE_FULL text, PostgreSQL's SQLSTATE 53100 (disk_full,
# "could not extend file ..."), and the OS's own errors when a file write fails.
_DISK_FULL_TEXTS = ("database or disk is full", "could not extend file", "no space left on device")
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_DRIVER_PREFIX = re.compile(r"^\([\w.]+\) ")  # SQLAlchemy's "(sqlite3.OperationalError) " before the text


def disk_full_cause(exc: BaseException) -> str | None:
    """The one-line cause when ``exc`` (or what it wraps) means the disk is full, else None.

    SQLAlchemy's message would carry the statement and its parameters (article text): only the
    driver's own first line is returned."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _DISK_FULL_ERRNOS:
            return f"{e.strerror or 'no space left on device'} (errno {e.errno})"
        text = str(e).strip().splitlines()[0] if str(e).strip() else ""
        if getattr(e, "sqlstate", None) == "53100" or any(t in text.lower() for t in _DISK_FULL_TEXTS):
            return _DRIVER_PREFIX.sub("", text)
        todo.extend([getattr(e, "orig", None), e.__cause__, e.__context__])
    return None


def sync_sources(session: Session, config: Config) -> None:
    """Make the sources table mirror sources.yaml: add new ones, update changed URLs and kinds.

    State (validators, failures, schedule) is kept; a source whose URL changed starts afresh."""
    existing = {s.name: s for s in session.exec(select(SourceState)).all()}
    for src in config.sources:
        row = existing.get(src.name)
        if row is None:
            session.add(SourceState(name=src.name, url=src.url, kind=src.kind, title=src.title,
                                    interval_seconds=src.interval))
            continue
        if row.url != src.url or row.kind != src.kind:
            row.url, row.kind = src.url, src.kind
            row.etag = row.last_modified = None
            row.next_check_at = utcnow()
            row.consecutive_failures, row.failing = 0, False
        row.title = src.title
        session.add(row)
    session.commit()


def get_source_state(session: Session, name: str) -> SourceState:
    row = session.exec(select(SourceState).where(SourceState.name == name)).first()
    if row is None:
        raise KeyError(f"source {name!r} is not in the database; run `scraper sources check`")
    return row


def due_source_names(session: Session, now: datetime, names: Iterable[str], limit: int = 100) -> list[str]:
    """Configured sources whose next check is due, oldest first."""
    stmt = (
        select(SourceState.name)
        .where(SourceState.next_check_at <= now, col(SourceState.name).in_(list(names)))
        .order_by(col(SourceState.next_check_at))
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def known_url_hashes(session: Session, hashes: list[str]) -> set[str]:
    """Which of ``hashes`` already belong to a stored article."""
    known: set[str] = set()
    for i in range(0, len(hashes), 500):  # keep the IN list bounded
        chunk = hashes[i : i + 500]
        known.update(session.exec(select(ArticleURL.url_hash).where(col(ArticleURL.url_hash).in_(chunk))).all())
    return known


def article_by_url_hashes(session: Session, hashes: list[str]) -> Article | None:
    stmt = (
        select(Article)
        .join(ArticleURL, col(ArticleURL.article_id) == col(Article.id))
        .where(col(ArticleURL.url_hash).in_(hashes))
    )
    return session.exec(stmt).first()


def add_url_aliases(session: Session, article_id: int, hashes: Iterable[str]) -> None:
    have = known_url_hashes(session, list(set(hashes)))
    for h in set(hashes) - have:
        session.add(ArticleURL(url_hash=h, article_id=article_id))


def story_by_content_hash(session: Session, content_hash: str, since: datetime) -> int | None:
    """The story of a recent article with the very same normalized body (an exact syndicated copy)."""
    stmt = (
        select(Article.story_id)
        .where(Article.content_hash == content_hash, Article.fetched_at >= since)
        .order_by(col(Article.id))
        .limit(1)
    )
    return session.exec(stmt).first()


def new_story(session: Session, source: str, title: str | None, seen_at: datetime) -> Story:
    story = Story(first_source=source, title=title, first_seen_at=seen_at)
    session.add(story)
    session.flush()
    return story


def join_story(session: Session, story_id: int) -> None:
    story = session.get(Story, story_id)
    if story is not None:
        story.article_count += 1
        session.add(story)


def revise_article(session: Session, article: Article, title: str | None, body: str, content_hash: str,
                   title_norm: str, body_norm: str) -> None:
    """Keep the old version as a revision and store the new one in place (an edit is not a new article)."""
    session.add(ArticleRevision(article_id=article.id or 0, revision=article.revision, title=article.title,
                                body=article.body, content_hash=article.content_hash))
    article.title, article.body, article.content_hash = title, body, content_hash
    article.title_norm, article.body_norm = title_norm, body_norm
    article.revision += 1
    article.updated_at = utcnow()
    session.add(article)


@dataclass(frozen=True)
class MatchRecord:
    rule: str
    terms: list[str]
    hits: list[dict[str, object]]
    snippet: str


@dataclass(frozen=True)
class AlertPolicy:
    """How a rule's alerts are delivered: at once, or gathered into hourly/daily digests."""

    mode: str = "immediate"
    throttle: int | None = None  # immediate alerts per hour per channel before the rest go to the digest


def digest_due(mode: str, created: datetime) -> datetime:
    """When the digest period containing ``created`` ends (UTC hour or day boundary)."""
    if mode == "hourly":
        return created.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return created.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def _mode_for(session: Session, rule: str, channel: str, policy: AlertPolicy, now: datetime) -> str:
    if policy.mode != "immediate" or policy.throttle is None:
        return policy.mode
    recent = session.exec(
        select(func.count()).select_from(Alert).where(
            Alert.rule == rule, Alert.channel == channel, Alert.mode == "immediate",
            Alert.created_at >= now - timedelta(hours=1))
    ).one()
    return "hourly" if recent >= policy.throttle else "immediate"


def add_match_and_alerts(session: Session, article: Article, match: MatchRecord, channels: list[str],
                         policy: AlertPolicy | None = None) -> int:
    """Record a match and queue one alert per channel unless this story was already alerted for
    (rule, channel). Returns how many alerts were queued."""
    policy = policy or AlertPolicy()
    now = utcnow()
    assert article.id is not None and article.story_id is not None
    row = RuleMatch(rule=match.rule, article_id=article.id, story_id=article.story_id,
                    terms=json.dumps(match.terms, ensure_ascii=False),
                    hits=json.dumps(match.hits, ensure_ascii=False), snippet=match.snippet)
    session.add(row)
    session.flush()
    queued = 0
    for channel in channels:
        exists = session.exec(
            select(Alert.id).where(Alert.rule == match.rule, Alert.story_id == article.story_id,
                                   Alert.channel == channel)
        ).first()
        if exists is not None:
            continue
        mode = _mode_for(session, match.rule, channel, policy, now)
        due = now if mode == "immediate" else digest_due(mode, now)
        session.add(Alert(key=alert_key(match.rule, article.story_id, channel), rule=match.rule,
                          channel=channel, story_id=article.story_id, article_id=article.id, match_id=row.id,
                          mode=mode, created_at=now, next_attempt_at=due))
        queued += 1
    return queued


def alert_key(rule: str, story_id: int, channel: str) -> str:
    """Idempotency key of an alert: stable for (rule, story, channel), sent to every receiver."""
    import hashlib

    return hashlib.sha256(f"{rule}\x1f{story_id}\x1f{channel}".encode()).hexdigest()[:32]


def log_fetch(session: Session, entry: FetchLog) -> None:
    session.add(entry)


def recent_new_article_count(session: Session, source: str, since: datetime) -> int:
    stmt = select(func.count()).select_from(Article).where(Article.source == source, Article.fetched_at >= since)
    return int(session.exec(stmt).one())


def story_outlets(session: Session, story_id: int) -> list[tuple[str, datetime, str]]:
    """(source, fetched_at, url) of every article in a story, earliest first."""
    stmt = (
        select(Article.source, Article.fetched_at, Article.url)
        .where(Article.story_id == story_id)
        .order_by(col(Article.fetched_at))
    )
    return [tuple(r) for r in session.exec(stmt).all()]  # type: ignore[misc]


def articles_since(session: Session, since: datetime | None, source: str | None, limit: int) -> list[Article]:
    stmt = select(Article)
    if since is not None:
        stmt = stmt.where(Article.fetched_at >= since)
    if source:
        stmt = stmt.where(Article.source == source)
    stmt = stmt.order_by(col(Article.fetched_at).desc(), col(Article.id).desc()).limit(limit)
    return list(session.exec(stmt).all())


def window_start(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)
