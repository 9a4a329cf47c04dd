"""Property fuzzing of the functional core with hypothesis: on any input, each function returns or raises
only its documented error (ParseError, ExtractionError, ValueError for canonical_url, QuerySyntaxError).

Bounded for CI (FUZZ_EXAMPLES per function, no deadline: the machine is shared); set
SCRAPER_FUZZ_EXAMPLES to run longer (RELIABILITY.md reports such a run). Inputs mix random bytes with
mutated real-looking documents, so the parsers get past their first byte."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from scraper.errors import ExtractionError, ParseError, QuerySyntaxError
from scraper.extract.article import extract_article
from scraper.extract.dates import parse_date
from scraper.extract.decode import decode_html
from scraper.match.query import parse_query
from scraper.normalize.text import normalize_text, tokenize
from scraper.normalize.urls import canonical_url
from scraper.parse.feeds import parse_feed
from scraper.parse.sitemaps import parse_sitemap
from tests.reliability.harness import REPO

FUZZ_EXAMPLES = int(os.environ.get("SCRAPER_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)

FEED = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>\xd8\xa3\xd8\xae\xd8\xa8\xd8\xa7'
        b'\xd8\xb1</title><item><title>x</title><link>http://a.example/1</link><pubDate>Mon, 05 Jan 2026 '
        b"10:00:00 +0300</pubDate></item></channel></rss>")
ATOM = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>x</title>'
        b'<link href="http://a.example/2"/><updated>2026-01-05T10:00:00Z</updated></entry></feed>')
SITEMAP = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>'
           b"<loc>http://a.example/3</loc><lastmod>2026-01-05</lastmod></url></urlset>")
PAGE = ('<html lang="ar" dir="rtl"><head><title>عنوان الخبر</title><meta property="og:title" content="عنوان">'
        '<script type="application/ld+json">{"@type":"NewsArticle","headline":"خبر","datePublished":'
        '"2026-01-05"}</script></head><body><article><h1>عنوان الخبر</h1><p>نص الخبر الأول في الفقرة.</p>'
        "</article></body></html>").encode()
XML_BITS = [b"<", b">", b"</", b"/>", b"<![CDATA[", b"]]>", b"<!DOCTYPE x>", b"<!ENTITY", b"&amp;", b"&#x0;",
            b"&bogus;", b"<item>", b"</item>", b"<link>", b"<url>", b"<loc>", b"<sitemapindex>", b"\xff\xfe",
            b"\xef\xbb\xbf", b"\x00", b"encoding=\"utf-16\"", b"<?xml version='1.0'?>", b"{", b"}", b"\"items\":["]
HTML_BITS = ["<div>", "</div>", "<p>", "</p>", "<script>", "</script>", "<meta charset='windows-1256'>",
             "<h1>", "<time datetime='2026-13-45'>", "<a href='javascript:alert(1)'>", "\u202e", "\x00",
             "<table>", "<br>", "&#0;", "&nbsp;", "<!--", "-->", '{"@type":"NewsArticle"', "<html", "<body>"]


def _mutated(seed: bytes, bits: list[bytes]) -> st.SearchStrategy[bytes]:
    """``seed`` with random slices replaced by random bytes or markup fragments."""
    piece = st.one_of(st.binary(max_size=40), st.sampled_from(bits))

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = bytearray(seed)
        for _ in range(draw(st.integers(0, 6))):
            at = draw(st.integers(0, len(data)))
            cut = draw(st.integers(0, 20))
            data[at:at + cut] = draw(piece)
        return bytes(data)

    return build()


def _documents(seed: bytes, bits: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=2000), _mutated(seed, bits),
                     st.lists(st.sampled_from(bits), max_size=60).map(b"".join))


CONTENT_TYPES = st.sampled_from([None, "application/rss+xml", "text/html; charset=windows-1256",
                                 "application/xml; charset=utf-16", "text/html; charset=bogus", "application/json"])


@FUZZ
@given(_documents(FEED, XML_BITS) | _documents(ATOM, XML_BITS), CONTENT_TYPES)
# found at 2,000 examples: a namespace with a space (NBSP once decoded) makes feedparser's strict parser
# raise ValueError, which _parse_slow lets through
@example(body=b'<feed xmlns="\x86\xa0!">', ctype="text/html; charset=windows-1256")
def test_parse_feed(body: bytes, ctype: str | None) -> None:
    try:
        feed = parse_feed(body, "http://a.example/feed", ctype)
    except ParseError:
        return
    for item in feed.items:
        assert item.url.startswith(("http://", "https://"))


@FUZZ
@given(_documents(SITEMAP, XML_BITS))
def test_parse_sitemap(body: bytes) -> None:
    try:
        parse_sitemap(body, "http://a.example/sitemap.xml", NOW)
    except ParseError:
        return


@FUZZ
@given(st.one_of(_mutated(PAGE, [b.encode() for b in HTML_BITS]),
                 st.lists(st.sampled_from(HTML_BITS) | st.text(max_size=30), max_size=80).map("".join)),
       CONTENT_TYPES)
def test_extract_article(page: bytes | str, ctype: str | None) -> None:
    try:
        draft = extract_article(page, "http://a.example/article", content_type=ctype, now=NOW)
    except ExtractionError:
        return
    assert draft.title or draft.paragraphs


@FUZZ
@given(st.binary(max_size=3000) | _mutated(PAGE, [b.encode() for b in HTML_BITS]), CONTENT_TYPES)
def test_decode_html(body: bytes, ctype: str | None) -> None:
    text, encoding = decode_html(body, ctype)
    assert isinstance(text, str) and encoding


URL_BITS = ["http://", "https://", "HTTP://", "//", ":", "@", "[", "]", "::1", "%", "%zz", "%41", "?", "#", "&",
            "=", "utm_source=x", "/../", "/./", "xn--", "ا", "\u202e", " ", "\t", ":99999", ":0", "javascript:",
            "127.0.0.1", "a.example", "/amp", "?amp=1"]


@FUZZ
@given(st.lists(st.sampled_from(URL_BITS) | st.text(max_size=8), max_size=16).map("".join),
       st.none() | st.sampled_from(["http://a.example/x/", "https://b.example", "not a url"]))
@example(url=":/amp/amp", base="http://a.example/x/")  # found at 2,000 examples: one /amp stripped per call
# found by atheris (bench/fuzz_atheris.py): ".amp.amp" lost one extension per call, and a NUL host was accepted
@example(url="HTTP://\x00/amI%t\ufffd\ufffd\ufffd\tTP://\x00/amI%t\ufffd.amp.amp", base=None)
@example(url="https://a.example/news/1.amp.amp", base=None)
@example(url="HTTP://h/..amp.amp?\x00b.", base=None)  # ".amp" stripped to a dot segment (atheris)
@example(url="HTTP://Amp.amp.amp.amp/?\ufffd", base=None)  # one host prefix stripped per call (atheris)
def test_canonical_url(url: str, base: str | None) -> None:
    try:
        out = canonical_url(url, base)
    except ValueError:
        return
    assert out.startswith(("http://", "https://"))
    assert canonical_url(out) == out  # canonical is a fixed point


@FUZZ
@given(st.text(max_size=500))
def test_normalize_and_tokenize(text: str) -> None:
    norm = normalize_text(text)
    assert normalize_text(norm) == norm  # idempotent
    assert all(tok for tok in tokenize(text))


QUERY_BITS = ["AND", "OR", "NOT", "(", ")", '"', "«...»", "“...”", "*", "NEAR/3", "إيران", "روسيا", "-", "+", " ",
              "title:", "~"]


@FUZZ
@given(st.lists(st.sampled_from(QUERY_BITS) | st.text(max_size=6), max_size=25).map(" ".join))
def test_parse_query(text: str) -> None:
    # A lone closing quote hangs parse_query today (test_lone_closing_quote_is_an_error, in a child
    # process); keep it out of the in-process run so a hang cannot stall the suite.
    assume(not any(q in text for q in "»”"))
    try:
        parse_query(text)
    except QuerySyntaxError as exc:
        assert 0 <= exc.position <= len(text)


@pytest.mark.parametrize("text", ["»", "طهران ”", "«موسكو» »"])
def test_lone_closing_quote_is_an_error(text: str) -> None:
    """Found at ~1,000 examples: in scraper/match/query.py ``_lex``, a closing quote that opens nothing
    (» or ”) goes to the bare-word branch, ``_BARE_END`` matches at ``i`` itself and the loop never
    advances: `/api/articles?q=»` spins a worker thread forever."""
    code = ("import sys\nfrom scraper.errors import QuerySyntaxError\nfrom scraper.match.query import parse_query\n"
            "try:\n    parse_query(sys.argv[1])\nexcept QuerySyntaxError as exc:\n    print(exc.position)\n")
    try:
        proc = subprocess.run([sys.executable, "-c", code, text], capture_output=True, text=True, timeout=10,
                              cwd=REPO)
    except subprocess.TimeoutExpired:
        pytest.fail(f"parse_query({text!r}) did not return within 10 s")
    assert proc.returncode == 0, proc.stderr[-2000:]


DATE_BITS = ["2026", "-", "01", "13", "45", "T", ":", "Z", "+03:00", "الأحد", "يناير", "كانون الثاني", "هـ",
             "منذ", "ساعة", "ساعات", "أمس", "٢٠٢٦", "/", " ", "GMT", "99999999", "0", "رمضان", "1447"]


@FUZZ
@given(st.lists(st.sampled_from(DATE_BITS) | st.text(max_size=5), max_size=12).map(" ".join))
@example(text="منذ 99999999 ساعة")  # OverflowError from _parse_relative (see test_poison_article.py)
@example(text="Mon,4 Jan 2026 10:00:" + "4" * 120 + "00 GMT")  # OverflowError in email.utils (atheris)
def test_parse_date(text: str) -> None:
    out = parse_date(text, now=NOW)
    assert out is None or out.tzinfo is not None
