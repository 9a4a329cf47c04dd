"""A source's charset repair is remembered (sources.charset_fix) and used first on its next pages.

Real pages from a loopback server through the real pipeline (fetch → decode → extract → store):
  * ISO-8859-6 pages with no declaration: the long page is detected (the chromium fixture), so
    ``charset:iso-8859-6`` is remembered; the short page after it is one detection alone gets wrong
    (it reads "حرب غزة" as windows-1256: "حرب عزة"), and the memory decodes it right. When the site
    moves to UTF-8 the remembered charset is refused (the bytes are UTF-8) and forgotten.
  * windows-1256 served as "ISO-8859-1" (Apache's default label): Arabic, not Latin letters.
  * UTF-8 Arabic that went through cp1252 upstream (mojibake): repaired, ``mojibake:cp1252``
    remembered and shown by `scraper sources status --format json`; a clean page clears it."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

from sqlmodel import select

from scraper.config import Config, Settings
from scraper.extract.decode import decode_page
from scraper.fetch.client import Fetcher
from scraper.pipeline import RefreshReport, Runtime, refresh_source
from scraper.store import repo
from scraper.store.db import make_engine, upgrade
from scraper.store.db import session as open_session
from scraper.store.tables import Article
from tests.integration.chaos_server import ChaosHandler, ChaosServer, send
from tests.reliability.harness import base_env, rss, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "encodings"
SHORT = "حرب غزة"
SHORT_WRONG = "حرب عزة"  # the same ISO-8859-6 bytes read as windows-1256
MOJIBAKE_TEXT = "أعلنت وزارة الصحة في غزة ارتفاع عدد الضحايا"


def _fixture_page(name: str) -> bytes:
    """A fixture page with its text (left as the original bytes) wrapped in <article><p>, so the
    extractor takes it for the body: the fixture has the bare text in <body>."""
    raw = gzip.decompress((FIXTURES / name).read_bytes())
    raw = raw.replace(b'<body dir="RTL">', b'<body dir="RTL"><article><p>')
    return raw.replace(b"</body>", b"</p></article></body>")


def _short_page(charset_meta: str = "") -> str:
    return f"<html><head>{charset_meta}<title>{SHORT}</title></head><body><h1>{SHORT}</h1></body></html>"


def _mojibake(text: str) -> bytes:
    """UTF-8 bytes of ``text`` decoded as cp1252 (latin-1 for its 5 unassigned bytes), then sent as UTF-8."""
    return "".join(bytes([b]).decode("cp1252", errors="strict") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
                   else chr(b) for b in text.encode("utf-8")).encode("utf-8")


class Site:
    """One feed whose items and pages a test sets between passes."""

    def __init__(self) -> None:
        self.server = ChaosServer().start()
        self.pages: dict[str, tuple[bytes, str]] = {}  # path → (body, Content-Type)

        def feed(h: ChaosHandler) -> None:
            links = [(f"خبر {n}", self.server.url(path)) for n, path in enumerate(self.pages)]
            send(h, 200, rss(links).encode(), {"Content-Type": "application/rss+xml"})

        def page(h: ChaosHandler) -> None:
            body, ctype = self.pages[h.path]
            send(h, 200, body, {"Content-Type": ctype})

        self.server.route("/feed", feed)
        self.page_route = page

    def add(self, path: str, body: bytes, ctype: str = "text/html") -> None:
        self.server.route(path, self.page_route)
        self.pages[path] = (body, ctype)


async def _pass(db_url: str, site: Site) -> RefreshReport:
    config = Config.model_validate({"sources": [{"name": "legacy", "url": site.server.url("/feed"),
                                                 "allow_private": True}]})
    settings = Settings(database_url=db_url, per_host_delay=0.0)
    engine = make_engine(db_url)
    with open_session(engine) as s:
        repo.sync_sources(s, config)
    try:
        async with Fetcher(settings, per_host_delay=0.0) as fetcher:
            rt = Runtime(settings=settings, config=config, engine=engine, fetcher=fetcher,
                         rules=Runtime.build_rules(config))
            return await refresh_source(rt, config.source("legacy"))
    finally:
        engine.dispose()


def _state(db_url: str) -> tuple[str | None, dict[str, str]]:
    """(the source's charset_fix, article text by URL path)."""
    engine = make_engine(db_url)
    try:
        with open_session(engine) as s:
            fix = repo.get_source_state(s, "legacy").charset_fix
            texts = {a.url.split("/", 3)[-1]: f"{a.title}\n{a.body}" for a in s.exec(select(Article)).all()}
        return fix, texts
    finally:
        engine.dispose()


def test_a_remembered_charset_decodes_the_short_page_and_is_forgotten_on_utf8(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade(db_url)
    site = Site()
    try:
        site.add("/long", _fixture_page("chromium-iso-8859-6-no-charset-declared.html.gz"))
        report = asyncio.run(_pass(db_url, site))
        assert (report.outcome, report.new_articles) == ("ok", 1), report
        fix, texts = _state(db_url)
        assert fix == "charset:iso-8859-6"
        assert "بيت لاهيا" in texts["long"]

        short = _short_page().encode("iso-8859-6")
        assert SHORT_WRONG in decode_page(short).text  # what detection alone makes of it
        site.add("/short", short)
        asyncio.run(_pass(db_url, site))
        fix, texts = _state(db_url)
        assert SHORT in texts["short"] and SHORT_WRONG not in texts["short"], texts["short"]
        assert fix == "charset:iso-8859-6"

        site.add("/moved", _short_page('<meta charset="utf-8">').replace(SHORT, "قمة عربية طارئة").encode())
        asyncio.run(_pass(db_url, site))
        fix, texts = _state(db_url)
        assert "قمة عربية طارئة" in texts["moved"]
        assert fix is None
    finally:
        site.server.stop()


def test_windows_1256_labelled_latin1_and_mojibake_are_repaired_and_shown(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(db_url)
    site = Site()
    try:
        site.add("/cp1256", _fixture_page("chromium-windows-1256-no-charset-declared.html.gz"),
                 "text/html; charset=ISO-8859-1")
        asyncio.run(_pass(db_url, site))
        fix, texts = _state(db_url)
        assert "بيت لاهيا" in texts["cp1256"] and fix == "charset:windows-1256"

        page = f"<html><head><title>{MOJIBAKE_TEXT}</title></head><body><article><p>{MOJIBAKE_TEXT}</p>" \
               f"<p>{MOJIBAKE_TEXT} اليوم</p></article></body></html>"
        site.pages.clear()
        site.add("/mojibake", _mojibake(page), "text/html; charset=utf-8")
        asyncio.run(_pass(db_url, site))
        fix, texts = _state(db_url)
        assert MOJIBAKE_TEXT in texts["mojibake"] and "Ø" not in texts["mojibake"], texts["mojibake"]
        assert fix == "mojibake:cp1252"

        config = tmp_path / "sources.yaml"
        config.write_text(f"sources:\n  - {{name: legacy, url: '{site.server.url('/feed')}', allow_private: true}}\n",
                          encoding="utf-8")
        status = run_cli(["sources", "status", "--format", "json"], base_env(db_url, config), tmp_path)
        assert status.returncode == 0, status.stderr[-2000:]
        rows = json.loads(status.stdout)
        rows = rows["results"] if isinstance(rows, dict) else rows
        assert [r["charset_fix"] for r in rows if r["name"] == "legacy"] == ["mojibake:cp1252"]

        site.pages.clear()
        site.add("/clean", f"<html><body><article><p>{MOJIBAKE_TEXT}</p></article></body></html>".encode(),
                 "text/html; charset=utf-8")
        asyncio.run(_pass(db_url, site))
        assert _state(db_url)[0] is None
    finally:
        site.server.stop()
