"""parse_sitemap: news sitemaps, plain urlsets with lastmod, indexes, gzip, and hostile input."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scraper.errors import ParseError
from scraper.parse.sitemaps import parse_sitemap, sitemap_date
from scraper.parse.xmlsafe import gunzip_capped

SITEMAPS = Path(__file__).parent.parent / "fixtures" / "sitemaps"
NOW = datetime(2025, 6, 3, 10, 0, tzinfo=UTC)
SITE = "https://www.example-akhbar.com/sitemaps/news.xml"


def raw(name: str) -> bytes:
    return (SITEMAPS / name).read_bytes()


def fixture(name: str) -> bytes:
    return gzip.decompress(raw(name))


def test_news_sitemap_keeps_recent_and_undated_news_entries() -> None:
    result = parse_sitemap(fixture("arabic-news-sitemap.xml.gz"), SITE, NOW)
    assert result.child_sitemaps == []
    assert [(i.url, i.title, i.published_at) for i in result.items] == [
        ("https://www.example-akhbar.com/world/2025/06/03/iran-russia-nuclear-talks",
         "طهران وموسكو تستأنفان المحادثات حول البرنامج النووي", datetime(2025, 6, 3, 6, 15, tzinfo=UTC)),
        # news:publication_date wins over lastmod
        ("https://www.example-akhbar.com/economy/2025/06/02/oil-opec",
         "أوبك+ تبقي على سياسة الإنتاج دون تغيير", datetime(2025, 6, 2, 16, 40, tzinfo=UTC)),
        # the 2025-05-20 story is dropped although its lastmod is today
        ("https://www.example-akhbar.com/gulf/2025/06/03/riyadh-summit",
         "قمة الرياض: دعوة إلى التهدئة الإقليمية", None),
        ("https://www.example-akhbar.com/politics/2025/06/03/relative-loc", None, datetime(2025, 6, 3, tzinfo=UTC)),
    ]


def test_gzipped_body_is_detected_by_magic_bytes() -> None:
    plain = parse_sitemap(fixture("arabic-news-sitemap.xml.gz"), SITE, NOW)
    assert parse_sitemap(raw("arabic-news-sitemap.xml.gz"), SITE, NOW) == plain


def test_max_age_widens_the_window() -> None:
    result = parse_sitemap(fixture("arabic-news-sitemap.xml.gz"), SITE, NOW, max_age=timedelta(days=30))
    assert "https://www.example-akhbar.com/sport/2025/05/20/old-match-report" in [i.url for i in result.items]


def test_plain_urlset_by_lastmod_drops_undated() -> None:
    result = parse_sitemap(raw("arabic-urlset-lastmod.xml.gz"), SITE, NOW)
    assert [(i.url, i.published_at) for i in result.items] == [
        ("https://www.example-akhbar.com/articles/88001", datetime(2025, 6, 3, 4, 0, tzinfo=UTC)),
        ("https://www.example-akhbar.com/articles/88003", datetime(2025, 6, 3, 3, 0, tzinfo=UTC)),
    ]


def test_sitemap_index_returns_children_most_recent_first() -> None:
    result = parse_sitemap(raw("arabic-sitemap-index.xml.gz"), "https://www.example-akhbar.com/sitemap.xml", NOW)
    assert result.items == []
    assert result.child_sitemaps == [
        "https://www.example-akhbar.com/sitemaps/news.xml",
        "https://www.example-akhbar.com/sitemaps/2025-06.xml.gz",
        "https://www.example-akhbar.com/sitemaps/2025-05.xml.gz",
        "https://www.example-akhbar.com/sitemaps/static-pages.xml",
    ]


def test_real_index_with_cdata_loc() -> None:
    result = parse_sitemap(raw("spec-example-sitemapindex-cdata.xml.gz"), "http://www.example.com/s.xml", NOW)
    assert result.child_sitemaps == ["http://www.example.com/sitemap2.xml.gz", "http://www.example.com/sitemap1.xml.gz"]


def test_real_nytimes_news_sitemap_with_padded_loc_and_title() -> None:
    now = datetime(2020, 5, 12, tzinfo=UTC)
    result = parse_sitemap(raw("nytimes-news-sitemap-2020-05.xml.gz"), "https://www.nytimes.com/sitemaps/news.xml", now)
    first = result.items[0]
    assert first.url == "https://www.nytimes.com/interactive/2020/05/11/magazine/quarantine-insanity.html"
    assert first.title == "Quarantine Was Driving Me Crazy — So I Decided to Lose My Mind on Purpose"
    assert first.published_at == datetime(2020, 5, 11, 9, 0, 1, tzinfo=UTC)
    assert all(i.url.startswith("https://www.nytimes.com/") for i in result.items)
    assert len(result.items) >= 2


def test_rss_listed_as_sitemap_is_read_as_a_feed() -> None:
    body = (
        b'<rss version="2.0"><channel><item><link>https://s.test/new</link><pubDate>Tue, 03 Jun 2025 08:00:00 +0300'
        b"</pubDate></item><item><link>https://s.test/old</link><pubDate>Mon, 05 May 2025 08:00:00 +0300</pubDate>"
        b"</item></channel></rss>"
    )
    assert [i.url for i in parse_sitemap(body, "https://s.test/rss", NOW).items] == ["https://s.test/new"]


def test_naive_now_is_taken_as_utc() -> None:
    result = parse_sitemap(raw("arabic-urlset-lastmod.xml.gz"), SITE, NOW.replace(tzinfo=None))
    assert len(result.items) == 2


def test_truncated_sitemap_keeps_complete_entries() -> None:
    body = fixture("arabic-urlset-lastmod.xml.gz")
    cut = body[: body.index(b"/articles/87000")]
    assert [i.url for i in parse_sitemap(cut, SITE, NOW).items] == ["https://www.example-akhbar.com/articles/88001"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-03T10:00:00+03:00", datetime(2025, 6, 3, 7, 0, tzinfo=UTC)),
        ("2025-06-03T10:00Z", datetime(2025, 6, 3, 10, 0, tzinfo=UTC)),
        ("2025-06-03", datetime(2025, 6, 3, tzinfo=UTC)),
        ("2025-06", datetime(2025, 6, 1, tzinfo=UTC)),
        ("2025", datetime(2025, 1, 1, tzinfo=UTC)),
        ("Tue, 03 Jun 2025 10:00:00 GMT", datetime(2025, 6, 3, 10, 0, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_sitemap_dates(value: str | None, expected: datetime | None) -> None:
    assert sitemap_date(value) == expected


def test_large_sitemap_streams() -> None:
    urls = "".join(f"<url><loc>https://s.test/a/{i}</loc><lastmod>2025-06-03</lastmod></url>" for i in range(10_000))
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
    result = parse_sitemap(gzip.compress(body, 1), "https://s.test/sitemap.xml.gz", NOW)
    assert len(result.items) == 10_000 and result.items[-1].url == "https://s.test/a/9999"


BOMB = (
    '<!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    "<urlset><url><loc>&b;</loc></url></urlset>"
)


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (b"", "empty body"),
        (b"<!doctype html><html><body>404</body></html>", "got an HTML page"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a sitemap"),
        (b'<?xml version="1.0"?><foo/>', "<foo>"),
        (BOMB.encode(), "ENTITY"),
        (gzip.compress(BOMB.encode()), "ENTITY"),
        (BOMB.encode("utf-16"), "ENTITY"),
        (b'<?xml version="1.0" encoding="utf-7"?>+ADw-!DOCTYPE x+AD4-<urlset/>', "not ASCII-compatible"),
        (gzip.compress(b"<urlset>" * 100)[:-12], "truncated gzip"),
        (b'<urlset xmlns="http://www.sitemaps.org/sche', "malformed sitemap XML"),
    ],
)
def test_bad_input_raises_parse_error_naming_the_cause(body: bytes, cause: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_sitemap(body, SITE, NOW)
    assert cause in str(err.value)


def test_gzip_bomb_is_capped() -> None:
    with pytest.raises(ParseError, match="possible gzip bomb"):
        gunzip_capped(gzip.compress(b"\0" * 10_000), limit=1_000)
    assert gunzip_capped(gzip.compress(b"\0" * 1_000), limit=1_000) == b"\0" * 1_000


def test_lastmod_with_a_hundred_digit_field_is_undated_not_an_error() -> None:
    """Found by atheris: RFC 822 fallback raised OverflowError on "10:00:444…4" and sank the sitemap."""
    assert sitemap_date("Mon, 4 Jan 2026 10:00:" + "4" * 120 + " GMT") is None
