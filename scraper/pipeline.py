"""refresh_source(): one pass for one source, stage by stage. The only module that knows the whole flow.

fetch listing → parse (feed | sitemap | page) → canonical URLs → skip known → fetch articles →
extract → normalize → dedupe (URL, content, story) → store → match rules → outbox rows (same transaction)
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from scraper import metrics
from scraper.config import Config, Settings, Source
from scraper.dedupe.fingerprint import fingerprint
from scraper.errors import ExtractionError, FetchError, ParseError, ScraperError
from scraper.extract.article import extract_article
from scraper.extract.decode import DecodedPage, decode_page, settle_fix
from scraper.fetch.client import Fetcher, FetchResult
from scraper.logs import log_event
from scraper.match.matcher import RuleIndex, RuleSpec
from scraper.models import ArticleDraft, FeedItem
from scraper.normalize.text import is_arabic, normalize_document, tokenize
from scraper.normalize.urls import canonical_url, content_hash, url_hash
from scraper.parse.feeds import parse_feed
from scraper.parse.listing import parse_listing
from scraper.parse.sitemaps import parse_sitemap
from scraper.schedule.policy import FAILING_AFTER, PollState, next_check
from scraper.store import repo, stories
from scraper.store.db import session as open_session
from scraper.store.tables import Article, FetchLog, SourceState, as_utc, utcnow

MAX_NEW_ARTICLES_PER_PASS = 100  # a first pass over a huge sitemap should not hammer the site
MAX_CHILD_SITEMAPS = 3
SELECT_CHUNK = 256  # listing items checked between two yields to the event loop
GC_PAUSE_BYTES = 1 << 20  # listings above this are parsed with the cyclic GC paused (see _off_loop)
_T = TypeVar("_T")
_gc_lock = threading.Lock()
_gc_pausers = 0  # parses running with the GC paused; the last one to finish turns it back on
STORY_WINDOW_DAYS = 7
UNCONDITIONAL_EVERY = timedelta(hours=6)
DRIFT_RATIO = 0.3  # an article body under 30% of the source's usual length suggests broken extraction
DRIFT_MIN_HISTORY = 20  # ...once the source has enough articles for "usual" to mean something


@dataclass
class Runtime:
    """Everything a pass needs, built once at start and passed down."""

    settings: Settings
    config: Config
    engine: Engine
    fetcher: Fetcher
    rules: RuleIndex
    # Sources whose last check could not be recorded (disk full): not due again before this time, though
    # their stored next_check_at says otherwise. In memory only, like the condition it covers.
    held_until: dict[str, datetime] = field(default_factory=dict)

    def is_held(self, name: str, now: datetime) -> bool:
        until = self.held_until.get(name)
        return until is not None and until > now

    @classmethod
    def build_rules(cls, config: Config) -> RuleIndex:
        return RuleIndex.build([
            RuleSpec(name=r.name, query=r.query, scope=r.scope, except_phrases=tuple(r.except_))
            for r in config.rules
        ])

    def channels_of(self, rule: str) -> list[str]:
        return next((r.channels for r in self.config.rules if r.name == rule), [])

    def policy_of(self, rule: str) -> repo.AlertPolicy:
        r = next((r for r in self.config.rules if r.name == rule), None)
        return repo.AlertPolicy(r.mode, r.throttle) if r else repo.AlertPolicy()


@dataclass
class RefreshReport:
    source: str
    outcome: str = "ok"  # ok | not_modified | error
    items: int = 0
    new_articles: int = 0
    updated_articles: int = 0
    alerts_queued: int = 0
    error_class: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds the server asked us to wait (429/503)
    unconditional: bool = False  # the check ignored the stored validators on purpose
    ttl_minutes: int | None = None  # the feed's own polling hint
    article_errors: list[str] = field(default_factory=list)
    pages: list[DecodedPage] = field(default_factory=list)  # how each HTML page of the pass was decoded


async def refresh_source(rt: Runtime, source: Source, now: datetime | None = None) -> RefreshReport:
    """Poll one source and store what is new. Expected failures are recorded on the source's state
    and never raised; a bug (an unexpected exception) is recorded too, then re-raised. A full disk is
    expected (it is the machine, not the code): classified ``disk_full`` and backed off like any error."""
    now = now or utcnow()
    report = RefreshReport(source=source.name)
    started = time.monotonic()
    with open_session(rt.engine) as s:
        state = repo.get_source_state(s, source.name)
    result: FetchResult | None = None
    unconditional = _wants_unconditional(state, now)
    try:
        result = await rt.fetcher.fetch(source.url, etag=None if unconditional else state.etag,
                                        last_modified=None if unconditional else state.last_modified,
                                        allow_private=_private_hosts(source))
        report.unconditional = unconditional
        if result.not_modified:
            report.outcome = "not_modified"
        else:
            items, report.ttl_minutes = await _list_items(rt, source, result, now, report, state.charset_fix)
            report.items = len(items)
            await _ingest_items(rt, source, items, report, state.charset_fix)
    except ScraperError as exc:
        report.outcome, report.error_class, report.error = "error", exc.error_class, str(exc)
        report.retry_after = getattr(exc, "retry_after", None)
        log_event("source.error", logging.WARNING, source=source.name, url=getattr(exc, "url", "") or source.url,
                  error_class=exc.error_class, error=str(exc))
    except Exception as exc:
        cause = repo.disk_full_cause(exc)
        if cause is None:
            report.outcome, report.error_class, report.error = "error", "internal", repr(exc)
            _record_or_hold(rt, source, state, result, report, now, started)
            metrics.observe_refresh(report, time.monotonic() - started)
            raise
        report.outcome, report.error_class, report.error = "error", "disk_full", cause
        log_event("source.error", logging.WARNING, source=source.name, url=source.url,
                  error_class="disk_full", error=cause)
    _record_or_hold(rt, source, state, result, report, now, started)
    metrics.observe_refresh(report, time.monotonic() - started)
    return report


def _record_or_hold(rt: Runtime, source: Source, state: SourceState, result: FetchResult | None,
                    report: RefreshReport, now: datetime, started: float) -> None:
    """Record the check; when the disk is too full for that, back the source off in memory instead,
    or the daemon would poll it again on every tick (its next_check_at never moves)."""
    try:
        _record_check(rt, source, result, report, now, started)
    except Exception as exc:
        cause = repo.disk_full_cause(exc)
        if cause is None:
            raise
        until, _interval = next_check(now, _poll_state(source, state, failed=True), new_items=None,
                                      ttl_minutes=None, cache_control=None, expires=None,
                                      retry_after=report.retry_after, failed=True)
        rt.held_until[source.name] = until
        log_event("source.not_recorded", logging.WARNING, source=source.name, url=source.url,
                  error_class="disk_full", error=cause, next_check_at=until.isoformat())
    else:
        rt.held_until.pop(source.name, None)


async def _list_items(rt: Runtime, source: Source, result: FetchResult, now: datetime, report: RefreshReport,
                      charset_fix: str | None) -> tuple[list[FeedItem], int | None]:
    """Bytes of the source's URL → article links, by kind. Parsing runs in a worker thread: a feed of
    100,000 items takes seconds of CPU, during which every other source would otherwise wait."""
    ctype = result.headers.get("content-type")
    body = result.content
    if source.kind == "feed":
        parsed = await _off_loop(len(body), parse_feed, body, result.url, ctype)
        return parsed.items, parsed.ttl_minutes
    if source.kind == "page":
        links, page = await _off_loop(len(body), _page_links, source, body, result.url, ctype, charset_fix)
        report.pages.append(page)
        return links, None
    sitemap = await _off_loop(len(body), parse_sitemap, body, result.url, now)
    items = list(sitemap.items)
    for child in sitemap.child_sitemaps[:MAX_CHILD_SITEMAPS]:
        child_result = await rt.fetcher.fetch(child, allow_private=_private_hosts(source))
        child_map = await _off_loop(len(child_result.content), parse_sitemap, child_result.content,
                                    child_result.url, now)
        items.extend(child_map.items)
    return items, None


async def _off_loop(size: int, parse: Callable[..., _T], *args: object) -> _T:
    """Run a listing parser in a worker thread, with the cyclic GC paused for big bodies: parsing
    100,000 items builds about a million objects that survive, each full collection then walks them
    all while holding the GIL, and those pauses (0.3-0.9 s each) stalled the loop as much as the parse."""
    if size < GC_PAUSE_BYTES:
        return await asyncio.to_thread(parse, *args)
    return await asyncio.to_thread(_without_gc, parse, *args)


def _without_gc(parse: Callable[..., _T], *args: object) -> _T:
    global _gc_pausers
    with _gc_lock:
        _gc_pausers += 1
        gc.disable()
    try:
        return parse(*args)
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0:  # another big parse may still be running
                gc.enable()


def _page_links(source: Source, body: bytes, url: str, ctype: str | None,
                charset_fix: str | None) -> tuple[list[FeedItem], DecodedPage]:
    page = decode_page(body, ctype, charset_fix)
    return parse_listing(page.text, url, source.selectors.links or "a").items, page


def _private_hosts(source: Source) -> frozenset[str]:
    """The hosts a source's ``allow_private`` trusts: its own. Its feed's links and redirects to other
    hosts get the public-address check like any other source's."""
    host = urlsplit(source.url).hostname if source.allow_private else None
    return frozenset({host.lower()}) if host else frozenset()


