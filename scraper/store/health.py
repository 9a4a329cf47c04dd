"""Source health: what `scraper sources status` prints and the API serves.

For each source: last success, last error and its class, whether it is failing, items per day, and
publication→stored latency (p50/p95) over a recent window, when pages give a date."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from statistics import quantiles

from sqlmodel import Session, col, select

from scraper.store.tables import Article, SourceState, as_utc, utcnow

WINDOW = timedelta(days=7)


@dataclass
class SourceHealth:
    name: str
    url: str
    kind: str
    status: str  # ok | failing | erroring | never-checked
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error_class: str | None
    last_error: str | None
    consecutive_failures: int
    next_check_at: datetime | None
    articles_total: int
    items_per_day: float
    latency_p50_s: float | None
    latency_p95_s: float | None
    last_warning_class: str | None = None  # extraction_empty | extraction_drift
    last_warning: str | None = None
    validators_unreliable: bool = False
    charset_fix: str | None = None  # the repair its pages need (mojibake:cp1252, charset:windows-1256)

    def as_dict(self) -> dict[str, object]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()}


def _latencies(session: Session, source: str, since: datetime) -> list[float]:
    rows = session.exec(
        select(Article.published_at, Article.fetched_at)
        .where(Article.source == source, Article.fetched_at >= since, col(Article.published_at).is_not(None))
    ).all()
    out = []
    for published, fetched in rows:
        delta = (as_utc(fetched) - as_utc(published)).total_seconds()  # type: ignore[operator]
        if 0 <= delta < 30 * 86400:  # a date in the future or a month old is an extraction problem, not latency
            out.append(delta)
    return out


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], values[0]
    cuts = quantiles(values, n=20, method="inclusive")
    return cuts[9], cuts[18]


def _status(state: SourceState) -> str:
    if state.last_checked_at is None:
        return "never-checked"
    if state.failing:
        return "failing"
    return "erroring" if state.consecutive_failures else "ok"


def source_health(session: Session, names: list[str] | None = None, now: datetime | None = None) -> list[SourceHealth]:
    now = now or utcnow()
    since = now - WINDOW
    stmt = select(SourceState).order_by(col(SourceState.name))
    if names is not None:
        stmt = stmt.where(col(SourceState.name).in_(names))
    out = []
    for st in session.exec(stmt).all():
        recent = session.exec(
            select(Article.id).where(Article.source == st.name, Article.fetched_at >= since)
        ).all()
        p50, p95 = _percentiles(_latencies(session, st.name, since))
        out.append(SourceHealth(
            name=st.name, url=st.url, kind=st.kind, status=_status(st), last_checked_at=st.last_checked_at,
            last_success_at=st.last_success_at, last_error_at=st.last_error_at,
            last_error_class=st.last_error_class, last_error=st.last_error,
            consecutive_failures=st.consecutive_failures, next_check_at=st.next_check_at,
            articles_total=st.articles_total, items_per_day=round(len(recent) / WINDOW.days, 2),
            latency_p50_s=p50, latency_p95_s=p95, last_warning_class=st.last_warning_class,
            last_warning=st.last_warning, validators_unreliable=st.validators_unreliable,
            charset_fix=st.charset_fix,
        ))
    return out
