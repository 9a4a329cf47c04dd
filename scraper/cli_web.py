"""`scraper web` (serve the API, pages and feeds) and `scraper export` (search results to a file).

Wire into scraper/cli.py with ``cli_web.register(app)``."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TextIO

import typer

from scraper.cli_common import fail, handles_config_errors
from scraper.config import parse_duration

EXPORT_FORMATS = ("jsonl", "json", "csv", "atom", "rss")


def web(config: Annotated[Path | None, typer.Option("--config", "-c", help="sources.yaml")] = None,
        host: Annotated[str, typer.Option(help="bind address; beyond loopback needs SCRAPER_API_TOKEN")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535)] = 8080) -> None:
    """Serve the JSON API, the web pages and the feeds (uvicorn)."""
    from scraper.cli import engine_for, load
    from scraper.logs import setup_logging
    from scraper.web.app import create_app, run_web

    setup_logging()
    settings, cfg = load(config)
    app = create_app(settings, cfg, engine_for(settings), host=host)
    typer.echo(f"serving on http://{host}:{port}/ (API docs at /api/docs)", err=True)
    run_web(app, host, port)


def _write(rows: list, fmt: str, out: TextIO, query: str) -> None:  # type: ignore[type-arg]
    from scraper.query import render_results
    from scraper.web.feeds import Entry, atom, rss, search_entry

    if fmt in ("atom", "rss"):
        entries: list[Entry] = [search_entry(r) for r in rows]
        title = f"scraper: {query}"
        body = atom(title, "urn:scraper:export", "urn:scraper:export", entries) if fmt == "atom" else rss(
            title, "http://127.0.0.1/", f"نتائج البحث عن {query}", entries)
        out.write(body.decode("utf-8"))
    else:
        render_results(rows, fmt, out)


def export(query: Annotated[str, typer.Argument(help="query (rule language); empty exports every article")] = "",
           source: Annotated[str | None, typer.Option(help="only this source")] = None,
           rule: Annotated[str | None, typer.Option(help="only articles this rule fired on")] = None,
           since: Annotated[str | None, typer.Option(help="e.g. 7d, 12h")] = None,
           limit: Annotated[int, typer.Option(min=1, max=1_000_000)] = 10_000,
           fmt: Annotated[str, typer.Option("--format", help="jsonl|json|csv|atom|rss")] = "jsonl",
           output: Annotated[Path | None, typer.Option("--output", "-o", help="file (default stdout)")] = None) -> None:
    """Export the articles a search returns (newest first), following cursors up to --limit."""
    export_cmd(query, source, rule, since, limit, fmt, output)


@handles_config_errors
def export_cmd(query: str, source: str | None, rule: str | None, since: str | None, limit: int, fmt: str,
               output: Path | None) -> None:
    from scraper.cli import engine_for
    from scraper.config import Settings
    from scraper.store.search import MAX_LIMIT, search_articles
    from scraper.store.tables import utcnow

    if fmt not in EXPORT_FORMATS:
        raise fail(f"unknown format {fmt!r}: use {', '.join(EXPORT_FORMATS)}")
    engine = engine_for(Settings.from_env())
    since_dt = utcnow() - timedelta(seconds=parse_duration(since)) if since else None
    rows: list = []  # type: ignore[type-arg]
    cursor = None
    while len(rows) < limit:
        page = search_articles(engine, query, source=source, rule=rule, since=since_dt, cursor=cursor,
                               limit=min(MAX_LIMIT, limit - len(rows)))
        rows.extend(page.results)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    if output is None:
        _write(rows, fmt, sys.stdout, query)
    else:
        with output.open("w", encoding="utf-8", newline="") as fh:
            _write(rows, fmt, fh, query)
        typer.echo(f"{len(rows)} article(s) written to {output}", err=True)


def register(app: typer.Typer) -> None:
    """Add `web` and `export` to the `scraper` command line."""
    app.command("web")(handles_config_errors(web))
    app.command("export")(export)
