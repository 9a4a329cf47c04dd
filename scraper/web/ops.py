"""Operations endpoints: ``/healthz`` (for Docker's HEALTHCHECK and load balancers) and ``/metrics``
(Prometheus).

The app that includes ``router`` puts an ``Ops`` on ``app.state.ops``; it carries the engine and,
in the process that runs the scheduler, a callable returning the scheduler's last heartbeat::

    app.state.ops = Ops(engine=engine, heartbeat=lambda: daemon.heartbeat,
                        heartbeat_max_age=heartbeat_max_age(settings.tick_seconds))
    app.include_router(ops.router)

A process without a scheduler (the API alone) passes ``heartbeat=None`` and that check is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text
from sqlmodel import col, select

from scraper import metrics
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, as_utc, utcnow

OUTBOX_STUCK_AFTER = 600.0  # seconds a due alert may wait without a single attempt before we call it stuck

router = APIRouter(tags=["ops"])


def heartbeat_max_age(tick_seconds: float) -> float:
    """How old the scheduler's heartbeat may be: three missed ticks, and never under a minute (a tick
    can be delayed by a slow database without anything being wrong)."""
    return max(60.0, 3 * tick_seconds)


@dataclass
class Ops:
    engine: Engine
    heartbeat: Callable[[], datetime | None] | None = None
    heartbeat_max_age: float = 90.0
    outbox_stuck_after: float = OUTBOX_STUCK_AFTER


@dataclass
class Check:
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail}


def get_ops(request: Request) -> Ops:
    ops = getattr(request.app.state, "ops", None)
    if not isinstance(ops, Ops):
        raise RuntimeError("app.state.ops is not set: create the app with an Ops (see scraper.web.ops)")
    return ops


def check_database(engine: Engine) -> Check:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to talk to the database is the finding
        return Check(False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    return Check(True, "reachable")


def check_heartbeat(heartbeat: Callable[[], datetime | None], max_age: float, now: datetime) -> Check:
    beat = as_utc(heartbeat())
    if beat is None:
        return Check(False, "the scheduler has not ticked yet")
    age = (now - beat).total_seconds()
    if age > max_age:
        return Check(False, f"last scheduler tick {age:.0f}s ago (limit {max_age:.0f}s)")
    return Check(True, f"last tick {age:.1f}s ago")


def check_outbox(engine: Engine, stuck_after: float, now: datetime) -> Check:
    """Stuck = an alert due for longer than ``stuck_after`` that nobody has tried to send. Alerts that
    are retrying after failures are not stuck (the receiver is down; that is the outbox working)."""
    limit = now - timedelta(seconds=stuck_after)
    try:
        with open_session(engine) as s:
            oldest = s.exec(
                select(Alert.next_attempt_at).where(Alert.status == "pending", Alert.attempts == 0,
                                                    col(Alert.next_attempt_at) <= limit)
                .order_by(col(Alert.next_attempt_at)).limit(1)
            ).first()
    except Exception as exc:
        return Check(False, f"cannot read the outbox: {type(exc).__name__}")
    if oldest is not None:
        age = (now - as_utc(oldest)).total_seconds()  # type: ignore[operator]
        return Check(False, f"an alert has been due for {age:.0f}s without a delivery attempt; "
                            "is a dispatcher (scraper run or scraper worker) running?")
    return Check(True, "no alert waiting without an attempt")


def run_checks(ops: Ops, now: datetime | None = None) -> dict[str, Check]:
    now = now or utcnow()
    checks = {"database": check_database(ops.engine)}
    if ops.heartbeat is not None:
        checks["scheduler"] = check_heartbeat(ops.heartbeat, ops.heartbeat_max_age, now)
    if checks["database"].ok:
        checks["outbox"] = check_outbox(ops.engine, ops.outbox_stuck_after, now)
    return checks


@router.get("/healthz")
def healthz(ops: Ops = Depends(get_ops)) -> JSONResponse:
    """200 when every check passes, else 503; the body lists every check and the failing ones."""
    checks = run_checks(ops)
    failing = sorted(name for name, c in checks.items() if not c.ok)
    body = {"status": "unhealthy" if failing else "ok", "failing": failing,
            "checks": {name: c.as_dict() for name, c in checks.items()}}
    return JSONResponse(body, status_code=503 if failing else 200)


@router.get("/metrics")
def prometheus_metrics(ops: Ops = Depends(get_ops)) -> Response:
    payload, content_type = metrics.render(ops.engine)
    return Response(content=payload, media_type=content_type)
