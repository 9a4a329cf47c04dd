"""One-node scheduling: APScheduler 3 AsyncIOScheduler runs two cheap periodic jobs (no job per feed):
a tick that refreshes due sources (by ``next_check_at``) and the outbox dispatcher.

SIGTERM/SIGINT stop new work, let in-flight refreshes finish (within a deadline) and exit 0."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from contextlib import suppress

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scraper import metrics
from scraper.alert.outbox import deliver_due
from scraper.logs import log_event
from scraper.pipeline import RefreshReport, Runtime, refresh_source
from scraper.store import repo, stories
from scraper.store.db import session as open_session
from scraper.store.tables import utcnow

MAX_CONCURRENT_SOURCES = 8
SHUTDOWN_DEADLINE = 30.0


async def run_once(rt: Runtime) -> dict[str, int]:
    """Refresh every enabled source once, then deliver what is due. Returns totals."""
    sources = [s for s in rt.config.sources if s.enabled]
    sem = asyncio.Semaphore(MAX_CONCURRENT_SOURCES)

    async def one(src):  # type: ignore[no-untyped-def]
        async with sem:
            return await refresh_source(rt, src)

    prune_indexes(rt)
    results = await asyncio.gather(*(one(s) for s in sources), return_exceptions=True)
    reports = []
    for src, res in zip(sources, results, strict=True):
        if isinstance(res, BaseException):  # recorded on the source by refresh_source; the pass goes on
            log_event("source.crash", logging.ERROR, source=src.name, url=src.url, error=repr(res))
            res = RefreshReport(source=src.name, outcome="error", error_class="internal", error=repr(res))
        reports.append(res)
    delivered = await deliver_due(rt.settings, rt.config, rt.engine)
    totals = {
        "sources": len(reports),
        "errors": sum(r.outcome == "error" for r in reports),
        "new_articles": sum(r.new_articles for r in reports),
        "updated_articles": sum(r.updated_articles for r in reports),
        "alerts_queued": sum(r.alerts_queued for r in reports),
        "alerts_sent": delivered.sent,
        "alerts_retrying": delivered.retrying,
        "alerts_deferred": delivered.deferred,
        "alerts_failed": delivered.dead,
    }
    log_event("pass.done", **totals)
    return totals


def prune_indexes(rt: Runtime) -> None:
    """Keep the near-duplicate index bounded to its time window."""
    with open_session(rt.engine) as s:
        removed = stories.prune(s, utcnow())
        s.commit()
    if removed:
        log_event("stories.pruned", band_keys=removed)


def _log_job_failure(job: str, exc: Exception) -> None:
    """A full disk is the machine's state, not a bug: one classified line, no traceback; the job
    runs again on its next period."""
    cause = repo.disk_full_cause(exc)
    if cause is not None:
        log_event(f"{job}.error", logging.WARNING, error_class="disk_full", error=cause)
    else:
        log_event(f"{job}.crash", logging.ERROR, exc_info=exc)


class Daemon:
    """The long-running scheduler with graceful shutdown."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.in_flight: set[asyncio.Task[object]] = set()
        self.running: set[str] = set()
        self.stopping = asyncio.Event()
        self.heartbeat = utcnow()

    async def tick(self) -> None:
        """Start a refresh for every due source not already running (oldest due first)."""
        self.heartbeat = utcnow()
        started = time.monotonic()
        try:
            self._start_due()
        finally:
            metrics.observe_tick(time.monotonic() - started)

    def _start_due(self) -> None:
        if self.stopping.is_set():
            return
        now = utcnow()
        names = [s.name for s in self.rt.config.sources
                 if s.enabled and s.name not in self.running and not self.rt.is_held(s.name, now)]
        with open_session(self.rt.engine) as s:
            due = repo.due_source_names(s, now, names,
                                        limit=MAX_CONCURRENT_SOURCES - len(self.running))
        for name in due:
            self.running.add(name)
            task = asyncio.create_task(self._refresh(name))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    async def _refresh(self, name: str) -> None:
        try:
            await refresh_source(self.rt, self.rt.config.source(name))
        except Exception:
            log_event("source.crash", logging.ERROR, exc_info=True, source=name)
        finally:
            self.running.discard(name)
            if not self.stopping.is_set():
                self._start_due()  # keep the pipeline full instead of waiting for the next tick

    async def deliver(self) -> None:
        try:
            await deliver_due(self.rt.settings, self.rt.config, self.rt.engine)
        except Exception as exc:
            _log_job_failure("outbox", exc)

    def prune(self) -> None:
        try:
            prune_indexes(self.rt)
        except Exception as exc:
            _log_job_failure("stories.prune", exc)

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError):
                loop.add_signal_handler(sig, self.stopping.set)
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(self.tick, "interval", seconds=self.rt.settings.tick_seconds, id="tick",
                          max_instances=1, coalesce=True, next_run_time=utcnow())
        scheduler.add_job(self.deliver, "interval", seconds=min(15.0, self.rt.settings.tick_seconds),
                          id="deliver", max_instances=1, coalesce=True)
        scheduler.add_job(self.prune, "interval", hours=1, id="prune", max_instances=1,
                          coalesce=True, next_run_time=utcnow())
        scheduler.start()
        log_event("daemon.started", sources=len(self.rt.config.sources), rules=len(self.rt.config.rules))
        await self.stopping.wait()
        log_event("daemon.stopping", in_flight=len(self.in_flight))
        scheduler.shutdown(wait=False)
        if self.in_flight:
            _done, pending = await asyncio.wait(set(self.in_flight), timeout=SHUTDOWN_DEADLINE)
            for task in pending:
                task.cancel()
        await self.deliver()
        log_event("daemon.stopped")
