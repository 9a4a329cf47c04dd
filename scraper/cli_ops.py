"""Operations commands: ``worker`` (scale-out over PostgreSQL), ``doctor``, and ``queue status``.

Wired into the main CLI by ``register(app)``; imports of the heavier modules stay inside the commands so
``scraper --help`` stays fast."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from scraper.cli_common import fail, handles_config_errors

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="sources.yaml (default $SCRAPER_CONFIG "
                                                "or ./sources.yaml)")]


def _require_postgres(database_url: str, what: str) -> None:
    from scraper.ops.lock import is_postgres

    if not is_postgres(database_url):
        raise fail(f"{what} needs PostgreSQL (DATABASE_URL=postgresql://...); with SQLite, `scraper run` "
                   "is the scheduler and there is no job queue")


def _sync_sources(engine, cfg) -> None:  # type: ignore[no-untyped-def]
    """Mirror sources.yaml into the database. Workers started together race to insert the same new
    sources; the loser's unique-name violation means the rows exist now, so it syncs again."""
    from sqlalchemy.exc import IntegrityError

    from scraper.store import repo
    from scraper.store.db import session

    for attempt in range(3):
        try:
            with session(engine) as s:
                repo.sync_sources(s, cfg)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def worker(
    config: ConfigOpt = None,
    concurrency: Annotated[int, typer.Option(min=1, help="jobs run at once by this worker")] = 4,
    name: Annotated[str | None, typer.Option(help="worker name in logs")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="serve this worker's /metrics on this port")] = None,
    heartbeat: Annotated[float, typer.Option(min=0.1, help="seconds between worker heartbeats")] = 10.0,
    stalled_after: Annotated[float, typer.Option(
        min=1.0, help="seconds without a heartbeat before a worker's running jobs are retried")] = 30.0,
) -> None:
    """Run a queue worker (PostgreSQL): ticks, source refreshes and alert delivery as jobs. Run several."""
    from scraper.cli import engine_for, load, runtime
    from scraper.logs import setup_logging
    from scraper.schedule.queue import build_app, options_from

    setup_logging()
    settings, cfg = load(config)
    _require_postgres(settings.database_url, "scraper worker")
    engine = engine_for(settings)
    _sync_sources(engine, cfg)
    if metrics_port:
        from prometheus_client import start_http_server

        from scraper.metrics import REGISTRY

        start_http_server(metrics_port, registry=REGISTRY)
    opts = options_from(settings, stalled_after=stalled_after)

    async def main() -> None:
        async with runtime(settings, cfg, engine) as rt:
            app = build_app(settings.database_url, opts, max_pool=concurrency + 4)
            async with app.open_async():
                await app.run_worker_async(
                    concurrency=concurrency, name=name, additional_context={"rt": rt},
                    update_heartbeat_interval=heartbeat, stalled_worker_timeout=stalled_after,
                    shutdown_graceful_timeout=30.0, install_signal_handlers=True)

    asyncio.run(main())


def doctor(fmt: Annotated[str, typer.Option("--format", help="table|json")] = "table") -> None:
    """Check settings, sources.yaml, database, migrations, SMTP and source hosts; exit 1 if broken."""
    from scraper.ops.doctor import is_broken, run_doctor

    findings = run_doctor()
    if fmt == "json":
        typer.echo(json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table()
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column, overflow="fold")
        style = {"ok": "green", "warn": "yellow", "fail": "bold red"}
        for f in findings:
            table.add_row(f.check, f"[{style[f.status]}]{f.status}[/]", f.detail, f.fix)
        Console(width=200).print(table)
    if is_broken(findings):
        raise typer.Exit(1)


def queue_status(fmt: Annotated[str, typer.Option("--format", help="table|json")] = "table") -> None:
    """Jobs in the queue by task and status (PostgreSQL)."""
    from scraper.config import Settings
    from scraper.schedule.queue import job_counts
    from scraper.store.db import make_engine

    settings = Settings.from_env()
    _require_postgres(settings.database_url, "scraper queue")
    engine = make_engine(settings.database_url)
    try:
        rows = job_counts(engine)
    finally:
        engine.dispose()
    if fmt == "json":
        typer.echo(json.dumps([{"task": t, "status": s, "jobs": n} for t, s, n in rows], indent=2))
        return
    for task, status, count in rows:
        typer.echo(f"{task:<24} {status:<10} {count:>8}")
    typer.echo(f"{sum(n for _t, _s, n in rows)} job(s)")


def queue_retry_stalled(after: Annotated[float, typer.Option(
        min=1.0, help="seconds without a worker heartbeat")] = 30.0) -> None:
    """Put jobs of dead workers back in the queue now (workers also do this every few seconds)."""
    from scraper.config import Settings
    from scraper.schedule.queue import build_app, retry_stalled

    settings = Settings.from_env()
    _require_postgres(settings.database_url, "scraper queue")

    async def main() -> int:
        app = build_app(settings.database_url, max_pool=2)
        async with app.open_async():
            return await retry_stalled(app, after)

    typer.echo(f"{asyncio.run(main())} stalled job(s) requeued")


def register(app: typer.Typer) -> None:
    """Add ``worker``, ``doctor`` and the ``queue`` group to the main CLI."""
    app.command()(handles_config_errors(worker))
    app.command()(doctor)
    queue_app = typer.Typer(help="The PostgreSQL job queue used by `scraper worker`.", no_args_is_help=True)
    queue_app.command("status")(handles_config_errors(queue_status))
    queue_app.command("retry-stalled")(handles_config_errors(queue_retry_stalled))
    app.add_typer(queue_app, name="queue")
