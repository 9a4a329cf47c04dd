"""Read-only queries behind the API and web pages: one article, stories, a rule's matches, alerts.

Lists are newest first with an id keyset (``before`` = the last id shown), so pages stay stable
while the daemon writes. Normalized text never leaves this module: it is for matching only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import col, select

from scraper.store.db import session
from scraper.store.search_results import iso
from scraper.store.tables import Alert, Article, RuleMatch, Story, utcnow


@dataclass
class ArticleRef:
    id: int
    title: str | None
    source: str
    url: str
    published_at: str | None
    fetched_at: str


@dataclass
class ArticleView:
    id: int
    url: str
    canonical_url: str
    source: str
    title: str | None
    author: str | None
    paragraphs: list[str]
    language: str | None
    published_at: str | None
    fetched_at: str
    updated_at: str | None
    revision: int
    story_id: int | None
    matches: list[dict[str, Any]] = field(default_factory=list)
    siblings: list[ArticleRef] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ref(a: Article) -> ArticleRef:
    return ArticleRef(a.id or 0, a.title, a.source, a.url, iso(a.published_at), iso(a.fetched_at) or "")


def _story_articles(s: Any, story_id: int) -> list[Article]:
    stmt = select(Article).where(Article.story_id == story_id).order_by(col(Article.fetched_at), col(Article.id))
    return list(s.exec(stmt).all())


def get_article(engine: Engine, article_id: int) -> ArticleView | None:
    with session(engine) as s:
        a = s.get(Article, article_id)
        if a is None:
            return None
        matches = s.exec(select(RuleMatch).where(RuleMatch.article_id == article_id)
                         .order_by(col(RuleMatch.rule))).all()
        siblings = [_ref(x) for x in _story_articles(s, a.story_id) if x.id != a.id] if a.story_id else []
        return ArticleView(
            id=a.id or 0, url=a.url, canonical_url=a.canonical_url, source=a.source, title=a.title, author=a.author,
            paragraphs=a.paragraphs, language=a.language, published_at=iso(a.published_at),
            fetched_at=iso(a.fetched_at) or "", updated_at=iso(a.updated_at), revision=a.revision,
            story_id=a.story_id, siblings=siblings,
            matches=[{"rule": m.rule, "terms": json.loads(m.terms), "snippet": m.snippet,
                      "matched_at": iso(m.matched_at)} for m in matches])


def _story_dict(st: Story, outlets: int) -> dict[str, Any]:
    return {"id": st.id, "title": st.title, "first_source": st.first_source, "first_seen_at": iso(st.first_seen_at),
            "article_count": st.article_count, "outlets": outlets}


def list_stories(engine: Engine, limit: int, before: int | None = None) -> list[dict[str, Any]]:
    with session(engine) as s:
        stmt = select(Story).order_by(col(Story.id).desc()).limit(limit)
        if before is not None:
            stmt = stmt.where(col(Story.id) < before)
        stories = list(s.exec(stmt).all())
        ids = [st.id for st in stories]
        counts = dict(s.exec(select(Article.story_id, func.count(func.distinct(Article.source)))
                             .where(col(Article.story_id).in_(ids)).group_by(col(Article.story_id))).all())
        return [_story_dict(st, counts.get(st.id, 0)) for st in stories]


def get_story(engine: Engine, story_id: int) -> dict[str, Any] | None:
    with session(engine) as s:
        st = s.get(Story, story_id)
        if st is None:
            return None
        articles = _story_articles(s, story_id)
        out = _story_dict(st, len({a.source for a in articles}))
        out["articles"] = [asdict(_ref(a)) for a in articles]
        return out


def rule_matches(engine: Engine, rule: str, limit: int, before: int | None = None) -> list[dict[str, Any]]:
    with session(engine) as s:
        stmt = (select(RuleMatch, Article).join(Article, col(Article.id) == col(RuleMatch.article_id))
                .where(RuleMatch.rule == rule).order_by(col(RuleMatch.id).desc()).limit(limit))
        if before is not None:
            stmt = stmt.where(col(RuleMatch.id) < before)
        return [{"id": m.id, "rule": m.rule, "article": asdict(_ref(a)), "story_id": m.story_id,
                 "terms": json.loads(m.terms), "snippet": m.snippet, "matched_at": iso(m.matched_at)}
                for m, a in s.exec(stmt).all()]


def rule_stats(engine: Engine) -> dict[str, tuple[int, str | None]]:
    """Per rule: (matches stored, time of the last one)."""
    with session(engine) as s:
        rows = s.exec(select(RuleMatch.rule, func.count(), func.max(RuleMatch.matched_at)).group_by(RuleMatch.rule))
        return {rule: (n, iso(last)) for rule, n, last in rows.all()}


def matches_per_day(engine: Engine, rule: str, days: int = 30, now: datetime | None = None) -> list[tuple[str, int]]:
    """(YYYY-MM-DD, matches) for each of the last ``days`` days, oldest first, zeros included."""
    today = (now or utcnow()).date()
    first = today - timedelta(days=days - 1)
    counts: dict[str, int] = {}
    with session(engine) as s:
        since = datetime.combine(first, datetime.min.time(), tzinfo=(now or utcnow()).tzinfo)
        stamps = s.exec(select(RuleMatch.matched_at).where(RuleMatch.rule == rule, RuleMatch.matched_at >= since))
        for t in stamps.all():
            day = (iso(t) or "")[:10]
            counts[day] = counts.get(day, 0) + 1
    return [((first + timedelta(days=k)).isoformat(), counts.get((first + timedelta(days=k)).isoformat(), 0))
            for k in range(days)]


def list_alerts(engine: Engine, limit: int, before: int | None = None, rule: str | None = None,
                status: str | None = None) -> list[dict[str, Any]]:
    with session(engine) as s:
        stmt = (select(Alert, Article).join(Article, col(Article.id) == col(Alert.article_id))
                .order_by(col(Alert.id).desc()).limit(limit))
        if before is not None:
            stmt = stmt.where(col(Alert.id) < before)
        if rule:
            stmt = stmt.where(Alert.rule == rule)
        if status:
            stmt = stmt.where(Alert.status == status)
        return [{"id": al.id, "rule": al.rule, "channel": al.channel, "status": al.status, "attempts": al.attempts,
                 "story_id": al.story_id, "article": asdict(_ref(a)), "created_at": iso(al.created_at),
                 "sent_at": iso(al.sent_at), "last_error": al.last_error} for al, a in s.exec(stmt).all()]
