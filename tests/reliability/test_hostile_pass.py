"""A whole `scraper run --once` (real CLI subprocess, SQLite) over one source per hostile case, next to
healthy control sources: every case ends in its exact error class (or outcome), the process exits 0,
the controls store their articles, a second pass loses nothing and retries what failed, no request
reaches a private address the source was not allowed, and the child's memory stays flat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scraper.demo.site import NewsSite
from scraper.store.db import upgrade
from tests.integration.chaos_server import ChaosServer, running
from tests.reliability.harness import (
    Finished,
    base_env,
    blackhole,
    closed_port,
    query,
    run_cli,
    source_states,
)
from tests.reliability.hostile import (
    ARABIC_BODY,
    ARABIC_TITLE,
    RETRY_AFTER_DATE_HOURS,
    RETRY_AFTER_SECONDS,
    Case,
    build_cases,
)

pytestmark = pytest.mark.slow
FETCH_TIMEOUT = 3
MAX_RSS_MB = 400  # the billion laughs alone would need gigabytes; a healthy pass stays well under this


@pytest.fixture
def chaos() -> ChaosServer:
    with running() as server:
        yield server  # type: ignore[misc]


def _config(tmp: Path, cases: list[Case], site: NewsSite) -> Path:
    lines = ["sources:"]
    for c in cases:
        lines.append(f"  - {{name: {c.name}, url: '{c.url}', interval: 10m, "
                     f"allow_private: {str(c.allow_private).lower()}}}")
    for outlet in site.outlets():
        lines.append(f"  - {{name: control-{outlet}, url: '{site.base}/{outlet}/rss.xml', allow_private: true}}")
    path = tmp / "sources.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _pass(db_url: str, config: Path, tmp: Path) -> Finished:
    env = base_env(db_url, config, SCRAPER_FETCH_TIMEOUT=str(FETCH_TIMEOUT), SCRAPER_PER_HOST_DELAY="0",
                   SCRAPER_PER_HOST_CONCURRENCY="8")
    done = run_cli(["run", "--once"], env, tmp, timeout=80)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Traceback" not in done.stderr, done.stderr[-4000:]
    assert not done.events("source.crash")
    return done


def _articles(db_url: str) -> dict[str, dict[str, object]]:
    rows = query(db_url, "SELECT id, url, url_hash, source, title, body, content_hash FROM articles")
    return {str(r["url_hash"]): r for r in rows}


def _article_errors(done: Finished, source: str) -> list[str]:
    return [str(e["error_class"]) for e in done.events("article.error") if e.get("source") == source]


def test_one_pass_survives_every_hostile_source(tmp_path: Path, chaos: ChaosServer) -> None:
    db_url = f"sqlite:///{tmp_path / 'hostile.db'}"
    upgrade(db_url)
    with blackhole() as hole, NewsSite() as site:
        cases = build_cases(chaos, closed_port(), hole)
        config = _config(tmp_path, cases, site)
        first = _pass(db_url, config, tmp_path)
        before = datetime.now(UTC)
        states = source_states(db_url)
        articles = _articles(db_url)

        # every hostile case is recorded with its exact class
        recorded = {c.name: states[c.name]["last_error_class"] for c in cases}
        assert recorded == {c.name: c.error_class for c in cases}
        for c in cases:
            if c.error_class is not None:
                assert states[c.name]["consecutive_failures"] == 1, c.name
            assert states[c.name]["last_checked_at"] is not None, c.name
            for path in c.never_hit:
                assert chaos.hits[path] == 0, f"{c.name}: a request reached {path}"

        # Retry-After is honoured: seconds and HTTP date
        def wait_of(name: str) -> float:
            st = states[name]
            return (_aware(st["next_check_at"]) - _aware(st["last_checked_at"])).total_seconds()

        assert wait_of("rate-limited") >= RETRY_AFTER_SECONDS
        assert wait_of("unavailable") >= RETRY_AFTER_DATE_HOURS * 3600 - 120
        assert wait_of("server-error") < RETRY_AFTER_SECONDS  # plain errors back off, far less

        by_source: dict[str, list[dict[str, object]]] = {}
        for a in articles.values():
            by_source.setdefault(str(a["source"]), []).append(a)

        # healthy controls stored everything, next to the chaos
        for outlet in site.outlets():
            expected = {a.slug for a in site.articles if a.outlet == outlet}
            stored = {str(a["url"]).rsplit("/", 1)[-1].removesuffix(".html") for a in by_source[f"control-{outlet}"]}
            assert stored == expected
        # the 100k-item feed: listed completely, the pass capped at 100 new articles
        assert next(st for st in first.events("source.checked") if st["source"] == "feed-100k")["items"] == 100_000
        assert len(by_source["feed-100k"]) == 100
        # windows-1256 bytes declared as UTF-8: Arabic comes out right
        [charset] = by_source["wrong-charset"]
        assert charset["title"] == ARABIC_TITLE and ARABIC_BODY[0] in str(charset["body"])
        # items before the cut of a truncated feed are kept
        assert 1 <= len(by_source["truncated-xml"]) < 6
        # 100,000 nested divs: stored (no RecursionError), with its text
        [deep] = by_source["deep-nesting"]
        assert ARABIC_BODY[0] in str(deep["body"])
        # one 50 MB line: refused by the size limit, and that is named in the log
        assert "one-line-50mb" not in by_source and _article_errors(first, "one-line-50mb") == ["too_large"]
        # article pages answering 500: nothing stored yet, each failure logged, retried next pass
        assert "article-500s" not in by_source and _article_errors(first, "article-500s") == ["http_status"] * 6
        # XXE: the file was never read into anything stored
        assert not any("root:" in str(a["body"]) + str(a["title"]) for a in articles.values())
        # memory stayed flat whatever the bombs and laughs
        assert first.max_rss_mb < MAX_RSS_MB, first.max_rss_mb

        second = _pass(db_url, config, tmp_path)
        after = _articles(db_url)
        # nothing stored was lost or changed, nothing stored twice
        for h, a in articles.items():
            assert after[h]["id"] == a["id"] and after[h]["content_hash"] == a["content_hash"]
        urls = [str(a["url"]) for a in after.values()]
        assert len(urls) == len(set(urls))
        # the pages that failed with 500 the first time are stored now
        assert sorted(str(a["title"]) for a in after.values() if a["source"] == "article-500s") == sorted(
            f"خبر متقطع رقم {i}" for i in range(6))
        assert len([a for a in after.values() if a["source"] == "feed-100k"]) == 200
        states2 = source_states(db_url)
        for c in cases:
            assert states2[c.name]["last_error_class"] == c.error_class, c.name
            assert _aware(states2[c.name]["last_checked_at"]) >= before - timedelta(seconds=1)
        assert second.max_rss_mb < MAX_RSS_MB


def _aware(value: object) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
