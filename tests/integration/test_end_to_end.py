"""End to end through the real CLI: `scraper run --once` against a loopback news site, a real webhook
receiver and a real SMTP server, on SQLite and PostgreSQL.

The site serves real Arabic pages from tests/fixtures/articles (see ORIGIN.md there) and the demo outlets'
articles written for the project (two outlets carry the same Iran–Russia story)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from scraper.demo.receiver import WebhookReceiver
from scraper.demo.site import NewsSite
from scraper.store.db import make_engine
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, Article, RuleMatch, SourceState, Story
from tests.conftest import FIXTURES, SMTPSink, read_fixture

REAL_PAGES = sorted(p.name.removesuffix(".html.gz") for p in (FIXTURES / "articles").glob("*.html.gz"))


def add_real_outlet(site: NewsSite) -> None:
    """/real/rss.xml lists the recorded real pages, served at /real/<name>.html."""
    items = []
    for name in REAL_PAGES:
        site.routes[f"/real/{name}.html"] = (200, "text/html; charset=utf-8", read_fixture(f"articles/{name}.html.gz"))
        items.append(f"<item><title>{name}</title><link>{site.base}/real/{name}.html</link></item>")
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>real</title>{"".join(items)}</channel></rss>'
    site.routes["/real/rss.xml"] = (200, "application/rss+xml", feed.encode())
    site.routes["/broken/rss.xml"] = (500, "text/html", b"<h1>Internal Server Error</h1>")
    site.routes["/garbage/rss.xml"] = (200, "application/rss+xml", bytes(range(256)) * 40)


def write_config(tmp: Path, site: NewsSite, hook: WebhookReceiver) -> Path:
    sources = "".join(
        f"  - {{name: {name}, url: '{site.base}/{name}/rss.xml', kind: feed, interval: 10m}}\n"
        for name in [*site.outlets(), "real", "broken", "garbage"]
    )
    text = (
        "channels:\n"
        "  desk: {type: email, to: [desk@example.org]}\n"
        f"  ops: {{type: webhook, url: '{hook.url}', secret: '${{HOOK_SECRET}}'}}\n"
        "rules:\n"
        "  - name: iran-russia\n"
        "    query: '(إيران OR طهران) AND (روسيا OR موسكو OR الكرملين)'\n"
        "    channels: [desk, ops]\n"
        f"sources:\n{sources}"
    )
    path = tmp / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run_once(db_url: str, config: Path, smtp: SMTPSink, secret: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "SCRAPER_CONFIG": str(config), "HOOK_SECRET": secret,
           "SCRAPER_ALLOW_PRIVATE_NETWORKS": "1", "SMTP_HOST": smtp.host, "SMTP_PORT": str(smtp.port),
           "SCRAPER_LOG_FORMAT": "json", "SCRAPER_PER_HOST_DELAY": "0.05"}
    return subprocess.run([sys.executable, "-m", "scraper", "run", "--once"], env=env, capture_output=True,
                          text=True, timeout=120)


def test_fixture_pages_are_present() -> None:
    assert len(REAL_PAGES) >= 4, "tests/fixtures/articles must hold the recorded real pages"


def test_run_once_stores_matches_and_alerts_once(db_url: str, tmp_path: Path, smtp_server: SMTPSink,
                                                webhook_receiver: WebhookReceiver) -> None:
    with NewsSite() as site:
        add_real_outlet(site)
        config = write_config(tmp_path, site, webhook_receiver)
        first = run_once(db_url, config, smtp_server, webhook_receiver.secret)
        assert first.returncode == 0, first.stderr[-3000:]

        engine = make_engine(db_url)
        with open_session(engine) as s:
            articles = list(s.exec(select(Article)).all())
            expected = len(site.articles) + len(REAL_PAGES)
            assert len(articles) == expected
            assert len({a.url_hash for a in articles}) == expected
            by_slug = {a.url.rsplit("/", 1)[-1]: a for a in articles}
            talks = by_slug["iran-russia-talks.html"]
            assert talks.title == "وزير الخارجية الإيراني يبحث في موسكو التعاون في مجال الطاقة"
            assert talks.author == "سلمى الحداد" and talks.published_at is not None
            assert "اقرأ أيضا" not in talks.body and "جميع الحقوق محفوظة" not in talks.body
            # the reprint on the second outlet joins the same story
            assert by_slug["tehran-moscow-energy.html"].story_id == talks.story_id
            story = s.get(Story, talks.story_id)
            assert story is not None and story.article_count == 2
            matches = s.exec(select(RuleMatch)).all()
            assert {m.article_id for m in matches} == {talks.id, by_slug["tehran-moscow-energy.html"].id}
            # traps: Belarus and the sports story do not match
            assert by_slug["belarus-trade.html"].id not in {m.article_id for m in matches}
            alerts = s.exec(select(Alert)).all()
            assert sorted(a.channel for a in alerts) == ["desk", "ops"]
            assert all(a.status == "sent" for a in alerts)
            states = {st.name: st for st in s.exec(select(SourceState)).all()}
        engine.dispose()

        [hook] = webhook_receiver.deliveries
        assert hook.signature_ok
        assert hook.payload["rule"] == "iran-russia"
        assert hook.payload["article"]["url"].endswith(("iran-russia-talks.html", "tehran-moscow-energy.html"))
        assert len(smtp_server.messages) == 1
        assert smtp_server.messages[0]["Subject"].startswith("[iran-russia] ")

        # bad sources are recorded, named in the log, and did not stop the others
        assert states["broken"].last_error_class == "http_status" and "500" in (states["broken"].last_error or "")
        assert states["garbage"].last_error_class == "parse"
        assert states["real"].last_error_class is None and states["real"].last_success_at is not None
        assert '"source": "broken"' in first.stderr and "/broken/rss.xml" in first.stderr

        second = run_once(db_url, config, smtp_server, webhook_receiver.secret)
        assert second.returncode == 0, second.stderr[-3000:]
        engine = make_engine(db_url)
        with open_session(engine) as s:
            assert len(s.exec(select(Article)).all()) == expected
            assert len(s.exec(select(Alert)).all()) == 2
        engine.dispose()
        assert len(webhook_receiver.deliveries) == 1 and len(smtp_server.messages) == 1


@pytest.mark.parametrize(
    ("config_text", "message"),
    [
        ("sources: [{name: x, url: 'ftp://x'}]\n", "sources.yaml:1: sources.0.url: source url must be http(s)"),
        ("rules: [{name: r, query: 'إيران AND (روسيا', channels: []}]\n", "rule 'r': unbalanced '('"),
        ("rules: [{name: r, query: 'إيران', channels: [nowhere]}]\n", "unknown channel 'nowhere'"),
        ("sources: [unclosed\n", "sources.yaml:2: invalid YAML"),
    ],
)
def test_bad_config_exits_2_with_a_clear_message(tmp_path: Path, config_text: str, message: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(config_text, encoding="utf-8")
    env = {**os.environ, "SCRAPER_CONFIG": str(path), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    for args in (["sources", "check"], ["run", "--once"]):
        proc = subprocess.run([sys.executable, "-m", "scraper", *args], env=env, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr
        assert "Traceback" not in proc.stderr
