"""The hostile cases of one daemon pass: one source per case, served by the chaos server on 127.0.0.1.

``build_cases`` registers the routes and returns the cases; each names its source's YAML entry and what
the pass must record for it (``error_class`` on the source's state, or an article-level outcome checked by
the test). The same table feeds tests/reliability/test_hostile_pass.py and the figures in RELIABILITY.md.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from tests.integration.chaos_server import (
    ChaosHandler,
    ChaosServer,
    big,
    drip,
    hang,
    redirect,
    respond,
    send,
)
from tests.reliability.harness import article_html, rss

ARABIC_TITLE = "وزير الخارجية يبحث في القاهرة ملف المياه"
ARABIC_BODY = [
    "بحث وزير الخارجية اليوم في القاهرة مع نظيره المصري ملف مياه النيل والتعاون الإقليمي في مجال الطاقة.",
    "وقال المتحدث باسم الوزارة إن الجانبين اتفقا على مواصلة المشاورات خلال الأسابيع المقبلة.",
]
BIG_FEED_ITEMS = 100_000
RETRY_AFTER_SECONDS = 7200
# Deeper pages stall the whole daemon today (lexbor's tree builder is quadratic in <div> depth, and the
# extraction runs on the event loop): see test_extract_limits.py, which fails until that is fixed.
NESTED_DEPTH = 10_000
RETRY_AFTER_DATE_HOURS = 3


@dataclass
class Case:
    name: str
    url: str
    error_class: str | None  # expected sources.last_error_class; None: the listing must succeed
    what: str
    allow_private: bool = True
    never_hit: list[str] = field(default_factory=list)  # chaos paths that must see no request at all


def _gzip_zeros(size: int) -> bytes:
    """gzip of ``size`` zero bytes, compressed piecewise (never holding ``size`` bytes here)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [z.compress(block) for _ in range(size >> 20)]
    return b"".join([*parts, z.compress(b"\0" * (size & ((1 << 20) - 1))), z.flush()])


def _article(title: str, paragraphs: list[str]) -> bytes:
    return article_html(title, paragraphs).encode()


def _feed_route(items: list[tuple[str, str]], encoding: str = "UTF-8", body: bytes | None = None):  # type: ignore[no-untyped-def]
    data = body if body is not None else rss(items, encoding).encode(encoding)
    return respond(200, data, {"Content-Type": "application/rss+xml"})


def _big_feed(server: ChaosServer) -> bytes:
    link = server.url("/big/article")
    items = "".join(f"<item><link>{link}?n={i}</link></item>" for i in range(BIG_FEED_ITEMS))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>big</title>'
            f"{items}</channel></rss>").encode()


def _big_article(h: ChaosHandler) -> None:
    n = h.path.rsplit("=", 1)[-1]
    send(h, 200, _article(f"خبر رقم {n} من الموجز الكبير", [f"نص الخبر رقم {n} " * 8]))


def _nested(depth: int) -> bytes:
    head = f"<!doctype html><html lang='ar'><head><title>{ARABIC_TITLE} (متداخل)</title></head><body>"
    return (head + "<div>" * depth + "<p>" + ARABIC_BODY[0] + "</p>" + "</div>" * depth + "</body></html>").encode()


