"""Bad input gets ExtractionError or a sane draft, never another exception; metadata shapes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scraper.errors import ExtractionError
from scraper.extract.article import extract_article


@pytest.mark.parametrize("html", [b"", "", "   ", b"\x00\x01\x02\xff" * 1000, "<html><body></body></html>"])
def test_nothing_to_extract(html: str | bytes) -> None:
    with pytest.raises(ExtractionError):
        extract_article(html, "https://example.com/a")


def test_deeply_nested_html() -> None:
    page = "<html><body>" + "<div>" * 10_000 + "<p>" + "نص الخبر، " * 30 + "</p>" + "</div>" * 10_000
    draft = extract_article(page, "https://example.com/a")
    assert draft.paragraphs and draft.paragraphs[0].startswith("نص الخبر")


def test_five_megabyte_line() -> None:
    page = "<html><head><title>خبر طويل</title></head><body><p>" + "كلمة " * 1_000_000 + "</p></body></html>"
    draft = extract_article(page.encode(), "https://example.com/a")
    assert draft.title == "خبر طويل"
    assert len(draft.body) > 4_000_000


def test_binary_garbage_with_a_title_is_sane() -> None:
    page = b"<title>x</title>" + bytes(range(256)) * 100
    try:
        draft = extract_article(page, "https://example.com/a")
    except ExtractionError:
        return
    assert draft.title == "x"


JSON_LD_PAGE = """<html><head>
<title>عنوان الخبر | موقع الأخبار</title>
<meta property="og:site_name" content="موقع الأخبار">
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "WebSite", "name": "موقع الأخبار"},
  {"@type": ["ReportageNewsArticle"], "headline": "عنوان &quot;الخبر&quot;",
   "datePublished": "2024-03-01T10:00:00+03:00", "author": [{"@id": "#p1"}, "سارة علي"],
   "articleBody": "الفقرة الأولى من الخبر.\\nالفقرة الثانية من الخبر.",},
  {"@type": "Person", "@id": "#p1", "name": "أحمد محمد"}
]}
</script></head><body><p>فقرة قصيرة</p></body></html>"""


def test_json_ld_graph_author_shapes_and_trailing_comma() -> None:
    draft = extract_article(JSON_LD_PAGE, "https://example.com/news/1")
    assert draft.title == 'عنوان "الخبر"'
    assert draft.author == "أحمد محمد, سارة علي"
    assert draft.published_at == datetime(2024, 3, 1, 7, 0, tzinfo=UTC)
    assert draft.paragraphs == ["الفقرة الأولى من الخبر.", "الفقرة الثانية من الخبر."]
    assert draft.method == {
        "title": "json-ld", "author": "json-ld", "published_at": "json-ld", "paragraphs": "json-ld",
    }


def test_broken_json_ld_still_yields_fields() -> None:
    page = JSON_LD_PAGE.replace('"@context"', '"@context" oops')
    draft = extract_article(page, "https://example.com/news/1")
    assert draft.title == 'عنوان "الخبر"'
    assert draft.published_at == datetime(2024, 3, 1, 7, 0, tzinfo=UTC)


META_PAGE = """<html lang="ar"><head>
<title>وزير يزور المدينة - جريدة الغد</title>
<meta property="og:title" content="وزير يزور المدينة - جريدة الغد">
<meta property="og:site_name" content="جريدة الغد">
<meta property="og:url" content="/news/55">
<meta name="author" content="بقلم: خالد يوسف">
</head><body><nav><a href="/">الرئيسية</a></nav>
<article><h1>وزير يزور المدينة</h1><time datetime="2023-11-05T08:30:00Z">5 نوفمبر</time>
<p>زار الوزير المدينة صباح اليوم، والتقى عددا من المسؤولين، وتفقد المشاريع الجديدة في الأحياء الشرقية.</p>
<div class="share-buttons"><a href="#">فيسبوك</a> <span>شارك الخبر مع أصدقائك الآن على كل المنصات</span></div>
<p>اقرأ أيضا: <a href="/n/2">خبر آخر عن الوزير</a></p>
<p>وأكد الوزير أن العمل سيستمر حتى نهاية العام، وأن الحكومة ستوفر التمويل اللازم لكل المشاريع.</p>
<figure><img src="x.jpg"><figcaption>الوزير خلال الزيارة في صورة من المكتب الإعلامي</figcaption></figure>
<div class="tags"><a href="/t/1">وزارة</a><a href="/t/2">مشاريع</a></div>
</article><div id="comments"><p>تعليق من قارئ يقول إن الزيارة كانت مهمة جدا للمدينة وسكانها.</p></div>
<footer>جميع الحقوق محفوظة</footer></body></html>"""


def test_opengraph_meta_and_generic_body() -> None:
    draft = extract_article(META_PAGE, "https://alghad.example/section/page")
    assert draft.title == "وزير يزور المدينة"
    assert draft.method["title"] == "opengraph"
    assert draft.author == "خالد يوسف"
    assert draft.published_at == datetime(2023, 11, 5, 8, 30, tzinfo=UTC)
    assert draft.method["published_at"] == "time-tag"
    assert draft.canonical_url == "https://alghad.example/news/55"
    assert draft.language == "ar"
    assert draft.paragraphs == [
        "زار الوزير المدينة صباح اليوم، والتقى عددا من المسؤولين، وتفقد المشاريع الجديدة في الأحياء الشرقية.",
        "وأكد الوزير أن العمل سيستمر حتى نهاية العام، وأن الحكومة ستوفر التمويل اللازم لكل المشاريع.",
    ]


def test_bytes_with_lying_header_and_cp1256_page() -> None:
    page = META_PAGE.replace('<html lang="ar"><head>', '<html lang="ar"><head><meta charset="windows-1256">')
    draft = extract_article(page.encode("cp1256"), "https://alghad.example/x", content_type="text/html")
    assert draft.title == "وزير يزور المدينة"
    lying = "text/html; charset=latin-1"
    utf8 = extract_article(META_PAGE.encode("utf-8"), "https://alghad.example/x", content_type=lying)
    assert utf8.paragraphs == draft.paragraphs


def test_json_ld_date_with_milliseconds_keeps_its_offset() -> None:
    # The plain-ISO fast path reads the offset after fractional seconds (the general parser lost it).
    page = JSON_LD_PAGE.replace("2024-03-01T10:00:00+03:00", "2024-03-01T10:00:00.000-05:00")
    draft = extract_article(page, "https://example.com/news/1")
    assert draft.published_at == datetime(2024, 3, 1, 15, 0, tzinfo=UTC)


BR_AND_WIDGET_PAGE = """<html><head><title>t</title></head><body><div id="main">
<p>السطر الأول من الخبر الطويل، وفيه تفاصيل كثيرة عن الحدث.<br>السطر الثاني من الخبر، بعد فاصل سطر.</p>
<div class="share-bar"><p>شارك هذا الخبر على مواقع التواصل الاجتماعي، وتابع آخر التحديثات والأخبار.</p></div>
<p>الفقرة الأخيرة من الخبر، وفيها خلاصة ما جرى في الاجتماع الذي عقد أمس في العاصمة.</p>
<a href="/n/2"><div><p>خبر ذو صلة بعنوان طويل يشرح فيه الكاتب ما جرى في اجتماع آخر عقد قبل أسبوع.</p></div></a>
</div></body></html>"""


def test_breaks_split_blocks_and_widgets_drop_theirs() -> None:
    # Kept blocks split at <br>; blocks inside a widget class or a teaser link are left out.
    draft = extract_article(BR_AND_WIDGET_PAGE, "https://example.com/a")
    assert draft.paragraphs == [
        "السطر الأول من الخبر الطويل، وفيه تفاصيل كثيرة عن الحدث.",
        "السطر الثاني من الخبر، بعد فاصل سطر.",
        "الفقرة الأخيرة من الخبر، وفيها خلاصة ما جرى في الاجتماع الذي عقد أمس في العاصمة.",
    ]


def test_canonical_link_urljoin_refuses_does_not_lose_the_article() -> None:
    """Found by atheris: a canonical href with a bracketed non-IP host ("[if lt IE 7]", from a conditional
    comment mangled by the CMS) made urljoin raise ValueError and the whole page failed to extract."""
    page = ('<html lang="ar"><head><title>وزير الخارجية الإيراني يزور موسكو</title>'
            '<link rel="canonical" href="//[if lt IE 7]/news/1">'
            '<meta property="og:url" content="https://www.example.com/news/1"></head><body><article>'
            "<p>وصل وزير الخارجية الإيراني إلى موسكو اليوم في زيارة رسمية تستغرق يومين لبحث العلاقات الثنائية.</p>"
            "</article></body></html>")
    draft = extract_article(page, "https://www.example.com/news/1?utm_source=x", now=datetime(2026, 1, 5, tzinfo=UTC))
    assert draft.canonical_url == "https://www.example.com/news/1"  # falls back to og:url
    assert draft.paragraphs and "موسكو" in draft.paragraphs[0]


def test_the_headline_printed_again_in_the_story_is_not_a_paragraph() -> None:
    # A question: a sentence, so the trim of short lines before the story does not take it
    title = "هل يصل وزير الخارجية إلى موسكو في زيارة رسمية تستمر يومين؟"
    story = "".join(f"<p>قال المتحدث باسم الوزارة إن المحادثات ستتناول ملفات عدة، منها الطاقة والتجارة {n}.</p>"
                    for n in range(3))
    page = f"<html><head><title>{title}</title></head><body><article><p>{title}</p>{story}</article></body></html>"
    draft = extract_article(page, "https://example.com/a")
    assert draft.title == title and draft.method["paragraphs"] == "generic"
    assert title not in draft.paragraphs and len(draft.paragraphs) == 3


@pytest.mark.parametrize(("title", "site"), [
    ("انفجار في ميناء المدينة | الجزيرة نت", "الجزيرة نت"),  # the site name last, from og:site_name
    ("الجزيرة نت - انفجار في ميناء المدينة", "الجزيرة نت"),  # or first
    ("انفجار في ميناء المدينة - aljazeera.net", ""),  # or the URL's host
])
def test_a_split_title_loses_the_site_name(title: str, site: str) -> None:
    story = "".join(f"<p>قالت السلطات إن الانفجار وقع صباح اليوم في الرصيف الرابع وأوقع أضرارا كبيرة {n}.</p>"
                    for n in range(3))
    page = (f'<html><head><title>{title}</title><meta property="og:site_name" content="{site}"></head>'
            f"<body><article>{story}</article></body></html>")
    draft = extract_article(page, "https://www.aljazeera.net/news/1")
    assert (draft.title, draft.method["title"]) == ("انفجار في ميناء المدينة", "title-tag")