def _wants_unconditional(state: SourceState, now: datetime) -> bool:
    """Some servers keep sending the same ETag/Last-Modified after the feed changed, so a conditional
    GET would hide new items forever. Check without validators now and then to catch them."""
    if state.validators_unreliable or state.last_unconditional_at is None:
        return True
    return now - as_utc(state.last_unconditional_at) >= UNCONDITIONAL_EVERY  # type: ignore[operator]


def _canonical_or_none(url: str) -> str | None:
    try:
        return canonical_url(url)
    except ValueError:
        return None


def _canonical_hash(canon: str) -> str:
    """url_hash() of a URL already canonical: url_hash canonicalizes again (canonical_url is idempotent),
    which doubled the cost of listing a huge feed."""
    return hashlib.sha256(canon.encode("ascii")).hexdigest()


def _raw_hash(url: str) -> str:
    """Hash of a link exactly as the listing gives it, stored as one more alias of its article so the
    next pass recognises the link without canonicalizing it. It cannot collide with a canonical hash
    of another URL: a string equal to some canonical form is its own canonical form."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def _newest_first(items: list[FeedItem]) -> list[FeedItem]:
    """Dated items newest first, then the undated ones in listing order (the sort is stable)."""
    return sorted(items, key=lambda it: it.published_at is not None and as_utc(it.published_at).timestamp(),
                  reverse=True)


async def _select_fresh(rt: Runtime, items: list[FeedItem]) -> list[tuple[str, FeedItem]]:
    """(canonical hash, item) of up to MAX_NEW_ARTICLES_PER_PASS unknown items, newest first.

    Items are looked at in chunks, stopping once enough are fresh: links known by their raw hash skip
    canonical_url (~25-95 µs each), and the loop runs other sources between chunks, so a 100,000-item
    feed costs milliseconds of loop time at a stretch instead of seconds."""
    ordered = await asyncio.to_thread(_newest_first, items) if len(items) > SELECT_CHUNK else _newest_first(items)
    fresh: list[tuple[str, FeedItem]] = []
    seen: set[str] = set()  # canonical hashes
    seen_raw: set[str] = set()
    for start in range(0, len(ordered), SELECT_CHUNK):
        if start:
            await asyncio.sleep(0)
        fresh.extend(_fresh_in_chunk(rt, ordered[start:start + SELECT_CHUNK], seen, seen_raw))
        if len(fresh) >= MAX_NEW_ARTICLES_PER_PASS:
            break
    return fresh[:MAX_NEW_ARTICLES_PER_PASS]


def _fresh_in_chunk(rt: Runtime, chunk: list[FeedItem], seen: set[str],
                    seen_raw: set[str]) -> list[tuple[str, FeedItem]]:
    raw = [(_raw_hash(it.url), it) for it in chunk]
    with open_session(rt.engine) as s:
        known_raw = repo.known_url_hashes(s, [h for h, _it in raw])
        candidates: list[tuple[str, FeedItem]] = []
        for rh, item in raw:
            if rh in known_raw or rh in seen_raw:
                continue
            seen_raw.add(rh)
            canon = _canonical_or_none(item.url)
            if canon is None:
                continue
            h = _canonical_hash(canon)
            if h not in seen:  # two links of one article in the same listing: the first one wins
                seen.add(h)
                candidates.append((h, item))
        known = repo.known_url_hashes(s, [h for h, _it in candidates])
    return [(h, it) for h, it in candidates if h not in known]


async def _ingest_items(rt: Runtime, source: Source, items: list[FeedItem], report: RefreshReport,
                        charset_fix: str | None = None) -> None:
    """Fetch, extract and store every item whose URL is not known yet."""
    fresh = await _select_fresh(rt, items)
    drafts = await asyncio.gather(*(_fetch_article(rt, source, it, charset_fix, report.pages) for _h, it in fresh))
    for n, ((h, item), draft) in enumerate(zip(fresh, drafts, strict=True)):
        if isinstance(draft, str):
            report.article_errors.append(draft)
            continue
        if n:
            await asyncio.sleep(0)  # 100 stores in a row held the loop for seconds: let other sources run
        try:
            outcome, alerts = store_article(rt, source, item, h, draft)
        except Exception as exc:  # rolled back; the others are stored, this one is retried next pass
            if isinstance(exc, OperationalError):
                raise  # the database itself is unwell: the whole check fails and is recorded as such
            log_event("article.crash", logging.ERROR, exc_info=True, source=source.name, url=item.url)
            report.article_errors.append(f"{item.url}: internal: {exc!r}")
            continue
        report.new_articles += outcome == "new"
        report.updated_articles += outcome == "updated"
        report.alerts_queued += alerts


async def _fetch_article(rt: Runtime, source: Source, item: FeedItem, charset_fix: str | None = None,
                         pages: list[DecodedPage] | None = None) -> ArticleDraft | str:
    """Fetch and extract one article; on failure return the error text (logged, retried next pass).
    The page is decoded with the source's remembered charset repair first; how it was decoded is
    appended to ``pages``, from which the pass settles what the source remembers next."""
    try:
        result = await rt.fetcher.fetch(item.url, allow_private=_private_hosts(source))
        page = decode_page(result.content, result.headers.get("content-type"), charset_fix)
        if pages is not None:
            pages.append(page)
        draft = extract_article(page, result.url, source.selectors)
    except ExtractionError as exc:
        if not (item.title or item.summary):
            return _article_failed(source, item, exc)
        # The page is there but yields nothing: keep what the feed said rather than lose the article.
        draft = ArticleDraft(url=item.url, title=item.title, paragraphs=[item.summary] if item.summary else [],
                             method={"title": "feed", "paragraphs": "feed"})
    except (FetchError, ParseError) as exc:
        return _article_failed(source, item, exc)
    except Exception as exc:  # a bug on one hostile page must not sink the source's other articles
        log_event("article.crash", logging.ERROR, exc_info=True, source=source.name, url=item.url)
        return f"{item.url}: internal: {exc!r}"
    if not draft.title and item.title:
        draft.title, draft.method["title"] = item.title, "feed"
    if draft.published_at is None and item.published_at is not None:
        draft.published_at, draft.method["published_at"] = item.published_at, "feed"
    if not draft.author and item.author:
        draft.author = item.author
    return draft


def _article_failed(source: Source, item: FeedItem, exc: ScraperError) -> str:
    log_event("article.error", logging.WARNING, source=source.name, url=item.url,
              error_class=exc.error_class, error=str(exc))
    return f"{item.url}: {exc.error_class}: {exc}"


def store_article(rt: Runtime, source: Source, item: FeedItem, item_hash: str,
                  draft: ArticleDraft) -> tuple[str, int]:
    """Store one article, its matches and its alert rows in one transaction.

    Returns ("new" | "updated" | "unchanged", alerts queued). An article already stored under any of
    its URLs is an update when its text changed, never a new article and never a new alert."""
    canon_page = _canonical_or_none(draft.canonical_url or "") or _canonical_or_none(draft.url)
    hashes = [item_hash] + ([url_hash(canon_page)] if canon_page else [])
    title = (draft.title or "").strip() or None
    body = "\n".join(p.strip() for p in draft.paragraphs if p.strip())
    chash = content_hash(title, draft.paragraphs)
    # Space-joined tokens, like the body: the search index then splits words exactly where the matcher does.
    title_norm, body_norm = " ".join(tokenize(title or "")), normalize_document(draft.paragraphs)
    try:
        with open_session(rt.engine) as s:
            existing = repo.article_by_url_hashes(s, hashes)
            if existing is not None:
                repo.add_url_aliases(s, existing.id or 0, [*hashes, _raw_hash(item.url)])
                changed = existing.content_hash != chash or (existing.title or "") != (title or "")
                if changed:
                    repo.revise_article(s, existing, title, body, chash, title_norm, body_norm)
                s.commit()
                return ("updated" if changed else "unchanged"), 0
            article, alerts = _insert_article(rt, s, source, draft, hashes, title, body, chash,
                                              title_norm, body_norm)
            if (raw := _raw_hash(item.url)) not in hashes:  # added above, and not flushed yet
                repo.add_url_aliases(s, article.id or 0, [raw])
            s.commit()
    except IntegrityError:
        # Another worker stored the same URL first: idempotent by design, nothing to do.
        return "unchanged", 0
    log_event("article.stored", source=source.name, url=article.url, article_id=article.id,
              story_id=article.story_id, alerts=alerts)
    return "new", alerts


def _insert_article(rt: Runtime, s, source: Source, draft: ArticleDraft, hashes: list[str],  # type: ignore[no-untyped-def]
                    title: str | None, body: str, chash: str, title_norm: str,
                    body_norm: str) -> tuple[Article, int]:
    now = utcnow()
    signature = fingerprint(draft.paragraphs, title)
    story_id = repo.story_by_content_hash(s, chash, now - timedelta(days=STORY_WINDOW_DAYS))
    if story_id is None:
        story_id = stories.find_story(s, signature, now)
    if story_id is None:
        story_id = repo.new_story(s, source.name, title, now).id
    else:
        repo.join_story(s, story_id)
    article = Article(
        url_hash=hashes[-1], url=draft.url, canonical_url=_canonical_or_none(draft.canonical_url or "")
        or draft.url, source=source.name, story_id=story_id, title=title, author=draft.author, body=body,
        title_norm=title_norm, body_norm=body_norm, content_hash=chash, published_at=draft.published_at,
        fetched_at=now, language=draft.language or ("ar" if is_arabic(body or title or "") else None),
        extraction=json.dumps(draft.method), fingerprint=signature.to_bytes(),
    )
    s.add(article)
    s.flush()
    stories.index_article(s, article.id or 0, story_id or 0, signature, now)
    _note_extraction_quality(s, source.name, article.url, len(body), now)
    repo.add_url_aliases(s, article.id or 0, hashes)
    story = s.get(repo.Story, story_id)
    if story is not None and story.first_article_id is None:
        story.first_article_id = article.id
    alerts = 0
    for m in rt.rules.match(title or "", draft.paragraphs):
        record = repo.MatchRecord(rule=m.rule, terms=list(m.terms), snippet=m.snippet,
                                  hits=[h.__dict__ for h in m.hits])
        metrics.observe_match(m.rule)
        alerts += repo.add_match_and_alerts(s, article, record, rt.channels_of(m.rule), rt.policy_of(m.rule))
    return article, alerts


def _note_extraction_quality(s, source: str, url: str, chars: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Warn on the source when a body comes out empty or far shorter than usual (a redesign broke the
    selectors), and keep the moving average of body length."""
    state = repo.get_source_state(s, source)
    avg = state.avg_body_chars
    warning = None
    if chars == 0:
        warning = ("extraction_empty", "article body extracted empty")
    elif avg and state.articles_total >= DRIFT_MIN_HISTORY and chars < DRIFT_RATIO * avg:
        warning = ("extraction_drift", f"body of {chars} chars, usual is about {avg:.0f}")
    if warning:
        state.last_warning_class, state.last_warning = warning
        state.last_warning_at = now
        log_event("article.extraction_warning", logging.WARNING, source=source, url=url,
                  warning_class=warning[0], detail=warning[1])
    if chars:
        state.avg_body_chars = chars if avg is None else 0.9 * avg + 0.1 * chars
    s.add(state)