class _Flaky:
    """Article pages that answer 500 on their first request and the page afterwards."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, h: ChaosHandler) -> None:
        if h.path not in self.seen:
            self.seen.add(h.path)
            send(h, 500, b"<h1>Internal Server Error</h1>")
            return
        n = h.path.rsplit("=", 1)[-1]
        send(h, 200, _article(f"خبر متقطع رقم {n}", [f"الخادم أعاد الصفحة رقم {n} بعد الخطأ. " * 4]))


def build_cases(s: ChaosServer, refused_port: int, blackhole_port: int) -> list[Case]:
    """Register every hostile route on ``s`` and return one case per source."""
    u = s.url
    cases: list[Case] = []

    def case(name: str, path_or_url: str, error_class: str | None, what: str, **kw: object) -> None:
        url = path_or_url if "://" in path_or_url else u(path_or_url)
        cases.append(Case(name=name, url=url, error_class=error_class, what=what, **kw))  # type: ignore[arg-type]

    case("refused", f"http://127.0.0.1:{refused_port}/rss.xml", "connect", "connection refused")
    case("dns", "http://feeds.scraper-test.invalid/rss.xml", "dns", "DNS failure (.invalid host)")
    case("connect-timeout", f"http://127.0.0.1:{blackhole_port}/rss.xml", "timeout",
         "connect timeout (listening socket, full backlog)")
    s.route("/hang", hang())
    case("hang", "/hang", "timeout", "accepts and never answers")
    s.route("/drip", drip(total=10_000, every=0.2))
    case("drip", "/drip", "timeout", "slow drip, one byte per 0.2 s")
    s.route("/endless", big(1 << 40, content_length=False, chunk=256 * 1024))
    case("endless", "/endless", "too_large", "endless body (no Content-Length)")
    s.route("/huge-cl", big(60_000_000, content_length=True))
    case("huge-cl", "/huge-cl", "too_large", "60 MB body announced by Content-Length")
    s.route("/huge-nocl", big(60_000_000, content_length=False, chunk=256 * 1024))
    case("huge-nocl", "/huge-nocl", "too_large", "60 MB body without Content-Length")
    s.route("/bomb", respond(200, _gzip_zeros(400_000_000), {"Content-Encoding": "gzip"}))
    case("gzip-bomb", "/bomb", "decompression_bomb", "gzip bomb (400 MB of zeros in ~400 KB)")
    s.route("/loop/a", redirect(u("/loop/b")))
    s.route("/loop/b", redirect(u("/loop/a")))
    case("redirect-loop", "/loop/a", "redirects", "redirect loop a → b → a")
    for i in range(12):
        s.route(f"/chain/{i}", redirect(u(f"/chain/{i + 1}"), status=301 if i % 2 else 307))
    case("redirect-chain", "/chain/0", "redirects", "redirect chain of 12 hops (limit 5)")
    s.route("/ssrf/feed", _feed_route([("x", u("/ssrf/article"))]))
    case("ssrf-literal", "/ssrf/feed", "unsafe_url", "feed on 127.0.0.1, private networks not allowed",
         allow_private=False, never_hit=["/ssrf/feed", "/ssrf/article"])
    case("ssrf-localhost", f"http://localhost:{s.port}/ssrf/feed", "unsafe_url",
         "feed on localhost, private networks not allowed", allow_private=False, never_hit=["/ssrf/feed"])
    case("ssrf-decimal", f"http://2130706433:{s.port}/ssrf/feed", "unsafe_url",
         "feed on 2130706433 (= 127.0.0.1 in decimal)", allow_private=False, never_hit=["/ssrf/feed"])
    case("ssrf-mapped", f"http://[::ffff:127.0.0.1]:{s.port}/ssrf/feed", "unsafe_url",
         "feed on IPv4-mapped IPv6 loopback", allow_private=False, never_hit=["/ssrf/feed"])
    s.route("/ssrf/redirect", redirect(u("/ssrf/feed")))
    case("ssrf-redirect", u("/ssrf/redirect").replace("127.0.0.1", "127.1"), "unsafe_url",
         "feed on 127.1 (short form) redirecting to 127.0.0.1", allow_private=False,
         never_hit=["/ssrf/redirect", "/ssrf/feed"])
    s.route("/429", respond(429, b"slow down", {"Retry-After": str(RETRY_AFTER_SECONDS)}))
    case("rate-limited", "/429", "http_status", f"429 with Retry-After: {RETRY_AFTER_SECONDS} (seconds)")
    when = format_datetime(datetime.now(UTC) + timedelta(hours=RETRY_AFTER_DATE_HOURS), usegmt=True)
    s.route("/503", respond(503, b"maintenance", {"Retry-After": when}))
    case("unavailable", "/503", "http_status", f"503 with Retry-After as an HTTP date (+{RETRY_AFTER_DATE_HOURS} h)")
    s.route("/500", respond(500, b"<h1>Internal Server Error</h1>"))
    case("server-error", "/500", "http_status", "500 on the feed")
    s.route("/empty", respond(200, b"", {"Content-Type": "application/rss+xml"}))
    case("empty-200", "/empty", "parse", "200 with an empty body")
    s.route("/html", respond(200, _article("صفحة وليست موجزا", ["ليست موجزا"]), {"Content-Type": "text/html"}))
    case("html-not-feed", "/html", "parse", "an HTML page where a feed was expected")
    s.route("/binary", respond(200, bytes((i * 7919 + 13) % 256 for i in range(200_000)),
                               {"Content-Type": "application/rss+xml"}))
    case("binary", "/binary", "parse", "200 KB of binary garbage")
    full = rss([(f"خبر مقطوع {i}", u(f"/trunc/a?n={i}")) for i in range(6)]).encode()
    s.route("/trunc/feed", _feed_route([], body=full[: len(full) * 2 // 3]))
    s.route("/trunc/a", lambda h: send(h, 200, _article(f"خبر مقطوع {h.path[-1]}", ARABIC_BODY)))
    case("truncated-xml", "/trunc/feed", None, "XML cut off two thirds in (items before the cut are kept)")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "{u("/xxe-canary")}">'
           '<!ENTITY pw SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel><title>&xxe;&pw;</title>'
           f'<item><title>&pw;</title><link>{u("/xxe-canary")}</link></item></channel></rss>')
    s.route("/xxe", respond(200, xxe.encode(), {"Content-Type": "application/rss+xml"}))
    case("xxe", "/xxe", "parse", "external entities (file:///etc/passwd and an http canary)",
         never_hit=["/xxe-canary"])
    lol = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    laughs = (f'<?xml version="1.0"?><!DOCTYPE rss [{"".join(lol)}]><rss version="2.0"><channel>'
              "<title>&lol9;</title><item><title>&lol9;</title><link>http://127.0.0.1/x</link></item>"
              "</channel></rss>")
    s.route("/laughs", respond(200, laughs.encode(), {"Content-Type": "application/rss+xml"}))
    case("billion-laughs", "/laughs", "parse", "billion laughs (10^9 entity expansions)")
    s.route("/laughs-gz", respond(200, gzip.compress(laughs.encode()), {"Content-Type": "application/rss+xml",
                                                                         "Content-Encoding": "gzip"}))
    case("billion-laughs-gzip", "/laughs-gz", "parse", "billion laughs, gzip-encoded")
    s.route("/big/feed", _feed_route([], body=_big_feed(s)))
    s.route("/big/article", _big_article)
    case("feed-100k", "/big/feed", None, f"a feed of {BIG_FEED_ITEMS:,} items (first 100 fetched per pass)")
    cp = rss([(ARABIC_TITLE, u("/charset/article"))], encoding="UTF-8").encode("cp1256")
    s.route("/charset/feed", respond(200, cp, {"Content-Type": "application/rss+xml; charset=utf-8"}))
    s.route("/charset/article", respond(200, article_html(ARABIC_TITLE, ARABIC_BODY).encode("cp1256"),
                                        {"Content-Type": "text/html; charset=utf-8"}))
    case("wrong-charset", "/charset/feed", None, "windows-1256 bytes declared as UTF-8 (feed and page)")
    s.route("/deep/feed", _feed_route([(f"{ARABIC_TITLE} (متداخل)", u("/deep/article"))]))
    s.route("/deep/article", respond(200, _nested(NESTED_DEPTH)))
    case("deep-nesting", "/deep/feed", None, f"article page nested {NESTED_DEPTH:,} <div>s deep")
    s.route("/oneline/feed", _feed_route([("سطر واحد", u("/oneline/article"))]))
    s.route("/oneline/article", respond(200, b"<html><body><p>" + "كلمة ".encode() * 5_000_000 + b"</p></body>"))
    case("one-line-50mb", "/oneline/feed", None, "article page of one 50 MB line")
    s.route("/flaky/feed", _feed_route([(f"خبر متقطع رقم {i}", u(f"/flaky/a?n={i}")) for i in range(6)]))
    s.route("/flaky/a", _Flaky())
    case("article-500s", "/flaky/feed", None, "every article page answers 500 once, then the page")
    return cases
