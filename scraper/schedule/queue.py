"""Many nodes: the pipeline as Procrastinate jobs on PostgreSQL (``scraper worker``).

Tasks:
- ``scraper.tick`` (periodic, every tick_seconds): Procrastinate defers it once per period whatever the
  number of workers (a unique row per period in procrastinate_periodic_defers). It picks due sources,
  oldest first, at most ``host_cap`` refreshes in flight per host across all workers, and defers one
  ``scraper.refresh`` job per source with a queueing lock (never two waiting) and a lock (never two
  running) per source.
- ``scraper.refresh``: ``refresh_source`` — the same pipeline function ``scraper run`` calls.
- ``scraper.deliver`` (periodic, and deferred after a refresh that queued alerts): the outbox dispatcher;
  it leases rows, so concurrent deliveries are safe.
- ``scraper.retry_stalled`` (periodic): jobs left "doing" by a worker that stopped heartbeating (kill -9,
  lost machine) go back to "todo"; periodic jobs are marked failed instead, their next period runs anyway.

At-least-once is safe because every write is idempotent (unique URL hash; one alert per rule, story and
channel). Politeness: the per-host cap here bounds refreshes in flight per host across workers; within a
worker the Fetcher's per-host limiter bounds requests, so a host never sees more than
host_cap × per_host_concurrency requests at once.

Procrastinate's objects live in the ``procrastinate`` schema (alembic revision 0003_procrastinate);
every connection of the connector has it first on its search_path.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status
from sqlalchemy import Engine, text

from scraper import metrics
from scraper.alert.outbox import deliver_due
from scraper.config import Settings
from scraper.fetch.politeness import host_key
from scraper.logs import log_event
from scraper.ops.lock import libpq_url
from scraper.pipeline import Runtime, refresh_source
from scraper.store import repo
from scraper.store.db import session as open_session
from scraper.store.tables import utcnow

SCHEMA = "procrastinate"
TICK, REFRESH, DELIVER, RETRY_STALLED = "scraper.tick", "scraper.refresh", "scraper.deliver", "scraper.retry_stalled"
PERIODIC_TASKS = frozenset({TICK, DELIVER, RETRY_STALLED})
HOST_CAP = 2  # refreshes in flight per host, across all workers
MAX_DEFERS_PER_TICK = 500
DELIVER_SECONDS = 15
CONTROL_PRIORITY = 10  # ticks, deliveries and stalled-job checks jump the queue of refreshes
STALLED_AFTER = 30.0  # seconds without a worker heartbeat before its running jobs count as stalled


@dataclass(frozen=True)
class QueueOptions:
    tick_seconds: float = 30.0
    host_cap: int = HOST_CAP
    stalled_after: float = STALLED_AFTER

    @property
    def retry_stalled_seconds(self) -> float:
        """Look for stalled jobs a few times per ``stalled_after``, but not more than every 2 s."""
        return max(2.0, min(60.0, self.stalled_after / 3))


def cron_every(seconds: float) -> str:
    """A Procrastinate cron (6th field = seconds) firing every ``seconds``, rounded down to a period cron
    can express: a divisor of 60 below a minute, whole minutes dividing 60 above, hourly at most."""
    s = max(1, round(seconds))
    if s < 60:
        step = max(d for d in range(1, s + 1) if 60 % d == 0)
        return f"* * * * * */{step}"
    if s >= 3600:
        return "0 * * * *"  # hourly at most: a tick is cheap, and due sources wait for it
    minutes = max(d for d in range(1, s // 60 + 1) if 60 % d == 0)
    return f"*/{minutes} * * * *"


def pick_due(due: Iterable[tuple[str, str]], busy: Counter[str], cap: int, limit: int) -> list[tuple[str, str]]:
    """From (source, host) pairs in due order, the ones to start now: at most ``cap`` in flight per host
    counting those already running (``busy``), at most ``limit`` in all. Pure, so it is table-tested."""
    load = Counter(busy)
    picked: list[tuple[str, str]] = []
    for name, host in due:
        if len(picked) >= limit:
            break
        if load[host] < cap:
            load[host] += 1
            picked.append((name, host))
    return picked


def make_connector(database_url: str, max_size: int = 10) -> PsycopgConnector:
    return PsycopgConnector(conninfo=libpq_url(database_url), min_size=1, max_size=max_size,
                            kwargs={"options": f"-c search_path={SCHEMA},public"})


def _rt(context: JobContext) -> Runtime:
    rt = (context.additional_context or {}).get("rt")
    if not isinstance(rt, Runtime):
        raise RuntimeError("the worker was started without a Runtime in additional_context['rt']")
    return rt


async def _in_flight(app: App) -> dict[str, str]:
    """Sources with a refresh job waiting or running → their host."""
    rows = await app.connector.execute_query_all_async(
        "SELECT args FROM procrastinate_jobs WHERE task_name = %(task)s AND status IN ('todo', 'doing')",
        task=REFRESH)
    return {r["args"]["source"]: r["args"].get("host", "") for r in rows}


async def _tick_already_ran(app: App, timestamp: int, job_id: int | None) -> bool:
    """Whether a tick for this period already finished. Procrastinate defers a period once, but it
    forgets old periods as soon as a newer one is deferred, so a worker whose deferrer lags (a busy
    event loop, a one-second tick) can defer an old period again. Ticks run one at a time (lock), so
    this check and the work that follows cannot race with another tick."""
    rows = await app.connector.execute_query_all_async(
        "SELECT 1 FROM procrastinate_jobs WHERE task_name = %(task)s AND args->>'timestamp' = %(ts)s "
        "AND status = 'succeeded' AND id <> %(id)s LIMIT 1", task=TICK, ts=str(timestamp), id=job_id or 0)
    return bool(rows)


async def run_tick(app: App, rt: Runtime, opts: QueueOptions, now: datetime | None = None,
                   timestamp: int | None = None) -> list[str]:
    """Defer refresh jobs for due sources; returns the sources deferred."""
    started = time.monotonic()
    now = now or utcnow()
    in_flight = await _in_flight(app)
    hosts = {s.name: host_key(s.url) for s in rt.config.sources if s.enabled}
    candidates = [n for n in hosts if n not in in_flight]
    with open_session(rt.engine) as s:
        due = repo.due_source_names(s, now, candidates, limit=len(candidates) or 1)
    picked = pick_due(((n, hosts[n]) for n in due), Counter(in_flight.values()), opts.host_cap,
                      MAX_DEFERS_PER_TICK)
    deferred = []
    for name, host in picked:
        try:
            await app.configure_task(REFRESH, queueing_lock=f"refresh:{name}", lock=f"source:{name}"
                                     ).defer_async(source=name, host=host)
            deferred.append(name)
        except AlreadyEnqueued:
            pass  # a retried stalled job got there first: same work, nothing to add
    metrics.observe_tick(time.monotonic() - started)
    log_event("queue.tick", timestamp=timestamp, due=len(due), in_flight=len(in_flight), deferred=len(deferred))
    return deferred


async def retry_stalled(app: App, stalled_after: float) -> int:
    manager = app.job_manager
    count = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            if job.task_name in PERIODIC_TASKS:
                await manager.finish_job(job, Status.FAILED, delete_job=False)
            else:
                await manager.retry_job(job)
            count += 1
        except Exception:  # one odd job (already finished by a slow worker) must not stop the rest
            log_event("queue.retry_stalled_error", logging.WARNING, exc_info=True, job_id=job.id, task=job.task_name)
    if count:
        log_event("queue.retried_stalled", logging.WARNING, jobs=count)
    return count


def build_app(database_url: str, opts: QueueOptions | None = None, max_pool: int = 10) -> App:
    """The Procrastinate app with the scraper's tasks. Workers and deferrers build it the same way, so
    the task names agree."""
    opts = opts or QueueOptions()
    app = App(connector=make_connector(database_url, max_pool), periodic_defaults={"max_delay": 120})

    @app.periodic(cron=cron_every(opts.tick_seconds))
    @app.task(name=TICK, pass_context=True, queueing_lock="tick", lock="tick", priority=CONTROL_PRIORITY)
    async def tick(context: JobContext, timestamp: int) -> None:
        if await _tick_already_ran(app, timestamp, context.job.id):
            log_event("queue.tick_skipped", timestamp=timestamp)
            return
        await run_tick(app, _rt(context), opts, timestamp=timestamp)

    @app.task(name=REFRESH, pass_context=True)
    async def refresh(context: JobContext, source: str, host: str = "") -> dict[str, Any]:
        rt = _rt(context)
        report = await refresh_source(rt, rt.config.source(source))
        if report.alerts_queued:
            # AlreadyEnqueued: a delivery is already waiting, and it will take these alerts too.
            with suppress(AlreadyEnqueued):
                await deliver.configure(queueing_lock="deliver").defer_async(timestamp=0)
        return {"outcome": report.outcome, "new": report.new_articles, "alerts": report.alerts_queued}

    @app.periodic(cron=cron_every(DELIVER_SECONDS))
    @app.task(name=DELIVER, pass_context=True, queueing_lock="deliver", priority=CONTROL_PRIORITY)
    async def deliver(context: JobContext, timestamp: int = 0) -> None:
        rt = _rt(context)
        await deliver_due(rt.settings, rt.config, rt.engine)

    @app.periodic(cron=cron_every(opts.retry_stalled_seconds))
    @app.task(name=RETRY_STALLED, queueing_lock="retry_stalled", priority=CONTROL_PRIORITY)
    async def retry_stalled_task(timestamp: int) -> None:
        await retry_stalled(app, opts.stalled_after)

    return app


def options_from(settings: Settings, host_cap: int = HOST_CAP, stalled_after: float = STALLED_AFTER) -> QueueOptions:
    return QueueOptions(tick_seconds=settings.tick_seconds, host_cap=host_cap, stalled_after=stalled_after)


def last_tick_at(engine: Engine) -> datetime | None:
    """When a tick job last finished, for ``/healthz``'s heartbeat when workers do the scheduling:
    ``Ops(engine, heartbeat=lambda: last_tick_at(engine))``."""
    with engine.connect() as conn:
        return conn.execute(text(
            f"SELECT max(e.at) FROM {SCHEMA}.procrastinate_events e "
            f"JOIN {SCHEMA}.procrastinate_jobs j ON j.id = e.job_id "
            "WHERE j.task_name = :task AND e.type = 'succeeded'"), {"task": TICK}).scalar()


def job_counts(engine: Engine) -> list[tuple[str, str, int]]:
    """(task, status, count) for ``scraper queue status``."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            f"SELECT task_name, status::text, count(*) FROM {SCHEMA}.procrastinate_jobs "
            "GROUP BY 1, 2 ORDER BY 1, 2")).all()
    return [(r[0], r[1], int(r[2])) for r in rows]
