"""Full-text search over stored articles, with the rule query language and the rule matcher.

How a search runs: the query AST becomes a full-text prefilter (scraper/store/search_fts.py: FTS5
on SQLite, a GIN-indexed tsvector on PostgreSQL) that returns candidate articles, newest first; each
candidate is verified with the real matcher (scraper/store/search_verify.py), so what a search
returns is exactly what a rule with that query fires on, on either database. Queries the index
cannot narrow (NOT-only, ``A OR NOT B``) scan articles newest first instead; any search stops after
:data:`MAX_SCAN` candidates and then returns a cursor to continue from where it stopped, so one
request has a bounded cost even when a page comes back short.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Row
from sqlmodel import col

from scraper.store.search_fts import Filter, has_positions, positional_toks, prefilter, prune
from scraper.store.search_pg import positional_clause
from scraper.store.search_results import Cursor, SearchPage, SearchResult, decode_cursor, encode_cursor, iso
from scraper.store.search_sql import (
    Filters,
    after,
    before,
    candidates,
    filter_clauses,
    fulltext_clause,
    outlet_counts,
    present_spellings,
    sqlite_hits,
)
from scraper.store.search_verify import Verifier, make_verifier
from scraper.store.tables import Article

MAX_LIMIT = 200
MAX_QUERY_CHARS = 1000
MAX_SCAN = 5000  # candidates verified per request
RELEVANCE_POOL = 1000  # relevance ranks the newest matches up to this many

__all__ = ["MAX_LIMIT", "MAX_QUERY_CHARS", "SearchPage", "SearchResult", "search_articles"]


class _Search:
    """One request: the connection, the SQL conditions and the verifier."""

    def __init__(self, conn: Connection, where: list[ColumnElement[bool]], verify: Verifier) -> None:
        self.conn = conn
        self.where = where
        self.verify = verify
        self.scanned = 0
        self.last_key: tuple[datetime, int] | None = None  # of the last candidate looked at

    def stream(self, start: tuple[datetime, int] | None, first_batch: int) -> Iterator[tuple[Row[Any], Any]]:
        """(row, verdict) for matching candidates newest first; stops at MAX_SCAN candidates."""
        key, batch = start, first_batch
        while self.scanned < MAX_SCAN:
            where = [*self.where, before(*key)] if key else self.where
            rows = self.conn.execute(candidates(where, min(batch, MAX_SCAN - self.scanned))).all()
            for row in rows:
                self.scanned += 1
                self.last_key = key = (row.sort_date, row.id)
                verdict = self.verify(row.title or "", _paragraphs(row.body))
                if verdict is not None:
                    yield row, verdict
            if len(rows) < batch:
                return
            batch = min(batch * 4, 1000)  # few candidates fail verification; grow only when they do

    def shown_earlier(self, row: Row[Any]) -> bool:
        """Does a newer article of this story also match (so it represents the story)?"""
        where = [*self.where, col(Article.story_id) == row.story_id, after(row.sort_date, row.id)]
        sibs = self.conn.execute(candidates(where, 50)).all()
        return any(self.verify(s.title or "", _paragraphs(s.body)) is not None for s in sibs)


def _paragraphs(body: str) -> list[str]:
    return [p for p in body.split("\n") if p.strip()]


def _result(row: Row[Any], verdict: Any, score: bool = False) -> SearchResult:
    return SearchResult(
        id=row.id, url=row.url, title=row.title, source=row.source, published_at=iso(row.published_at),
        fetched_at=iso(row.fetched_at) or "", story_id=row.story_id, terms=list(verdict.terms),
        snippet=verdict.snippet, language=row.language, score=verdict.score if score else None)


def _by_date(s: _Search, limit: int, cursor: Cursor | None, stories: bool) -> SearchPage:
    start = (cursor.date, cursor.id) if cursor and cursor.date else None
    rows: list[Row[Any]] = []
    results: list[SearchResult] = []
    seen: set[int] = set()
    for row, verdict in s.stream(start, limit + 1):
        if stories and row.story_id is not None:
            if row.story_id in seen or s.shown_earlier(row):
                continue
            seen.add(row.story_id)
        if len(results) == limit:  # one more match exists: there is a next page
            last = rows[-1]
            return SearchPage(results, encode_cursor(Cursor("date", last.sort_date, last.id)))
        rows.append(row)
        results.append(_result(row, verdict))
    if s.scanned >= MAX_SCAN and s.last_key is not None:  # stopped early: continue where the scan stopped
        key = (rows[-1].sort_date, rows[-1].id) if len(results) == limit else s.last_key
        return SearchPage(results, encode_cursor(Cursor("date", *key)))
    return SearchPage(results, None)


def _by_relevance(s: _Search, limit: int, cursor: Cursor | None, stories: bool) -> SearchPage:
    pool: list[SearchResult] = []
    keys: dict[int, tuple[datetime, int]] = {}
    for row, verdict in s.stream(None, 100):
        pool.append(_result(row, verdict, score=True))
        keys[row.id] = (row.sort_date, row.id)
        if len(pool) >= RELEVANCE_POOL:
            break
    pool.sort(key=lambda r: (-(r.score or 0.0), -keys[r.id][0].timestamp(), -r.id))
    if stories:
        seen: set[int] = set()
        pool = [r for r in pool if r.story_id is None or not (r.story_id in seen or seen.add(r.story_id))]
    offset = cursor.offset if cursor else 0
    page = pool[offset : offset + limit]
    more = offset + limit < len(pool)
    return SearchPage(page, encode_cursor(Cursor("relevance", offset=offset + limit)) if more else None)


def _add_outlets(conn: Connection, page: SearchPage) -> None:
    ids = sorted({r.story_id for r in page.results if r.story_id is not None})
    counts = {sid: n for sid, n in conn.execute(outlet_counts(ids)).all()} if ids else {}
    for r in page.results:
        r.outlets = counts.get(r.story_id, 1) if r.story_id is not None else 1


def _fulltext(conn: Connection, flt: Filter) -> ColumnElement[bool]:
    if conn.dialect.name != "sqlite":
        return positional_clause(conn, flt) if has_positions(flt) else fulltext_clause("postgresql", flt)
    flt = prune(flt, present_spellings(conn, positional_toks(flt)))
    hits = sqlite_hits(conn, flt)
    return fulltext_clause("sqlite", flt) if hits is None else col(Article.id).in_(hits)


def _check_args(query: str, sort: str, limit: int) -> None:
    if len(query) > MAX_QUERY_CHARS:
        raise ValueError(f"query is longer than {MAX_QUERY_CHARS} characters")
    if sort not in ("date", "relevance"):
        raise ValueError(f"sort must be 'date' or 'relevance', not {sort!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")


def search_articles(engine: Engine, query: str, *, source: str | None = None, rule: str | None = None,
                    story_id: int | None = None, language: str | None = None, since: datetime | None = None,
                    until: datetime | None = None, sort: str = "date", limit: int = 20, cursor: str | None = None,
                    stories: bool = False) -> SearchPage:
    """Articles matching ``query`` (empty: every article) and the filters, one page at a time.

    Raises QuerySyntaxError (with the position) for a bad query and ValueError for a bad argument
    or cursor. ``since`` is inclusive and ``until`` exclusive, on the article date.
    """
    _check_args(query, sort, limit)
    parsed, verify = make_verifier(query)
    start = decode_cursor(cursor, sort) if cursor else None
    where = filter_clauses(Filters(source, rule, story_id, language, since, until))
    with engine.connect() as conn:
        flt = prefilter(parsed.root) if parsed is not None else None
        if flt is not None:
            where.append(_fulltext(conn, flt))
        s = _Search(conn, where, verify)
        page = (_by_date if sort == "date" else _by_relevance)(s, limit, start, stories)
        if stories:
            _add_outlets(conn, page)
    return page

