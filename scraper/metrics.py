"""Prometheus metrics: one registry for the process, small ``observe_*`` functions the pipeline, the
outbox and the schedulers call, and ``render`` for ``/metrics``.

The outbox gauges are computed from the database when scraped (not kept in memory), so they are right
whichever process queued or delivered the alerts. Counters are per process: with several workers, each
worker exposes its own (``scraper worker --metrics-port``) and Prometheus sums them.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import Engine, func
from sqlmodel import col, select

from scraper.store.db import session as open_session
from scraper.store.tables import Alert, as_utc, utcnow

REGISTRY = CollectorRegistry(auto_describe=True)

FETCHES = Counter("scraper_fetches", "Source checks by outcome (ok, not_modified, error) and error class.",
                  ["source", "outcome", "error_class"], registry=REGISTRY)
FETCH_SECONDS = Histogram("scraper_fetch_duration_seconds", "Time to check one source, end to end.",
                          ["outcome"], registry=REGISTRY,
                          buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
ARTICLES = Counter("scraper_articles", "Articles stored, by source and kind (new, updated).",
                   ["source", "kind"], registry=REGISTRY)
MATCHES = Counter("scraper_matches", "Rule matches on new articles.", ["rule"], registry=REGISTRY)
ALERTS = Counter("scraper_alerts", "Alert delivery attempts by channel and result (sent, retrying, dead).",
                 ["channel", "status"], registry=REGISTRY)
TICK_SECONDS = Histogram("scraper_tick_duration_seconds", "Time one scheduler tick takes to pick due sources.",
                         registry=REGISTRY, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
# Publication → alert sent: what a user actually waits. Wide buckets: a source polled every 10 minutes
# adds up to 10 minutes on its own.
ALERT_LATENCY = Histogram("scraper_alert_latency_seconds", "Article publication time to alert sent.",
                          registry=REGISTRY,
                          buckets=(30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, 86400))
OUTBOX_DEPTH = Gauge("scraper_outbox_pending", "Alerts waiting for delivery (computed at scrape time).",
                     registry=REGISTRY)
OUTBOX_OLDEST = Gauge("scraper_outbox_oldest_pending_seconds",
                      "Age of the oldest pending alert, 0 when none (computed at scrape time).", registry=REGISTRY)


def observe_fetch(source: str, outcome: str, error_class: str | None, seconds: float) -> None:
    """One source check: ``outcome`` is ok | not_modified | error."""
    FETCHES.labels(source=source, outcome=outcome, error_class=error_class or "").inc()
    FETCH_SECONDS.labels(outcome=outcome).observe(max(0.0, seconds))


def observe_articles(source: str, new: int, updated: int) -> None:
    if new:
        ARTICLES.labels(source=source, kind="new").inc(new)
    if updated:
        ARTICLES.labels(source=source, kind="updated").inc(updated)


def observe_refresh(report: object, seconds: float) -> None:
    """Everything a RefreshReport says, in one call (scraper.pipeline.RefreshReport; duck-typed so this
    module does not import the pipeline)."""
    source = str(getattr(report, "source", ""))
    observe_fetch(source, str(getattr(report, "outcome", "ok")), getattr(report, "error_class", None), seconds)
    observe_articles(source, int(getattr(report, "new_articles", 0)), int(getattr(report, "updated_articles", 0)))


def observe_match(rule: str, count: int = 1) -> None:
    MATCHES.labels(rule=rule).inc(count)


def observe_alert(channel: str, status: str, published_at: datetime | None = None,
                  sent_at: datetime | None = None) -> None:
    """One delivery attempt; ``status`` is sent | retrying | dead. On ``sent`` with the article's
    publication time, records the publication→alert latency (clock skew can make it negative: dropped)."""
    ALERTS.labels(channel=channel, status=status).inc()
    if status == "sent" and published_at is not None:
        latency = ((as_utc(sent_at) or utcnow()) - as_utc(published_at)).total_seconds()  # type: ignore[operator]
        if latency >= 0:
            ALERT_LATENCY.observe(latency)


def observe_tick(seconds: float) -> None:
    TICK_SECONDS.observe(max(0.0, seconds))


def outbox_state(engine: Engine, now: datetime | None = None) -> tuple[int, float]:
    """(pending alerts, age in seconds of the oldest one or 0)."""
    now = now or utcnow()
    with open_session(engine) as s:
        count, oldest = s.exec(
            select(func.count(col(Alert.id)), func.min(Alert.created_at)).where(Alert.status == "pending")
        ).one()
    age = (now - as_utc(oldest)).total_seconds() if oldest is not None else 0.0  # type: ignore[operator]
    return int(count), max(0.0, age)


def render(engine: Engine | None) -> tuple[bytes, str]:
    """The exposition text and its content type. The outbox gauges are refreshed first when an engine
    is given; a database error leaves them at their last value (``/healthz`` reports the database)."""
    if engine is not None:
        try:
            depth, oldest = outbox_state(engine)
        except Exception:  # metrics must still be served when the database is down
            pass
        else:
            OUTBOX_DEPTH.set(depth)
            OUTBOX_OLDEST.set(oldest)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
