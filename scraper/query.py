"""Searching stored articles with the rule query language, and rendering results for the CLI.

The search engine lives in scraper/store/search.py (full-text prefilter, verified by the matcher
that fires alerts, so a search and an alert always agree); this module keeps the CLI's interface."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from datetime import datetime
from typing import TextIO

from sqlalchemy import Engine

from scraper.store import search
from scraper.store.search_results import SearchResult

__all__ = ["SearchResult", "render_results", "search_articles"]


def search_articles(engine: Engine, query: str, *, source: str | None = None, since: datetime | None = None,
                    limit: int = 20, **filters: object) -> list[SearchResult]:
    """The first ``limit`` articles matching ``query``, following cursors past the page-size cap.
    ``filters`` are those of scraper.store.search.search_articles (rule, story_id, language, until, sort,
    stories)."""
    out: list[SearchResult] = []
    cursor: str | None = None
    while len(out) < limit:
        page = search.search_articles(engine, query, source=source, since=since, cursor=cursor,  # type: ignore[arg-type]
                                      limit=min(limit - len(out), search.MAX_LIMIT), **filters)
        out.extend(page.results)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
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
    stories = any(r.outlets is not None for r in rows)
    for name in ("date", "source", *(["outlets"] if stories else []), "title", "url"):
        table.add_column(name, overflow="fold")
    for r in rows:
        extra = [str(r.outlets or 1)] if stories else []
        table.add_row((r.published_at or r.fetched_at)[:16], r.source, *extra, r.title or "", r.url)
    Console(file=out, width=160).print(table)
    out.write(f"{len(rows)} result(s)\n")
