"""A small local news site (RSS feeds and article pages) on 127.0.0.1, for the demo and for tests.

Each outlet gets ``/<outlet>/rss.xml`` and ``/<outlet>/<slug>.html``; pages carry JSON-LD, OpenGraph
and an RTL layout with navigation and "read also" boilerplate, like real Arabic news sites."""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterable
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scraper.demo.articles import ARTICLES, DemoArticle


def render_page(base: str, art: DemoArticle) -> str:
    e = html.escape
    url = f"{base}/{art.outlet}/{art.slug}.html"
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": art.title,
          "datePublished": art.published, "author": {"@type": "Person", "name": art.author},
          "mainEntityOfPage": url}
    body = "\n".join(f"<p>{e(p)}</p>" for p in art.paragraphs)
    return f"""<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>{e(art.title)} - {e(art.outlet)}</title>
<link rel="canonical" href="{e(url)}">
<meta property="og:title" content="{e(art.title)}"><meta property="og:url" content="{e(url)}">
<meta property="article:published_time" content="{e(art.published)}">
<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>
</head><body>
<nav><a href="/">الرئيسية</a> <a href="/politics">سياسة</a> <a href="/economy">اقتصاد</a></nav>
<article><h1>{e(art.title)}</h1><div class="byline">{e(art.author)}</div>
<div class="article-body">{body}</div></article>
<aside><h3>اقرأ أيضا</h3><ul><li><a href="/x">أسعار الذهب اليوم</a></li></ul></aside>
<footer>جميع الحقوق محفوظة</footer>
</body></html>"""


def render_feed(base: str, outlet: str, articles: Iterable[DemoArticle]) -> str:
    e = html.escape
    items = []
    for art in articles:
        url = f"{base}/{outlet}/{art.slug}.html"
        pub = format_datetime(datetime.fromisoformat(art.published))
        items.append(f"<item><title>{e(art.title)}</title><link>{e(url)}</link><guid>{e(url)}</guid>"
                     f"<pubDate>{pub}</pubDate></item>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{e(outlet)}</title>'
            f"<link>{e(base)}/{outlet}/</link><description>demo</description><language>ar</language>"
            f"{''.join(items)}</channel></rss>")


class NewsSite:
    """Serve the demo outlets from a background thread. ``routes`` may be extended by tests."""

    def __init__(self, articles: Iterable[DemoArticle] = ARTICLES) -> None:
        self.articles = list(articles)
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits.append(self.path)
                status, ctype, body = site.respond(self.path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def outlets(self) -> list[str]:
        return sorted({a.outlet for a in self.articles})

    def respond(self, path: str) -> tuple[int, str, bytes]:
        path = path.split("?", 1)[0]
        if path in self.routes:
            return self.routes[path]
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nAllow: /\n"
        for outlet in self.outlets():
            if path == f"/{outlet}/rss.xml":
                arts = [a for a in self.articles if a.outlet == outlet]
                return 200, "application/rss+xml; charset=utf-8", render_feed(self.base, outlet, arts).encode()
        for art in self.articles:
            if path == f"/{art.outlet}/{art.slug}.html":
                return 200, "text/html; charset=utf-8", render_page(self.base, art).encode()
        return 404, "text/plain", b"not found"

    def __enter__(self) -> NewsSite:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
