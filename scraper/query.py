"""Searching stored articles with the rule query language, and rendering results for the CLI.

The matcher that fires alerts decides what a search returns, so a search and an alert always agree.
Articles are scanned newest first in batches until ``limit`` hits are found."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TextIO

from sqlalchemy import Engine
from sqlmodel import col, select

from scraper.match.matcher import match_query
from scraper.match.query import parse_query
from scraper.store.db import session as open_session
from scraper.store.tables import Article, as_utc

BATCH = 2000


@dataclass
class SearchResult:
    id: int
    url: str
    title: str | None
    source: str
    published_at: str | None
    fetched_at: str
    story_id: int | None
    terms: list[str]
    snippet: str


def _iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


def search_articles(engine: Engine, query: str, *, source: str | None = None, since: datetime | None = None,
                    limit: int = 20) -> list[SearchResult]:
    parse_query(query)  # syntax errors surface before any scanning
    results: list[SearchResult] = []
    before_id: int | None = None
    with open_session(engine) as s:
        while len(results) < limit:
            stmt = select(Article).order_by(col(Article.id).desc()).limit(BATCH)
            if before_id is not None:
                stmt = stmt.where(col(Article.id) < before_id)
            if source:
                stmt = stmt.where(Article.source == source)
            if since is not None:
                stmt = stmt.where(Article.fetched_at >= since)
            batch = list(s.exec(stmt).all())
            if not batch:
                break
            before_id = batch[-1].id
            results.extend(_matching(query, batch, limit - len(results)))
    return results


def _matching(query: str, batch: list[Article], room: int) -> list[SearchResult]:
    out: list[SearchResult] = []
    for art in batch:
        m = match_query(query, art.title or "", art.paragraphs)
        if m is None:
            continue
        out.append(SearchResult(id=art.id or 0, url=art.url, title=art.title, source=art.source,
                                published_at=_iso(art.published_at), fetched_at=_iso(art.fetched_at) or "",
                                story_id=art.story_id, terms=list(m.terms), snippet=m.snippet))
        if len(out) >= room:
            break
    return out


def render_results(rows: list[SearchResult], fmt: str, out: TextIO) -> None:
    dicts = [asdict(r) for r in rows]
    if fmt == "json":
        json.dump(dicts, out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif fmt == "jsonl":
        for d in dicts:
            out.write(json.dumps(d, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=list(SearchResult.__dataclass_fields__))
        writer.writeheader()
        for d in dicts:
            writer.writerow({**d, "terms": " ".join(d["terms"])})
    else:
        _render_table(rows, out)


def _render_table(rows: list[SearchResult], out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for name in ("date", "source", "title", "url"):
        table.add_column(name, overflow="fold")
    for r in rows:
        table.add_row((r.published_at or r.fetched_at)[:16], r.source, r.title or "", r.url)
    Console(file=out, width=160).print(table)
    out.write(f"{len(rows)} result(s)\n")
