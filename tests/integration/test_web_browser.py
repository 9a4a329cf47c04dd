"""The web pages in a real browser (Debian's chromium driven by Playwright; scripts/install-browser.sh).

The app runs under real uvicorn (serve_web) on a free port. Each page is screenshotted into
tests/_artifacts/, laid out right-to-left, and hostile article content (script tags, onerror
handlers, javascript: links, bidi overrides) is shown as text and never runs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine

from scraper.config import Config, Settings
from scraper.store.db import make_engine, session
from scraper.store.tables import Alert, Article, RuleMatch, SourceState, utcnow
from scraper.web.app import create_app, serve_web
from tests.conftest import free_port
from tests.integration.test_search import add_article, load_articles

ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
EVIL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1"> \u202eإيران تحذر'
CONFIG = Config.model_validate({
    "rules": [{"name": "iran", "query": "إيران"}],
    "sources": [{"name": n, "url": f"https://{n}.example/feed"} for n in ("alpha", "beta", "evil")],
})


@dataclass
class Site:
    base: str
    ids: dict[str, int]


def _seed(engine: Engine) -> dict[str, int]:
    ids = load_articles(engine)
    evil = add_article(engine, 200, "evil", EVIL, [EVIL, "خبر عن إيران والكرملين."], story_id=1)
    now = utcnow()
    with session(engine) as s:
        art = s.get(Article, evil)
        assert art is not None
        art.url = "javascript:window.__pwned=1"
        s.add(art)
        for k, art_id in enumerate([ids[0], ids[1], ids[8], ids[10], evil]):
            m = RuleMatch(rule="iran", article_id=art_id, story_id=1, terms='["إيران"]', snippet=f"[[إيران]] {EVIL}",
                          matched_at=now - timedelta(days=k * 3))
            s.add(m)
            s.flush()
            s.add(Alert(key=f"k{k}", rule="iran", channel=f"ops{k}", story_id=1, article_id=art_id, match_id=m.id,
                        status="sent" if k else "failed", created_at=now - timedelta(days=k)))
        s.add(SourceState(name="alpha", url="https://alpha.example/feed", kind="feed", last_checked_at=now,
                          last_success_at=now))
        s.add(SourceState(name="evil", url="https://evil.example/feed", kind="feed", last_checked_at=now,
                          consecutive_failures=3, failing=True, last_error_class="http", last_error=EVIL))
        s.commit()
    return {"first": ids[0], "evil": evil, "story": 1}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from scraper.store.db import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}"
    upgrade(url)
    engine = make_engine(url)
    ids = _seed(engine)
    app = create_app(Settings(), CONFIG, engine)
    port = free_port()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve_web(app, "127.0.0.1", port, stop),))
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{port}", ids)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, locale="ar")
    pg = ctx.new_page()
    yield pg
    ctx.close()


def _visit(page: Page, url: str, shot: str) -> None:
    for _ in range(50):  # the server thread may still be binding
        try:
            resp = page.goto(url, wait_until="load")
            break
        except Exception:
            page.wait_for_timeout(100)
    assert resp is not None and resp.status == 200, url
    assert "script-src" not in resp.headers["content-security-policy"]
    page.wait_for_timeout(150)  # let any (blocked) handler have its chance to run
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert page.evaluate("document.documentElement.getAttribute('dir')") == "rtl"
    assert page.evaluate("typeof window.__pwned") == "undefined", f"article content ran a script on {url}"
    assert page.evaluate("document.querySelectorAll('main script, main img').length") == 0


def test_search_page_highlights(site: Site, page: Page) -> None:
    _visit(page, f"{site.base}/?q=إيران", "search")
    assert page.locator("mark").first.inner_text() in {"إيران", "وإيران"}
    assert EVIL.replace("\u202e", "") in page.locator("main").inner_text()  # shown as text, override removed
    page.fill("input[name=q]", "الكرملين")
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    titles = page.locator("li.result h2").all_inner_texts()
    assert len(titles) == 2 and titles[1] == "الكرملين يعلق" and titles[0].startswith("<script>")


def test_article_page_is_inert(site: Site, page: Page) -> None:
    _visit(page, f"{site.base}/articles/{site.ids['evil']}", "article")
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.locator("h1").inner_text().startswith("<script>")
    assert "\u202e" not in page.locator("main").inner_text()
    assert page.locator("ul.siblings li").count() == 3


def test_story_rule_sources_pages(site: Site, page: Page) -> None:
    _visit(page, f"{site.base}/stories/{site.ids['story']}", "story")
    assert page.locator("table.grid tbody tr").count() == 4
    _visit(page, f"{site.base}/rules/iran", "rule")
    assert page.locator("svg.chart rect.bar").count() == 30
    assert page.locator("svg.chart rect.bar[height='0']").count() == 25  # five matches on five distinct days
    assert page.locator("td.status-failed").count() == 1
    _visit(page, f"{site.base}/rules", "rules")
    _visit(page, f"{site.base}/sources", "sources")
    assert page.locator("td.status-failing").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1 or page.locator(".scroll").count() == 1
