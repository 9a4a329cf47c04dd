"""The JSON API under /api. Read-only; every list is newest first with a cursor for the next page.

Every route declares its response model and the error bodies it can answer with (400 for a query
syntax error or a bad value, 404 for a missing item, 422 for parameters outside their declared
range), so /api/openapi.json describes exactly what comes back (tests/integration/test_api_schema.py
holds the API to it with schemathesis).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from scraper.config import Config, parse_duration
from scraper.store import search_browse as browse
from scraper.store.db import session
from scraper.store.health import source_health
from scraper.store.search import MAX_LIMIT, MAX_QUERY_CHARS, search_articles
from scraper.store.tables import utcnow

router = APIRouter(prefix="/api", tags=["api"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")]
# Ids are INTEGER columns: 32-bit on PostgreSQL, where binding a larger number to a query fails (a
# 500 before); no larger id can exist on either database, so they are refused as out of range (422).
MAX_ID = 2**31 - 1
Before = Annotated[int | None, Query(ge=1, le=MAX_ID, description="cursor: the next_cursor of the previous page")]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


# -- response bodies (the OpenAPI schema) ------------------------------------------------------------

class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str


class ErrorBody(BaseModel):
    """Every error: ``query_syntax`` (with the position), ``bad_request``, ``invalid_request`` (with
    the parameters at fault), ``http_error``, ``unauthorized``, ``internal``."""

    error: str
    message: str
    position: int | None = Field(default=None, description="query_syntax: where the query went wrong")
    detail: list[ErrorDetail] | None = Field(default=None, description="invalid_request: each parameter at fault")


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "query syntax error or bad value", 404: "no such item", 422: "parameter out of its declared range"}
    return {code: {"model": ErrorBody, "description": text[code]} for code in codes}


class SearchHit(BaseModel):
    id: int
    url: str
    title: str | None
    source: str
    published_at: str | None
    fetched_at: str
    story_id: int | None
    terms: list[str]
    snippet: str = Field(description="original text, hits wrapped in [[ ]]")
    language: str | None = None
    outlets: int | None = Field(default=None, description="with stories=true: outlets that carried the story")
    score: float | None = Field(default=None, description="with sort=relevance")


class SearchPage(BaseModel):
    results: list[SearchHit]
    next_cursor: str | None


class ArticleRef(BaseModel):
    id: int
    title: str | None
    source: str
    url: str
    published_at: str | None
    fetched_at: str


class ArticleMatch(BaseModel):
    rule: str
    terms: list[str]
    snippet: str
    matched_at: str | None


class ArticleDetail(BaseModel):
    id: int
    url: str
    canonical_url: str
    source: str
    title: str | None
    author: str | None
    paragraphs: list[str]
    language: str | None
    published_at: str | None
    fetched_at: str
    updated_at: str | None
    revision: int
    story_id: int | None
    matches: list[ArticleMatch]
    siblings: list[ArticleRef]


class StorySummary(BaseModel):
    id: int
    title: str | None
    first_source: str
    first_seen_at: str | None
    article_count: int
    outlets: int


class StoryDetail(StorySummary):
    articles: list[ArticleRef]


class StoriesPage(BaseModel):
    results: list[StorySummary]
    next_cursor: int | None


class RuleSummary(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str
    query: str
    scope: str
    mode: str
    channels: list[str]
    except_: list[str] = Field(alias="except")
    matches: int
    last_match_at: str | None


class RulesList(BaseModel):
    results: list[RuleSummary]


class RuleMatchItem(BaseModel):
    id: int
    rule: str
    article: ArticleRef
    story_id: int | None
    terms: list[str]
    snippet: str
    matched_at: str | None


class RuleMatchesPage(BaseModel):
    results: list[RuleMatchItem]
    next_cursor: int | None


class SourceHealthItem(BaseModel):
    name: str
    url: str
    kind: str
    status: str = Field(description="ok | failing | erroring | never-checked")
    last_checked_at: str | None
    last_success_at: str | None
    last_error_at: str | None
    last_error_class: str | None
    last_error: str | None
    consecutive_failures: int
    next_check_at: str | None
    articles_total: int
    items_per_day: float
    latency_p50_s: float | None
    latency_p95_s: float | None
    last_warning_class: str | None
    last_warning: str | None
    validators_unreliable: bool
    charset_fix: str | None


class SourcesList(BaseModel):
    results: list[SourceHealthItem]


class AlertItem(BaseModel):
    id: int
    rule: str
    channel: str
    status: str
    attempts: int
    story_id: int | None
    article: ArticleRef
    created_at: str | None
    sent_at: str | None
    last_error: str | None


class AlertsPage(BaseModel):
    results: list[AlertItem]
    next_cursor: int | None


# -- routes ------------------------------------------------------------------------------------------

def engine_of(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def config_of(request: Request) -> Config:
    return request.app.state.config  # type: ignore[no-any-return]


def parse_when(value: str | None, *, end: bool = False) -> datetime | None:
    """ISO date or datetime (UTC if no zone); a bare date as ``end`` means the end of that day."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end else 0), datetime.min.time(), tzinfo=UTC)
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not an ISO date or datetime: {value!r}") from exc
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def date_range(since: str | None, from_: str | None, to: str | None) -> tuple[datetime | None, datetime | None]:
    """``since`` is a duration back from now (7d, 12h) or a date; ``from``/``to`` are dates, ``to`` inclusive."""
    start = parse_when(from_)
    if since:
        start = parse_when(since) if since[:1].isdigit() and "-" in since else utcnow() - timedelta(
            seconds=parse_duration(since))
    return start, parse_when(to, end=True)


