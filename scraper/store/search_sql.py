"""SQL for search candidates: filters, the full-text prefilter per dialect, keyset order by date.

The article date is ``coalesce(published_at, fetched_at)`` (an article without a page date is
dated when it was stored); migration 0002_search indexes exactly this expression with the id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select, text
from sqlmodel import col

from scraper.store.search_fts import Filter, Tok, to_fts5, to_tsquery
from scraper.store.tables import Article, RuleMatch

article_date = func.coalesce(Article.published_at, Article.fetched_at)

COLUMNS = (
    col(Article.id), col(Article.url), col(Article.title), col(Article.body), col(Article.source),
    col(Article.published_at), col(Article.fetched_at), col(Article.story_id), col(Article.language),
    article_date.label("sort_date"),
)


@dataclass(frozen=True)
class Filters:
    source: str | None = None
    rule: str | None = None
    story_id: int | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None


FTS_IDS = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :fts"
DENSE = 1000  # FTS hits from which walking the date index beats sorting the hits


def sqlite_hits(conn: Connection, flt: Filter) -> list[int] | None:
    """Every article the prefilter hits, or None when it hits DENSE or more (FTS5 streams rowids,
    so the LIMIT stops early). The candidate queries then look the hits up by id instead of running
    the full-text query again for each batch: a NEAR query is 12-24 NEAR groups over long doclists
    (~15 ms at 200,000 articles), and a page whose candidates the matcher rejects takes 2-3 batches."""
    sql = text(f"{FTS_IDS} LIMIT {DENSE}").bindparams(fts=to_fts5(flt))
    hits = list(conn.execute(sql).scalars().all())
    return None if len(hits) >= DENSE else hits


def present_spellings(conn: Connection, toks: set[Tok]) -> set[Tok]:
    """Which of ``toks`` occur in some article: one statement, an FTS5 lookup that stops at the
    first hit per spelling (about 0.1 ms each)."""
    ordered = sorted(toks, key=lambda t: (t.text, t.prefix))
    if not ordered:
        return set()
    parts = [f"SELECT {i} WHERE EXISTS (SELECT 1 FROM articles_fts WHERE articles_fts MATCH :t{i})"
             for i in range(len(ordered))]
    params = {f"t{i}": to_fts5(t) for i, t in enumerate(ordered)}
    found = conn.execute(text(" UNION ALL ".join(parts)).bindparams(**params)).scalars().all()
    return {ordered[i] for i in found}


def fulltext_clause(dialect: str, flt: Filter) -> ColumnElement[bool]:
    """The prefilter as a WHERE condition, for many hits (few are looked up by id: sqlite_hits).

    SQLite: the unary ``+`` keeps the planner from driving the query by id, so it walks
    ix_articles_sort_date newest first and stops after a page; otherwise it reads every hit's row
    (the dates sit after the body, past its overflow pages) to sort them: 460 ms instead of ~10 ms
    for a common word at 200,000 articles."""
    if dialect == "sqlite":
        return text(f"+articles.id IN ({FTS_IDS})").bindparams(fts=to_fts5(flt))
    return text("articles.search_tsv @@ CAST(:tsq AS tsquery)").bindparams(tsq=to_tsquery(flt))


def filter_clauses(f: Filters) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if f.source:
        out.append(col(Article.source) == f.source)
    if f.language:
        out.append(col(Article.language) == f.language)
    if f.story_id is not None:
        out.append(col(Article.story_id) == f.story_id)
    if f.rule:
        out.append(col(Article.id).in_(select(RuleMatch.article_id).where(RuleMatch.rule == f.rule)))
    if f.since is not None:
        out.append(article_date >= f.since)
    if f.until is not None:
        out.append(article_date < f.until)
    return out


def before(date: datetime, article_id: int) -> ColumnElement[bool]:
    """Strictly after (date, id) in newest-first order; the redundant ``<=`` lets the index range-scan."""
    return and_(article_date <= date, or_(article_date < date, col(Article.id) < article_id))


def after(date: datetime, article_id: int) -> ColumnElement[bool]:
    """Strictly before (date, id) in newest-first order (shown earlier)."""
    return and_(article_date >= date, or_(article_date > date, col(Article.id) > article_id))


def candidates(where: list[ColumnElement[bool]], limit: int) -> Select:  # type: ignore[type-arg]
    return select(*COLUMNS).where(*where).order_by(article_date.desc(), col(Article.id).desc()).limit(limit)


def outlet_counts(story_ids: list[int]) -> Select:  # type: ignore[type-arg]
    return (select(col(Article.story_id), func.count(func.distinct(Article.source)))
            .where(col(Article.story_id).in_(story_ids)).group_by(col(Article.story_id)))