def _record_check(rt: Runtime, source: Source, result: FetchResult | None, report: RefreshReport,
                  now: datetime, started: float) -> None:
    """Write the check's outcome on the source's state and in the fetch log; schedule the next check."""
    failed = report.outcome == "error"
    with open_session(rt.engine) as s:
        state = repo.get_source_state(s, source.name)
        poll = _poll_state(source, state, failed)
        headers = result.headers if result else {}
        state.next_check_at, state.interval_seconds = next_check(
            now, poll, new_items=None if failed else report.new_articles, ttl_minutes=report.ttl_minutes,
            cache_control=headers.get("cache-control"), expires=headers.get("expires"),
            retry_after=report.retry_after, failed=failed)
        _apply_outcome(state, report, result, now, poll.consecutive_failures)
        state.items_per_week = _publishing_rate(s, state, now)
        repo.log_fetch(s, FetchLog(source=source.name, url=source.url, checked_at=now, outcome=report.outcome,
                                   status=result.status if result else None, error_class=report.error_class,
                                   error=report.error, duration_ms=int((time.monotonic() - started) * 1000),
                                   items=report.items, new_articles=report.new_articles))
        s.add(state)
        s.commit()
    log_event("source.checked", source=source.name, url=source.url, outcome=report.outcome,
              items=report.items, new=report.new_articles, alerts=report.alerts_queued)