def next_id(rows: list[dict[str, Any]], limit: int) -> int | None:
    return rows[-1]["id"] if len(rows) == limit else None


@router.get("/articles", summary="Search stored articles (rule query language) with filters",
            response_model=SearchPage, responses=_errors(400, 422))
def articles(request: Request,
             q: Annotated[str, Query(max_length=MAX_QUERY_CHARS, description="query; empty lists everything")] = "",
             source: str | None = None, rule: str | None = None,
             story: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
             lang: str | None = None,
             since: Annotated[str | None, Query(description="7d, 12h or an ISO date")] = None,
             from_: Annotated[str | None, Query(alias="from", description="ISO date, inclusive")] = None,
             to: Annotated[str | None, Query(description="ISO date, inclusive")] = None,
             sort: Annotated[str, Query(pattern="^(date|relevance)$")] = "date",
             limit: Limit = 20, cursor: Annotated[str | None, Query(max_length=500)] = None,
             stories: bool = False) -> dict[str, Any]:
    start, end = date_range(since, from_, to)
    page = search_articles(engine_of(request), q, source=source, rule=rule, story_id=story, language=lang,
                           since=start, until=end, sort=sort, limit=limit, cursor=cursor, stories=stories)
    return {"results": [asdict(r) for r in page.results], "next_cursor": page.next_cursor}


@router.get("/articles/{article_id}", summary="One article: original text, matches, story siblings",
            response_model=ArticleDetail, responses=_errors(404, 422))
def article(request: Request, article_id: Id) -> dict[str, Any]:
    view = browse.get_article(engine_of(request), article_id)
    if view is None:
        raise HTTPException(404, f"no article {article_id}")
    return view.as_dict()


@router.get("/stories", summary="Stories, newest first", response_model=StoriesPage, responses=_errors(422))
def stories(request: Request, limit: Limit = 20, cursor: Before = None) -> dict[str, Any]:
    rows = browse.list_stories(engine_of(request), limit, cursor)
    return {"results": rows, "next_cursor": next_id(rows, limit)}


@router.get("/stories/{story_id}", summary="One story with every outlet's article", response_model=StoryDetail,
            responses=_errors(404, 422))
def story(request: Request, story_id: Id) -> dict[str, Any]:
    out = browse.get_story(engine_of(request), story_id)
    if out is None:
        raise HTTPException(404, f"no story {story_id}")
    return out


def rules_summary(request: Request) -> list[dict[str, Any]]:
    stats = browse.rule_stats(engine_of(request))
    return [{"name": r.name, "query": r.query, "scope": r.scope, "mode": r.mode, "channels": r.channels,
             "except": r.except_, "matches": stats.get(r.name, (0, None))[0],
             "last_match_at": stats.get(r.name, (0, None))[1]} for r in config_of(request).rules]


@router.get("/rules", summary="Configured rules with their match counts", response_model=RulesList)
def rules(request: Request) -> dict[str, Any]:
    return {"results": rules_summary(request)}


@router.get("/rules/{name}/matches", summary="What a rule fired on, newest first", response_model=RuleMatchesPage,
            responses=_errors(404, 422))
def rule_matches(request: Request, name: str, limit: Limit = 20, cursor: Before = None) -> dict[str, Any]:
    if name not in {r.name for r in config_of(request).rules}:
        raise HTTPException(404, f"no rule {name!r}")
    rows = browse.rule_matches(engine_of(request), name, limit, cursor)
    return {"results": rows, "next_cursor": next_id(rows, limit)}


@router.get("/sources", summary="Health of every source: last success, errors, items/day, latency",
            response_model=SourcesList)
def sources(request: Request) -> dict[str, Any]:
    names = [s.name for s in config_of(request).sources]
    with session(engine_of(request)) as s:
        return {"results": [h.as_dict() for h in source_health(s, names)]}


@router.get("/alerts", summary="The alert outbox, newest first", response_model=AlertsPage, responses=_errors(422))
def alerts(request: Request, limit: Limit = 20, cursor: Before = None, rule: str | None = None,
           status: Annotated[str | None, Query(pattern="^(pending|sent|failed)$")] = None) -> dict[str, Any]:
    rows = browse.list_alerts(engine_of(request), limit, cursor, rule, status)
    return {"results": rows, "next_cursor": next_id(rows, limit)}
