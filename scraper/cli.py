"""The `scraper` command line (Typer). Bad configuration exits with status 2 and a clear message."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from scraper.cli_common import fail, handles_config_errors
from scraper.config import Config, Settings, load_config, parse_duration
from scraper.errors import ScraperError
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
    # The rule index is built once and lives as long as the process: move it (and the imports) out of
    # the garbage collector's generations, so full collections stop re-scanning millions of objects.
    gc.collect()
    gc.freeze()
    with session(engine) as s:
        repo.sync_sources(s, config)
    async with Fetcher(settings, global_concurrency=settings.global_concurrency,
                       per_host_concurrency=settings.per_host_concurrency,
                       per_host_delay=settings.per_host_delay) as fetcher:
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

    if once:
        asyncio.run(_run_once(settings, cfg, engine))
        return
    from scraper.ops.lock import scheduler_lock

    if settings.scheduler == "queue":  # workers schedule; this process only serves the API and pages
        asyncio.run(_serve_only(settings, cfg, engine))
        return
    with scheduler_lock(settings.database_url):
        _check_port_free(settings)
        asyncio.run(_run_daemon(settings, cfg, engine))


def _check_port_free(settings: Settings) -> None:
    """Fail at start with a clear message rather than after the scheduler is up."""
    import socket

    from scraper.errors import ConfigError

    if not settings.web_port:
        return
    with socket.socket(socket.AF_INET6 if ":" in settings.web_host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((settings.web_host, settings.web_port))
        except OSError as exc:
            raise ConfigError(f"cannot serve the web page on {settings.web_host}:{settings.web_port}: {exc.strerror} "
                              "(set SCRAPER_WEB_PORT to another port, or 0 to turn the web server off)") from exc


async def _run_once(settings: Settings, cfg: Config, engine: Engine) -> None:
    from scraper.schedule.local import run_once

    async with runtime(settings, cfg, engine) as rt:
        await run_once(rt)


async def _run_daemon(settings: Settings, cfg: Config, engine: Engine) -> None:
    """The scheduler and, on SCRAPER_WEB_PORT, the API and pages, in one event loop."""
    from scraper.schedule.local import Daemon
    from scraper.web.app import create_app, serve_web

    async with runtime(settings, cfg, engine) as rt:
        daemon = Daemon(rt)
        web = None
        if settings.web_port:
            app_ = create_app(settings, cfg, engine, host=settings.web_host, heartbeat=lambda: daemon.heartbeat)
            web = asyncio.create_task(serve_web(app_, settings.web_host, settings.web_port, daemon.stopping))
        await daemon.serve()
        if web is not None:
            await web


async def _serve_only(settings: Settings, cfg: Config, engine: Engine) -> None:
    import signal

    from scraper.schedule.queue import last_tick_at
    from scraper.web.app import create_app, serve_web

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app_ = create_app(settings, cfg, engine, host=settings.web_host, heartbeat=lambda: last_tick_at(engine))
    _check_port_free(settings)
    await serve_web(app_, settings.web_host, settings.web_port or 8080, stop)


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
    from scraper.cli_rules import print_collisions, resolve_rule
    from scraper.pipeline import Runtime

    _settings, cfg = load(config)
    Runtime.build_rules(cfg)
    for rule in cfg.rules:
        print_collisions(resolve_rule(rule.name, cfg, None, []))
    typer.echo(f"ok: {len(cfg.sources)} sources, {len(cfg.rules)} rules, {len(cfg.channels)} channels")


def _ago(value: object) -> str:
    from scraper.store.tables import as_utc, utcnow

    if value is None:
        return "—"
    secs = (utcnow() - as_utc(value)).total_seconds()  # type: ignore[operator,arg-type]
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(secs) >= size:
            return f"{secs / size:.0f}{unit} ago"
    return f"{secs:.0f}s ago"


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 3600:.1f}h" if value >= 3600 else f"{value / 60:.0f}m"


@sources_app.command("status")
@handles_config_errors
def sources_status(config: ConfigOpt = None,
                   fmt: Annotated[str, typer.Option("--format", help="table|json")] = "table") -> None:
    """Health of every configured source: last success, last error, items/day, latency."""
    from rich.console import Console
    from rich.table import Table

    from scraper.store import repo
    from scraper.store.db import session
    from scraper.store.health import source_health

    settings, cfg = load(config)
    engine = engine_for(settings)
    with session(engine) as s:
        repo.sync_sources(s, cfg)
        rows = source_health(s, [src.name for src in cfg.sources])
    if fmt == "json":
        typer.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2))
        return
    table = Table()
    for col_name in ("source", "status", "last success", "last error", "items/day", "latency p50/p95", "next"):
        table.add_column(col_name, overflow="fold")
    for r in rows:
        err = "—"
        if r.last_error_class:
            err = f"{r.last_error_class} {_ago(r.last_error_at)}: {(r.last_error or '')[:60]}"
        if r.last_warning_class:
            err += f" · warning {r.last_warning_class}: {(r.last_warning or '')[:40]}"
        table.add_row(r.name, r.status, _ago(r.last_success_at), err, f"{r.items_per_day:g}",
                      f"{_fmt_seconds(r.latency_p50_s)} / {_fmt_seconds(r.latency_p95_s)}", _ago(r.next_check_at))
    Console(width=200).print(table)


@alerts_app.command("list")
@handles_config_errors
def alerts_list(status: Annotated[str | None, typer.Option(help="pending|sent|failed")] = None,
                limit: Annotated[int, typer.Option(min=1)] = 50,
                fmt: Annotated[str, typer.Option("--format", help="table|json")] = "table") -> None:
    """List alerts in the outbox, newest first."""
    from sqlmodel import col, select

    from scraper.store.db import session
    from scraper.store.tables import Alert

    if status not in {None, "pending", "sent", "failed"}:
        raise fail(f"unknown status {status!r}: use pending, sent or failed")
    engine = engine_for(Settings.from_env())
    with session(engine) as s:
        stmt = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
        if status:
            stmt = stmt.where(Alert.status == status)
        rows = list(s.exec(stmt).all())
    if fmt == "json":
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=2))
        return
    for r in rows:
        typer.echo(f"{r.id:>6}  {r.status:<8} {r.rule:<20} {r.channel:<12} attempts={r.attempts} "
                   f"story={r.story_id} {(r.last_error or '')[:80]}")
    typer.echo(f"{len(rows)} alert(s)")


@alerts_app.command("retry")
@handles_config_errors
def alerts_retry(alert_id: Annotated[int | None, typer.Argument(help="alert id")] = None,
                 failed: Annotated[bool, typer.Option("--failed", help="every failed (dead-letter) alert")] = False
                 ) -> None:
    """Put a failed alert (or every failed one) back in the queue for immediate delivery."""
    from sqlmodel import select

    from scraper.store.db import session
    from scraper.store.tables import Alert, utcnow

    if (alert_id is None) == (not failed):
        raise fail("give an alert ID or --failed")
    engine = engine_for(Settings.from_env())
    with session(engine) as s:
        stmt = select(Alert).where(Alert.status == "failed") if failed else select(Alert).where(Alert.id == alert_id)
        rows = list(s.exec(stmt).all())
        if not rows and alert_id is not None:
            raise fail(f"no alert with id {alert_id}", code=1)
        for r in rows:
            r.status, r.attempts, r.next_attempt_at = "pending", 0, utcnow()
            s.add(r)
        s.commit()
    typer.echo(f"{len(rows)} alert(s) queued again")


channels_app = typer.Typer(help="Alert channels: state, enable and disable.", no_args_is_help=True)
app.add_typer(channels_app, name="channels")


@channels_app.command("list")
@handles_config_errors
def channels_list(config: ConfigOpt = None) -> None:
    """Configured channels, whether they are enabled, and their pending alerts."""
    from sqlmodel import func, select

    from scraper.alert.outbox import disabled_channels
    from scraper.store.db import session
    from scraper.store.tables import Alert

    settings, cfg = load(config)
    engine = engine_for(settings)
    disabled = disabled_channels(engine)
    with session(engine) as s:
        for name, ch in cfg.channels.items():
            pending = s.exec(select(func.count()).select_from(Alert).where(
                Alert.channel == name, Alert.status == "pending")).one()
            state = f"DISABLED: {disabled[name]}" if name in disabled else "enabled"
            typer.echo(f"{name:<16} {ch.type:<8} {state}  pending={pending}")


@channels_app.command("enable")
@handles_config_errors
def channels_enable(name: str) -> None:
    """Enable a channel (after a 410 disabled it); its waiting alerts go out on the next delivery."""
    from scraper.alert.outbox import set_channel_disabled

    released = set_channel_disabled(engine_for(Settings.from_env()), name, False)
    typer.echo(f"channel {name} enabled; {released} waiting alert(s) due now")


@channels_app.command("disable")
@handles_config_errors
def channels_disable(name: str, reason: Annotated[str, typer.Option(help="shown in channels list")] = "by hand"
                     ) -> None:
    """Stop delivering to a channel; its alerts wait until it is enabled."""
    from scraper.alert.outbox import set_channel_disabled

    set_channel_disabled(engine_for(Settings.from_env()), name, True, reason)
    typer.echo(f"channel {name} disabled")


@app.command()
@handles_config_errors
def extract(target: str, source: Annotated[str | None, typer.Option(help="use this source's selectors")] = None,
            config: ConfigOpt = None,
            fmt: Annotated[str, typer.Option("--format", help="text|json")] = "text") -> None:
    """Show what the extractor gets from one page (URL or FILE), to tune selectors."""
    from scraper.extract.article import extract_article

    selectors = None
    if source:
        _settings, cfg = load(config)
        try:
            selectors = cfg.source(source).selectors
        except KeyError:
            raise fail(f"no source named {source!r} in the config") from None
    body, url, ctype = _read_target(target)
    try:
        draft = extract_article(body, url, selectors, content_type=ctype)
    except ScraperError as exc:
        raise fail(f"{target}: {exc}", code=1) from None
    out = {"title": draft.title, "author": draft.author,
           "published": draft.published_at.isoformat() if draft.published_at else None,
           "canonical_url": draft.canonical_url, "paragraphs": draft.paragraphs, "method": draft.method}
    if fmt == "json":
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for key in ("title", "author", "published", "canonical_url"):
        typer.echo(f"{key}: {out[key] or '—'}  [{draft.method.get(key if key != 'published' else 'published_at', '')}]")
    typer.echo(f"paragraphs: {len(draft.paragraphs)}  [{draft.method.get('paragraphs', '')}]\n")
    for p in draft.paragraphs:
        typer.echo(p + "\n")


def _read_target(target: str) -> tuple[bytes, str, str | None]:
    """A local file, or a URL fetched with the same limits as the daemon."""
    path = Path(target)
    if path.exists():
        return path.read_bytes(), path.resolve().as_uri(), None
    if not target.startswith(("http://", "https://")):
        raise fail(f"{target}: no such file, and not an http(s) URL")
    from scraper.fetch.client import Fetcher

    async def get() -> tuple[bytes, str, str | None]:
        async with Fetcher(Settings.from_env()) as f:
            r = await f.fetch(target)
            return r.content, r.url, r.headers.get("content-type")

    try:
        return asyncio.run(get())
    except ScraperError as exc:
        raise fail(f"{target}: {exc.error_class}: {exc}", code=1) from None


@app.command()
@handles_config_errors
def search(
    query: str,
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    since: Annotated[str | None, typer.Option(help="e.g. 7d, 12h")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    fmt: Annotated[str, typer.Option("--format", help="table|json|jsonl|csv")] = "table",
    rule: Annotated[str | None, typer.Option(help="only articles this rule fired on")] = None,
    story: Annotated[int | None, typer.Option(help="only this story's articles")] = None,
    lang: Annotated[str | None, typer.Option(help="language, e.g. ar")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="ISO date/time (inclusive)")] = None,
    to: Annotated[str | None, typer.Option(help="ISO date/time (exclusive)")] = None,
    sort: Annotated[str, typer.Option(help="date|relevance")] = "date",
    stories: Annotated[bool, typer.Option("--stories", help="one line per story, with its outlet count")] = False,
) -> None:
    """Search stored articles with the rule query language (the one rules use)."""
    from scraper.query import render_results, search_articles
    from scraper.store.tables import utcnow

    if fmt not in {"table", "json", "jsonl", "csv"}:
        raise fail(f"unknown format {fmt!r}: use table, json, jsonl or csv")
    settings = Settings.from_env()
    engine = engine_for(settings)
    if sort not in {"date", "relevance"}:
        raise fail(f"unknown sort {sort!r}: use date or relevance")
    since_dt = utcnow() - timedelta(seconds=parse_duration(since)) if since else _iso_arg(from_, "--from")
    try:
        rows = search_articles(engine, query, source=source, since=since_dt, limit=limit, rule=rule,
                               story_id=story, language=lang, until=_iso_arg(to, "--to"), sort=sort, stories=stories)
    except ValueError as exc:
        raise fail(str(exc)) from None
    render_results(rows, fmt, sys.stdout)


def _iso_arg(value: str | None, name: str):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{name} {value!r} is not an ISO date, e.g. 2026-11-01 or 2026-11-01T08:00+03:00") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


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


def _optional_config() -> Config | None:
    """The configured sources.yaml when it exists (rules can then be named), else None."""
    path = Path(Settings.from_env().config_path)
    return load_config(path) if path.exists() else None


def _register_modules() -> None:
    from scraper.cli_rules import register as register_rules

    register_rules(rules_app, _optional_config, handles_config_errors)
    from scraper.cli_sources import register as register_sources

    register_sources(sources_app, handles_config_errors)
    from scraper import cli_ops, cli_web

    cli_web.register(app)
    cli_ops.register(app)


_register_modules()


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except ScraperError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
