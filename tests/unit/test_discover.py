"""discover_sources and render_candidates_yaml: from a homepage and robots.txt to sources.yaml."""

from __future__ import annotations

import yaml

from scraper.config import Source
from scraper.parse.discover import Candidate, discover_sources, render_candidates_yaml

HOME = "https://www.example-akhbar.com/"

HOMEPAGE = """<!doctype html><html lang="ar" dir="rtl"><head>
<title>أخبار المثال</title>
<link rel="stylesheet" href="/s.css">
<link rel="alternate" type="application/rss+xml" title="أخبار المثال - آخر الأخبار" href="/rss/latest.xml">
<link rel="alternate" type="application/atom+xml" title="سياسة" href="https://www.example-akhbar.com/atom/politics">
<link rel="alternate" type="application/rss+xml" title="التعليقات" href="/comments/feed/">
<link rel="alternate" type="application/feed+json" href="/feed.json">
<link rel="alternate" hreflang="en" href="https://en.example-akhbar.com/">
</head><body>
<header><a href="/ar/world/">العالم</a> <a href="/rss/latest.xml#top">RSS</a></header>
<footer>
  <a href="/ar/rss/economy.xml">خلاصة الاقتصاد</a>
  <a href="https://feedly.com/i/subscription/feed/https://www.example-akhbar.com/rss/latest.xml">تابعنا على Feedly</a>
  <a href="/ar/2025/06/03/russia-iran-summit">خبر عن روسيا</a>
  <a href="/ar/tags/rssa">وسم</a>
</footer>
</body></html>"""

ROBOTS = """User-agent: *
Disallow: /search
# Sitemap: https://www.example-akhbar.com/commented-out.xml
Sitemap: https://www.example-akhbar.com/sitemap.xml
sitemap:   /sitemaps/news-ar.xml
Sitemap: ftp://www.example-akhbar.com/nope.xml
"""


def urls(cands: list[Candidate]) -> list[str]:
    return [c.url for c in cands]


def test_candidates_best_first_with_reasons() -> None:
    cands = discover_sources(HOMEPAGE, HOME, ROBOTS)
    top = [(c.url, c.kind, c.title, c.reason) for c in cands[:6]]
    assert top == [
        ("https://www.example-akhbar.com/rss/latest.xml", "feed", "أخبار المثال - آخر الأخبار",
         "<link rel=alternate type=application/rss+xml>"),
        ("https://www.example-akhbar.com/atom/politics", "feed", "سياسة",
         "<link rel=alternate type=application/atom+xml>"),
        ("https://www.example-akhbar.com/feed.json", "feed", None, "<link rel=alternate type=application/feed+json>"),
        ("https://www.example-akhbar.com/sitemaps/news-ar.xml", "sitemap", None, "robots.txt Sitemap: line"),
        ("https://www.example-akhbar.com/sitemap.xml", "sitemap", None, "robots.txt Sitemap: line"),
        ("https://www.example-akhbar.com/ar/rss/economy.xml", "feed", "خلاصة الاقتصاد", "<a href> to an rss/feed URL"),
    ]
    scores = [c.score for c in cands]
    assert scores == sorted(scores, reverse=True)


def test_comment_feeds_and_offsite_reader_links_rank_low_non_feeds_are_ignored() -> None:
    cands = discover_sources(HOMEPAGE, HOME, ROBOTS)
    by_url = {c.url: c for c in cands}
    assert by_url["https://www.example-akhbar.com/comments/feed/"].score < 0.6
    feedly = next(c for c in cands if c.url.startswith("https://feedly.com/"))
    assert feedly.score < by_url["https://www.example-akhbar.com/ar/rss/economy.xml"].score
    assert "https://www.example-akhbar.com/ar/2025/06/03/russia-iran-summit" not in by_url
    assert "https://www.example-akhbar.com/ar/tags/rssa" not in by_url
    assert "https://en.example-akhbar.com/" not in by_url
    assert not any("commented-out" in u or u.startswith("ftp:") for u in by_url)


def test_one_candidate_per_url_keeping_the_strongest_evidence() -> None:
    cands = discover_sources(HOMEPAGE, HOME, ROBOTS)
    assert len(urls(cands)) == len(set(urls(cands)))
    latest = [c for c in cands if c.url == "https://www.example-akhbar.com/rss/latest.xml"]
    assert latest[0].reason.startswith("<link rel=alternate")


def test_guesses_fill_in_common_paths_not_already_found() -> None:
    cands = discover_sources(HOMEPAGE, HOME, ROBOTS)
    guesses = [c for c in cands if c.reason.startswith("guess")]
    assert urls(guesses) == [
        "https://www.example-akhbar.com/feed", "https://www.example-akhbar.com/rss",
        "https://www.example-akhbar.com/rss.xml", "https://www.example-akhbar.com/sitemap-news.xml",
        "https://www.example-akhbar.com/news-sitemap.xml",
    ]  # /sitemap.xml came from robots.txt, so it is not a guess
    assert max(c.score for c in guesses) < min(c.score for c in cands if not c.reason.startswith("guess"))


def test_nothing_found_gives_only_guesses() -> None:
    cands = discover_sources("", "http://small.example.ma/ar/index.php", None)
    assert {c.reason.split(":")[0] for c in cands} == {"guess"}
    assert "http://small.example.ma/sitemap.xml" in urls(cands)


def test_rendered_yaml_parses_into_valid_sources() -> None:
    cands = discover_sources(HOMEPAGE, HOME, ROBOTS)
    text = render_candidates_yaml(cands, "akhbar example")
    entries = yaml.safe_load("sources:\n" + text)["sources"]
    sources = [Source.model_validate(e) for e in entries]
    non_guesses = [c for c in cands if not c.reason.startswith("guess")]
    assert [s.url for s in sources] == urls(non_guesses)
    assert sources[0].name == "akhbar-example-feed" and sources[0].title == "أخبار المثال - آخر الأخبار"
    assert len({s.name for s in sources}) == len(sources)
    assert {s.kind for s in sources} == {"feed", "sitemap"}
    # guesses are there, commented out, with their reason
    assert "# - name: akhbar-example-feed" in text and "unverified" in text


def test_render_quotes_awkward_titles() -> None:
    cand = Candidate("https://s.test/rss?x=1#a", "feed", 'عنوان: "مقتبس" # ليس تعليقاً', 1.0, "test")
    [entry] = yaml.safe_load("sources:\n" + render_candidates_yaml([cand], "s"))["sources"]
    assert entry["title"] == 'عنوان: "مقتبس" # ليس تعليقاً'
    assert entry["url"] == "https://s.test/rss?x=1#a"
    assert render_candidates_yaml([], "s") == ""
