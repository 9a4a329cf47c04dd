"""Table tests for canonical URLs, URL hashes and content hashes."""

from __future__ import annotations

import pytest

from scraper.normalize.urls import canonical_url, content_hash, url_hash

SLUG = "https://www.aljazeera.net/news/2024/5/1/%D8%A7%D9%84%D8%B3%D9%88%D8%AF%D8%A7%D9%86"

CASES = [
    # Arabic slugs: raw, lower-case hex, upper-case hex and mixed all give one form.
    ("https://www.aljazeera.net/news/2024/5/1/السودان", SLUG),
    ("https://www.aljazeera.net/news/2024/5/1/%d8%a7%d9%84%d8%b3%d9%88%d8%af%d8%a7%d9%86", SLUG),
    ("https://www.aljazeera.net/news/2024/5/1/%D8%A7%D9%84سودان", SLUG),
    (SLUG, SLUG),
    # Unreserved characters are decoded; reserved ones keep their encoded meaning.
    ("https://x.com/%7Euser/a%2Db", "https://x.com/~user/a-b"),
    ("https://x.com/a%2fb", "https://x.com/a%2Fb"),
    ("https://x.com/a b", "https://x.com/a%20b"),
    ("https://x.com/100%", "https://x.com/100%25"),
    # Scheme and host case, default ports, fragments, empty path.
    ("HTTPS://WWW.Example.COM:443/Path#section-2", "https://www.example.com/Path"),
    ("http://example.com:80", "http://example.com/"),
    ("http://example.com:8080/a", "http://example.com:8080/a"),
    ("https://example.com:80/a", "https://example.com:80/a"),
    ("https://example.com.", "https://example.com/"),
    ("https://user:pw@example.com/a", "https://example.com/a"),
    # Tracking parameters dropped, the rest sorted.
    ("https://x.com/a?utm_source=tw&utm_medium=social&id=7", "https://x.com/a?id=7"),
    ("https://x.com/a?b=2&fbclid=IwAR0&a=1&gclid=x", "https://x.com/a?a=1&b=2"),
    ("https://x.com/a?mc_cid=1&mc_eid=2&msclkid=3&yclid=4&_ga=5&igshid=6&dclid=7", "https://x.com/a"),
    ("https://x.com/a?at_medium=RSS&at_campaign=KARANGA&ref_src=twsrc", "https://x.com/a"),
    ("https://x.com/a?UTM_Source=x&p=1", "https://x.com/a?p=1"),
    ("https://x.com/a?q=%D9%85%D8%B5%D8%B1", "https://x.com/a?q=%D9%85%D8%B5%D8%B1"),
    ("https://x.com/a?q=مصر", "https://x.com/a?q=%D9%85%D8%B5%D8%B1"),
    ("https://x.com/a?q=a%26b&r=", "https://x.com/a?q=a%26b&r="),
    ("https://x.com/a?&&", "https://x.com/a"),
    # AMP and mobile variants.
    ("https://www.x.com/news/123/amp", "https://www.x.com/news/123"),
    ("https://www.x.com/news/slug/amp/", "https://www.x.com/news/slug/"),
    ("https://www.x.com/amp/news/123", "https://www.x.com/news/123"),
    ("https://www.x.com/news/123?amp=1", "https://www.x.com/news/123"),
    ("https://www.x.com/news/123?outputType=amp", "https://www.x.com/news/123"),
    ("https://www.x.com/news/123?outputType=xml", "https://www.x.com/news/123?outputType=xml"),
    ("https://www.x.com/news/123.amp", "https://www.x.com/news/123"),
    ("https://www.x.com/news/123.amp.html", "https://www.x.com/news/123.html"),
    ("https://m.x.com/news/123", "https://x.com/news/123"),
    ("https://amp.x.com/news/123", "https://x.com/news/123"),
    ("https://m.com/a", "https://m.com/a"),
    ("https://www.x.com/news/example-amp", "https://www.x.com/news/example-amp"),
    # Duplicate slashes and dot segments.
    ("https://x.com//news///2024//a", "https://x.com/news/2024/a"),
    ("https://x.com/a/./b/../c", "https://x.com/a/c"),
    # IDN hosts to punycode, whatever their spelling.
    ("https://موقع.وزارة-الاتصالات.مصر/a", "https://xn--4gbrim.xn----ymcbaaajlc6dj7bxne2c.xn--wgbh1c/a"),
    ("https://BÜCHER.example/", "https://xn--bcher-kva.example/"),
    ("http://[2001:DB8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
]


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("/news/1?utm_source=x", "https://www.x.com/section/", "https://www.x.com/news/1"),
        ("../2", "https://x.com/a/b/1", "https://x.com/a/2"),
        ("item-5", "https://x.com/list/", "https://x.com/list/item-5"),
        ("//m.y.com/p", "https://x.com/", "https://y.com/p"),
        ("https://z.com/q", "https://x.com/", "https://z.com/q"),
        ("?page=2", "https://x.com/list", "https://x.com/list?page=2"),
    ],
)
def test_canonical_url_relative(url: str, base: str, expected: str) -> None:
    assert canonical_url(url, base) == expected


@pytest.mark.parametrize(
    "url",
    ["ftp://x.com/a", "mailto:a@x.com", "javascript:void(0)", "/relative/only", "https://", "http:///a",
     "https://x.com:99999/", "https://[::1/"],
)
def test_canonical_url_rejects(url: str) -> None:
    with pytest.raises(ValueError):
        canonical_url(url)


def test_canonical_url_is_idempotent() -> None:
    for url, _ in CASES:
        once = canonical_url(url)
        assert canonical_url(once) == once


def test_url_hash_equal_for_variants() -> None:
    variants = [
        "https://www.aljazeera.net/news/2024/5/1/السودان?utm_source=rss#top",
        "https://www.aljazeera.net/news/2024/5/1/%d8%a7%d9%84%d8%b3%d9%88%d8%af%d8%a7%d9%86/amp",
        SLUG,
    ]
    hashes = {url_hash(u) for u in variants}
    assert len(hashes) == 1
    (h,) = hashes
    assert len(h) == 64 and int(h, 16) >= 0
    assert url_hash(SLUG + "-2") != h


def test_content_hash_ignores_form_not_content() -> None:
    base = content_hash(
        "عنوان", ["قالت وزارة الخارجية، إن المحادثات «مثمرة».", "وأضافت أن الجولة المقبلة قريبة."]
    )
    marked = content_hash(
        "عنوانٌ آخر",
        ["  قالَت وزارةُ الخارجيةِ إن المحادثات <b>مثمرة</b>", "", "وأضافت أن الجولة المقبلة قريبة"],
    )
    assert base == marked
    assert content_hash(None, ["قالت وزارة الخارجية إن المحادثات فاشلة"]) != base
    assert len(base) == 64


def test_content_hash_uses_title_only_without_body() -> None:
    assert content_hash("خبر عاجل", []) == content_hash("خبرٌ عاجل", ["", "  "])
    assert content_hash("خبر عاجل", []) != content_hash("خبر آخر", [])


def test_amp_extension_stripped_to_a_fixed_point() -> None:
    """Found by atheris: one ``.amp`` came off per call, so canonical_url was not idempotent."""
    once = canonical_url("https://www.alarabiya.net/arab-and-world/2026/01/05/إيران.amp.amp")
    assert once == canonical_url(once)
    assert not once.endswith(".amp")


@pytest.mark.parametrize("url", ["http://\x00/x", "http://a b.example/x", "http://a%20b.example/x"])
def test_host_with_characters_no_resolver_takes_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="invalid host"):
        canonical_url(url)