def _poll_state(source: Source, state: SourceState, failed: bool) -> PollState:
    return PollState(interval=state.interval_seconds or source.interval,
                     min_interval=source.min_interval or min(source.interval, 300.0),
                     max_interval=source.max_interval or max(source.interval * 12, 3600.0),
                     consecutive_failures=state.consecutive_failures + 1 if failed else 0,
                     items_per_week=state.items_per_week)


def _publishing_rate(s, state: SourceState, now: datetime) -> float | None:  # type: ignore[no-untyped-def]
    """New articles per week over the last week (scaled for younger sources); None in the first day,
    when there is no history to go by and the policy adapts from each check's new-item count."""
    age = now - (as_utc(state.created_at) or now)
    if age < timedelta(days=1):
        return None
    window = min(age, timedelta(days=7))
    count = repo.recent_new_article_count(s, state.name, now - window)
    return count * timedelta(days=7).total_seconds() / window.total_seconds()


def _remember_charset_fix(state: SourceState, report: RefreshReport) -> None:
    """Keep the charset repair this source's pages need, so the next pages (a short one, where
    detection has little to go on) are decoded with it first; forget it when a page it did not fit
    (the site moved to UTF-8) came out as clean Arabic without it (decode.settle_fix)."""
    fix = settle_fix(state.charset_fix, report.pages)
    if fix == state.charset_fix:
        return
    log_event("source.charset_fix", logging.WARNING if fix else logging.INFO, source=state.name, url=state.url,
              charset_fix=fix, previous=state.charset_fix,
              refused=next((p.refused for p in report.pages if p.refused), None))
    state.charset_fix = fix


def _apply_outcome(state: SourceState, report: RefreshReport, result: FetchResult | None, now: datetime,
                   failures: int) -> None:
    state.last_checked_at = now
    state.consecutive_failures = failures
    if report.outcome == "error":
        state.last_error_at, state.last_error_class, state.last_error = now, report.error_class, report.error
        state.failing = failures >= FAILING_AFTER
        return
    state.last_success_at, state.failing = now, False
    state.articles_total += report.new_articles
    _remember_charset_fix(state, report)
    if result is None:
        return
    state.last_status = result.status
    if result.not_modified:
        return
    body_hash = hashlib.sha256(result.content).hexdigest()
    same_validators = bool(result.etag and result.etag == state.etag) or bool(
        result.last_modified and result.last_modified == state.last_modified)
    if report.unconditional:
        state.last_unconditional_at = now
        if state.body_hash and body_hash != state.body_hash and same_validators:
            state.validators_unreliable = True
            log_event("source.validators_lie", logging.WARNING, source=state.name, url=state.url,
                      etag=result.etag, last_modified=result.last_modified)
    state.body_hash = body_hash
    state.etag, state.last_modified = result.etag, result.last_modified
