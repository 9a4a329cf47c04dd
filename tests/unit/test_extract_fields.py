"""Metadata pickers: the cheaper queries must choose exactly what the selector lists they replace chose."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from selectolax.lexbor import LexborHTMLParser

from scraper.extract.fields import (
    _MAX_VISIBLE,
    _VISIBLE_DATE,
    _visible_date_nodes,
    pick_author,
    pick_date,
)
from scraper.extract.metadata import JsonLdArticle, MetaTags, read_json_ld

URL = "https://example.com/news/story"
# Matches all eleven selectors of _VISIBLE_DATE: lexbor lists it eleven times.
ELEVEN = 'itemprop="datePublished" class="date time publish created posted Date Time timestamp" id="date-time"'


def tree(body: str, doctype: bool = True) -> LexborHTMLParser:
    return LexborHTMLParser(("<!doctype html>" if doctype else "") + f"<html><head></head><body>{body}</body></html>")


def date_of(body: str, url: str = URL) -> tuple[datetime | None, str | None]:
    return pick_date(tree(body), JsonLdArticle(), MetaTags(), url, None)


def reference_nodes(page: LexborHTMLParser) -> list[int]:
    """What pick_date used to try: tree.css(_VISIBLE_DATE)[:_MAX_VISIBLE], repeats dropped."""
    out: list[int] = []
    for node in page.css(_VISIBLE_DATE)[:_MAX_VISIBLE]:
        if node.mem_id not in out:
            out.append(node.mem_id)
    return out


@pytest.mark.parametrize("body", [
    # each element counts once per selector it matches: 3 x 11 entries, the fourth is within the 40
    f"<div {ELEVEN}>x</div>" * 3 + '<span class="date">2021-03-04</span>',
    # 4 x 11 entries: the dated <span> falls past the cut
    f"<div {ELEVEN}>x</div>" * 4 + '<span class="date">2021-03-04</span>',
    # exactly 40 entries before it (3 x 11 + 7 single-class ones), then 39
    f"<div {ELEVEN}>x</div>" * 3 + '<b class="posted">y</b>' * 7 + '<span class="date">2021-03-04</span>',
    f"<div {ELEVEN}>x</div>" * 3 + '<b class="posted">y</b>' * 6 + '<span class="date">2021-03-04</span>',
    # case: the wide query matches DATE and TIMESTAMP, _VISIBLE_DATE does not
    '<div class="DATE">2020-01-02</div><p class="TIMESTAMP">2020-01-03</p><span id="Date">2020-01-04</span>'
    '<i itemprop="datepublished">2020-01-05</i><em class="Date">2020-01-06</em>',
    # nested matches, ids and itemprop
    '<div class="post-meta time"><span id="pubdate">2019-05-06</span><time class="x">y</time></div>',
    '<div class="time"><div class="timestamp"><div class="datetime">z</div></div></div>',
])
@pytest.mark.parametrize("doctype", [True, False])  # quirks mode: [class*=...] stays case-sensitive
def test_visible_date_nodes_are_the_old_selector_list(body: str, doctype: bool) -> None:
    page = tree(body, doctype)
    assert [node.mem_id for node, _ in _visible_date_nodes(page)] == reference_nodes(page)


def test_visible_date_cut_counts_repeats() -> None:
    within = f"<div {ELEVEN}>x</div>" * 3 + '<span class="date">2021-03-04</span>'
    assert date_of(within) == (datetime(2021, 3, 4, tzinfo=UTC), "text")
    past = f"<div {ELEVEN}>x</div>" * 4 + '<span class="date">2021-03-04</span>'
    assert date_of(past) == (None, None)


def test_visible_date_is_case_sensitive() -> None:
    assert date_of('<div class="DATE">2020-01-02</div>') == (None, None)
    assert date_of('<div class="Date">2020-01-02</div>') == (datetime(2020, 1, 2, tzinfo=UTC), "text")


def test_visible_date_prefers_content_attribute() -> None:
    body = '<meta itemprop="datePublished" content="2018-07-08"><span class="date">2020-01-02</span>'
    assert date_of(body) == (datetime(2018, 7, 8, tzinfo=UTC), "text")


def test_visible_date_arabic() -> None:
    body = '<div class="post-date">الأربعاء، 07 أكتوبر 2020 - 12:09 م</div>'
    assert date_of(body) == (datetime(2020, 10, 7, 12, 9, tzinfo=UTC), "text")


def test_time_tag_needs_datetime_attribute() -> None:
    body = "<time>2019-01-01</time><time datetime>x</time><time datetime='2021-06-07T08:00:00Z'>June</time>"
    assert date_of(body) == (datetime(2021, 6, 7, 8, tzinfo=UTC), "time-tag")
    assert date_of("<time>2019-01-01</time>", URL) == (None, None)


def test_date_after_the_third_h1_is_not_looked_for() -> None:
    dated = "<h1>{}</h1><p>نشر في 15 أغسطس 2019</p>"
    assert date_of(dated.format("العنوان")) == (datetime(2019, 8, 15, tzinfo=UTC), "text")
    logos = ("<h1>logo</h1>" + "<div>-</div>" * 6) * 3  # six siblings each: the search stops before the date
    assert date_of(logos + dated.format("العنوان")) == (None, None)


@pytest.mark.parametrize(("body", "author"), [
    # the [itemprop=author] element itself is chosen, not its [itemprop=name] child
    ('<div itemprop="author"><span itemprop="name">محمد علي</span> مراسل</div>', "محمد علي مراسل"),
    ('<p class="byline">بقلم: سارة أحمد</p><a rel="author">Other</a>', "سارة أحمد"),
    ('<a rel="author" href="/a">By Jane Roe</a><div class="author">Other</div>', "Jane Roe"),
    ('<span itemprop="author" content="Ali Hassan">x</span>', "Ali Hassan"),
    ('<div class="Author">Nobody</div>', None),
])
def test_generic_author(body: str, author: str | None) -> None:
    found = pick_author(tree(body), JsonLdArticle(), MetaTags())
    assert found == ((author, "generic") if author else (None, None))


def ld_page(*blocks: str) -> LexborHTMLParser:
    scripts = "".join(f'<script type="application/ld+json">{b}</script>' for b in blocks)
    return LexborHTMLParser(f"<html><head>{scripts}</head><body></body></html>")


def test_json_ld_graph_with_author_reference() -> None:
    found = read_json_ld(ld_page(
        '{"@context": "https://schema.org", "@graph": ['
        '{"@type": "WebPage", "name": "الصفحة"},'
        '{"@type": "Person", "@id": "#p1", "name": "فاطمة الزهراء"},'
        '{"@type": ["Thing", "NewsArticle"], "headline": "انتخابات البلدية", "author": {"@id": "#p1"},'
        ' "datePublished": "2023-02-01", "publisher": {"@type": "Organization", "name": "الجزيرة"}}]}'
    ))
    assert (found.headline, found.author, found.date, found.publisher) == (
        "انتخابات البلدية", "فاطمة الزهراء", "2023-02-01", "الجزيرة")


def test_json_ld_type_as_url_and_first_article_wins() -> None:
    found = read_json_ld(ld_page(
        '[{"@type": "https://schema.org/BlogPosting", "headline": "First", "author": ["A", {"name": "B"}]}]',
        '{"@type": "NewsArticle", "headline": "Second", "datePublished": "2020-01-01", "articleBody": "Body"}',
    ))
    assert (found.headline, found.author, found.date, found.body) == ("First", "A, B", "2020-01-01", "Body")


def test_json_ld_nested_article_in_lists() -> None:
    found = read_json_ld(ld_page(
        '{"@type": "ItemList", "itemListElement": ["x", 1, null, [{"item": {"@type": "Article", "name": "Deep"}}]]}'
    ))
    assert found.headline == "Deep"


def test_json_ld_non_article_types_ignored() -> None:
    found = read_json_ld(ld_page('{"@type": "Organization", "name": "Org"}', '{"@type": 5, "headline": "No"}'))
    assert found == JsonLdArticle()


@pytest.mark.parametrize(("before", "after"),
                         [("<!--", ";-->"), ("  //<![CDATA[\n", "\n//]]>  "), ("<![CDATA[", "]]>")])
def test_json_ld_trailing_commas_and_wrappers(before: str, after: str) -> None:
    found = read_json_ld(ld_page(before + '{"@type": "NewsArticle", "headline": "عاجل", "author": ["سامي",],}' + after))
    assert (found.headline, found.author) == ("عاجل", "سامي")


def test_json_ld_unparseable_block_read_by_pattern() -> None:
    broken = '{"@type": "NewsArticle", "headline": "خبر \\"مهم\\"", "datePublished": "2022-01-02" oops'
    found = read_json_ld(ld_page(broken))
    assert (found.headline, found.date) == ('خبر "مهم"', "2022-01-02")
