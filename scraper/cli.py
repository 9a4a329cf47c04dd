"""The `scraper` command line (Typer). Bad configuration exits with status 2 and a clear message."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import Engine

from scraper.config import Config, Settings, load_config, parse_duration
from scraper.errors import ConfigError, QuerySyntaxError, ScraperError
from scraper.logs import setup_logging

app = typer.Typer(help="Watch Arabic news sources, store every article, alert on tracked topics.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
sources_app = typer.Typer(help="Configured sources: validate, health, discovery.", no_args_is_help=True)
rules_app = typer.Typer(help="Rules: try a query on texts, backtest on stored articles.", no_args_is_help=True)
alerts_app = typer.Typer(help="The alert outbox.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")
app.add_typer(rules_app, name="rules")
app.add_typer(alerts_app, name="alerts")

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="sources.yaml (default $SCRAPER_CONFIG "
                                                "or ./sources.yaml)")]
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def handles_config_errors(fn: F) -> F:
    """Turn configuration and query errors into exit status 2 with the message, not a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ConfigError, QuerySyntaxError) as exc:
            raise fail(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def load(config: Path | None) -> tuple[Settings, Config]:
    settings = Settings.from_env()
    return settings, load_config(config or settings.config_path)


def engine_for(settings: Settings, migrate: bool = True) -> Engine:
    from scraper.store.db import is_migrated, make_engine, upgrade

    engine = make_engine(settings.database_url)
    if migrate and not is_migrated(engine):
        upgrade(settings.database_url)
    return engine


@asynccontextmanager
async def runtime(settings: Settings, config: Config, engine: Engine):  # type: ignore[no-untyped-def]
    from scraper.fetch.client import Fetcher
    from scraper.pipeline import Runtime
    from scraper.store import repo
    from scraper.store.db import session

    rules = Runtime.build_rules(config)
    with session(engine) as s:
        repo.sync_sources(s, config)
    async with Fetcher(settings) as fetcher:
        yield Runtime(settings=settings, config=config, engine=engine, fetcher=fetcher, rules=rules)


@app.command()
@handles_config_errors
def run(config: ConfigOpt = None,
        once: Annotated[bool, typer.Option("--once", help="One pass over every source, deliver, exit.")] = False
        ) -> None:
    """Run the daemon (or one pass with --once)."""
    setup_logging()
    settings, cfg = load(config)
    engine = engine_for(settings)

    async def main() -> None:
        from scraper.schedule.local import Daemon, run_once

        async with runtime(settings, cfg, engine) as rt:
            if once:
                await run_once(rt)
            else:
                await Daemon(rt).serve()

    asyncio.run(main())


@db_app.command("upgrade")
@handles_config_errors
def db_upgrade(revision: str = "head") -> None:
    """Apply database migrations (creates ./data/scraper.db by default)."""
    from scraper.store.db import upgrade

    settings = Settings.from_env()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {settings.masked()['database_url']} is at {revision}")


@db_app.command("downgrade")
@handles_config_errors
def db_downgrade(revision: str = typer.Argument(..., help="target revision, e.g. base")) -> None:
    """Revert migrations down to REVISION."""
    from scraper.store.db import downgrade

    downgrade(Settings.from_env().database_url, revision)
    typer.echo(f"downgraded to {revision}")


@sources_app.command("check")
@handles_config_errors
def sources_check(config: ConfigOpt = None) -> None:
    """Validate sources.yaml: schema, channels, rule queries."""
    from scraper.pipeline import Runtime

    _settings, cfg = load(config)
    try:
        Runtime.build_rules(cfg)
    except QuerySyntaxError as exc:
        rule = getattr(exc, "rule_name", "?")
        raise fail(f"rule {rule!r}: {exc}") from None
    typer.echo(f"ok: {len(cfg.sources)} sources, {len(cfg.rules)} rules, {len(cfg.channels)} channels")


@app.command()
@handles_config_errors
def search(
    query: str,
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    since: Annotated[str | None, typer.Option(help="e.g. 7d, 12h")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    fmt: Annotated[str, typer.Option("--format", help="table|json|jsonl|csv")] = "table",
) -> None:
    """Search stored articles with the rule query language."""
    from scraper.query import render_results, search_articles
    from scraper.store.tables import utcnow

    if fmt not in {"table", "json", "jsonl", "csv"}:
        raise fail(f"unknown format {fmt!r}: use table, json, jsonl or csv")
    settings = Settings.from_env()
    engine = engine_for(settings)
    since_dt = utcnow() - timedelta(seconds=parse_duration(since)) if since else None
    rows = search_articles(engine, query, source=source, since=since_dt, limit=limit)
    render_results(rows, fmt, sys.stdout)


@app.command()
def demo(keep: Annotated[bool, typer.Option(help="keep the demo site running until Ctrl-C")] = False) -> None:
    """The whole flow offline: a local Arabic demo news site, a temporary database, the example rule."""
    from scraper.demo.run import run_demo

    setup_logging(level="WARNING")
    raise typer.Exit(run_demo(keep=keep))


@app.command("config")
@handles_config_errors
def show_config() -> None:
    """Print the effective settings, secrets masked."""
    typer.echo(json.dumps(Settings.from_env().masked(), indent=2, ensure_ascii=False))


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except ScraperError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
