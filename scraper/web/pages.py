"""Server-rendered HTML pages (Jinja2), Arabic first and right-to-left.

Every title and body is hostile input: the environment autoescapes everything, bidi overrides and
isolates (U+202A-202E, U+2066-2069) are removed from what is shown so a headline cannot reverse the
text around it, hit markers become <mark> only after escaping, and links are shown only when http(s).
No page needs a script, so the Content-Security-Policy forbids them all.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape

from scraper.store import search_browse as browse
from scraper.store.db import session
from scraper.store.health import source_health
from scraper.store.search import MAX_QUERY_CHARS, search_articles
from scraper.web.api import MAX_ID, date_range, rules_summary

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_HIT = re.compile(r"\[\[(.+?)\]\]")
PAGE_SIZE = 20


def clean(value: object) -> str:
    return _BIDI_CONTROLS.sub("", "" if value is None else str(value))


def highlight(snippet: str | None) -> Markup:
    """Escape first, then turn [[hit]] markers into <mark> (the markers survive escaping unchanged)."""
    return Markup(_HIT.sub(r"<mark>\1</mark>", str(escape(clean(snippet)))))


def safe_url(url: str | None) -> str | None:
    return url if url and re.match(r"^https?://", url, re.IGNORECASE) else None


def when(value: str | None) -> str:
    return value.replace("T", " ")[:16] if value else "—"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 3600:.1f} س" if value >= 3600 else f"{value / 60:.0f} د"


env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True)
env.filters.update(clean=clean, highlight=highlight, safe_url=safe_url, when=when, seconds=seconds)


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(env.get_template(name).render(**context), status_code=status_code)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render("error.html", status, status=status, message=message)


def bar_chart(days: list[tuple[str, int]], width: int = 600, height: int = 160) -> Markup:
    """Matches per day as an SVG bar chart (numbers and dates only: nothing scraped goes in)."""
    top = max((n for _, n in days), default=0) or 1
    step = width / max(len(days), 1)
    bars, labels = [], []
    for k, (day, n) in enumerate(days):
        h = round((height - 30) * n / top, 1)
        x = round(k * step + 1, 1)
        bars.append(f'<rect class="bar" x="{x:g}" y="{height - 20 - h:g}" width="{step - 2:.1f}" height="{h:g}">'
                    f"<title>{escape(day)}: {n}</title></rect>")
        if k % 7 == 0 or (k == len(days) - 1 and k % 7 > 3):  # last day too, unless it would overlap
            labels.append(f'<text x="{x}" y="{height - 5}">{escape(day[5:])}</text>')
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="مطابقات يومية" '
        f'xmlns="http://www.w3.org/2000/svg"><line class="axis" x1="0" y1="{height - 20}" x2="{width}" '
        f'y2="{height - 20}"/>{"".join(bars)}{"".join(labels)}'
        f'<text class="max" x="2" y="12">{top}</text></svg>')


@router.get("/", name="search_page")
def search_page(request: Request, q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
                source: str | None = None, rule: str | None = None, since: str | None = None,
                sort: Annotated[str, Query(pattern="^(date|relevance)$")] = "date",
                cursor: Annotated[str | None, Query(max_length=500)] = None, stories: bool = False) -> HTMLResponse:
    start, _ = date_range(since, None, None)
    page = search_articles(request.app.state.engine, q, source=source, rule=rule, since=start, sort=sort,
                           cursor=cursor, limit=PAGE_SIZE, stories=stories)
    params = {"q": q, "source": source or "", "rule": rule or "", "since": since or "", "sort": sort,
              "stories": "true" if stories else ""}
    return render("search.html", q=q, page=page, params=params,
                  sources=[s.name for s in request.app.state.config.sources])


@router.get("/articles/{article_id}", name="article_page")
def article_page(request: Request, article_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]) -> HTMLResponse:
    view = browse.get_article(request.app.state.engine, article_id)
    if view is None:
        raise HTTPException(404, "المقال غير موجود")
    return render("article.html", a=asdict(view))


@router.get("/stories/{story_id}", name="story_page")
def story_page(request: Request, story_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]) -> HTMLResponse:
    story = browse.get_story(request.app.state.engine, story_id)
    if story is None:
        raise HTTPException(404, "القصة غير موجودة")
    return render("story.html", story=story)


@router.get("/rules", name="rules_page")
def rules_page(request: Request) -> HTMLResponse:
    return render("rules.html", rules=rules_summary(request))


@router.get("/rules/{name}", name="rule_page")
def rule_page(request: Request, name: str) -> HTMLResponse:
    rule = next((r for r in rules_summary(request) if r["name"] == name), None)
    if rule is None:
        raise HTTPException(404, "القاعدة غير موجودة")
    engine = request.app.state.engine
    days = browse.matches_per_day(engine, name)
    return render("rule.html", rule=rule, chart=bar_chart(days), total=sum(n for _, n in days),
                  matches=browse.rule_matches(engine, name, PAGE_SIZE),
                  alerts=browse.list_alerts(engine, PAGE_SIZE, rule=name))


@router.get("/sources", name="sources_page")
def sources_page(request: Request) -> HTMLResponse:
    names = [s.name for s in request.app.state.config.sources]
    with session(request.app.state.engine) as s:
        health = [h.as_dict() for h in source_health(s, names)]
    return render("sources.html", sources=health, now=datetime.now().isoformat())
