"""parse_listing: article links from a section page by CSS selector."""

from __future__ import annotations

import pytest

from scraper.errors import ParseError
from scraper.parse.fields import same_site, site_of
from scraper.parse.listing import parse_listing

PAGE_URL = "https://www.example-akhbar.com/ar/world/"

SECTION = """<!doctype html>
<html lang="ar" dir="rtl"><head><meta charset="utf-8"><title> أخبار العالم | أخبار المثال </title></head>
<body>
<nav><a href="/ar/">الرئيسية</a><a href="/ar/sport/">رياضة</a></nav>
<main>
  <article class="card">
    <a href="/ar/world/2025/06/03/iran-russia-talks"><img src="/i/1.jpg" alt="صورة المحادثات"></a>
    <h3><a href="/ar/world/2025/06/03/iran-russia-talks">  طهران وموسكو
        <b>تستأنفان</b> المحادثات  </a></h3>
    <a class="tag" href="/ar/tags/iran">إيران</a>
  </article>
  <article class="card">
    <h3><a href="2025/06/03/lavrov-araghchi#comments">لافروف يستقبل عراقجي في موسكو</a></h3>
  </article>
  <article class="card">
    <h3><a href="https://m.example-akhbar.com/ar/world/2025/06/02/caspian">قمة قزوين: ملفات الطاقة والنقل</a></h3>
  </article>
  <article class="card">
    <h3><a href="https://ads.other-network.com/click?id=9">إعلان ممول</a></h3>
  </article>
  <article class="card">
    <h3><a href="/ar/world/2025/06/03/iran-russia-talks#top">تكرار لنفس الخبر</a></h3>
  </article>
  <article class="card"><h3><a href="javascript:void(0)">رابط معطل</a></h3></article>
  <article class="card"><h3><a href="/ar/world/">أخبار العالم</a></h3></article>
  <article class="card"><h3><a href="/ar/world/2025/06/01/no-text"><img src="/i/2.jpg" alt="وصف الصورة"></a></h3>
  </article>
</main>
</body></html>"""


def test_links_by_selector_resolved_same_site_deduplicated_titled() -> None:
    parsed = parse_listing(SECTION, PAGE_URL, "article.card h3 a")
    assert [(i.url, i.title) for i in parsed.items] == [
        ("https://www.example-akhbar.com/ar/world/2025/06/03/iran-russia-talks", "طهران وموسكو تستأنفان المحادثات"),
        ("https://www.example-akhbar.com/ar/world/2025/06/03/lavrov-araghchi", "لافروف يستقبل عراقجي في موسكو"),
        ("https://m.example-akhbar.com/ar/world/2025/06/02/caspian", "قمة قزوين: ملفات الطاقة والنقل"),
        ("https://www.example-akhbar.com/ar/world/2025/06/01/no-text", "وصف الصورة"),
    ]
    assert parsed.title == "أخبار العالم | أخبار المثال"
    assert parsed.parser == "selectolax"
    assert all(i.published_at is None for i in parsed.items)


def test_container_selector_takes_the_card_link_and_its_headline() -> None:
    parsed = parse_listing(SECTION, PAGE_URL, "article.card")
    first = parsed.items[0]
    assert first.url == "https://www.example-akhbar.com/ar/world/2025/06/03/iran-russia-talks"
    assert first.title == "طهران وموسكو تستأنفان المحادثات"  # the headline link, not the image's alt text
    assert "https://www.example-akhbar.com/ar/tags/iran" not in [i.url for i in parsed.items]


def test_base_href_is_honoured() -> None:
    html = (
        '<html><head><base href="https://www.example-akhbar.com/archive/"></head>'
        '<body><a href="x/1">خبر</a></body></html>'
    )
    items = parse_listing(html, PAGE_URL, "a").items
    assert [i.url for i in items] == ["https://www.example-akhbar.com/archive/x/1"]


@pytest.mark.parametrize(
    ("html", "selector", "cause"),
    [
        ("", "a", "empty body"),
        (SECTION, "a[[[", "invalid CSS selector"),
        (SECTION, "div.no-such-class a", "matched nothing"),
        ('<a href="https://elsewhere.test/x">x</a>', "a", "no same-site article links"),
    ],
)
def test_bad_input_raises_parse_error_naming_the_cause(html: str, selector: str, cause: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_listing(html, PAGE_URL, selector)
    assert cause in str(err.value)


@pytest.mark.parametrize(
    ("host", "site"),
    [
        ("www.youm7.com", "youm7.com"),
        ("arabic.cnn.com", "cnn.com"),
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("www.ahram.org.eg", "ahram.org.eg"),
        ("www.spa.gov.sa", "spa.gov.sa"),
        ("news.example.ae", "example.ae"),
        ("localhost", "localhost"),
    ],
)
def test_site_of(host: str, site: str) -> None:
    assert site_of(host) == site


def test_same_site() -> None:
    assert same_site("https://m.alarabiya.net/x", "https://www.alarabiya.net/")
    assert not same_site("https://feeds.bbci.co.uk/arabic", "https://www.bbc.co.uk/")
    assert not same_site("http://[::1", "https://a.test/")
