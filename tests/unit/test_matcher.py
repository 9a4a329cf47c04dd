"""The compiled matcher: the Arabic matching table, traps, operators, scopes, snippets, scale."""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
from pathlib import Path

import pytest

from scraper.errors import QuerySyntaxError
from scraper.match.matcher import Hit, RuleIndex, RuleMatch, RuleSpec, highlight_query, highlight_spans, match_query
from scraper.match.query import parse_query, query_terms
from scraper.match.termindex import MATCH_TOKEN_RE, TermIndex
from scraper.normalize.text import tokenize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "match"


def fires(query: str, *paragraphs: str, title: str = "", **kw: object) -> bool:
    return match_query(query, title, list(paragraphs), **kw) is not None  # type: ignore[arg-type]


def marked(query: str, text: str) -> str:
    """The paragraph with the rule's hits wrapped, to see exactly what matched."""
    m = match_query(query, "", [text])
    assert m is not None, f"{query} did not fire on {text}"
    return highlight_spans(text, [(h.start, h.end) for h in m.hits])


# Every row of the table in ARABIC_MATCHING.md, plus folding and the substring traps.
MATCHES = [
    # plain word: proclitics (و|ف)?(ب|ك|ل)?(ال)?
    ("روسيا", ["روسيا", "وروسيا", "لروسيا", "بروسيا", "فروسيا", "وبروسيا", "كروسيا", "فلروسيا"]),
    # nisba: a term ending in ي takes ـه ـان ـين ـون ـات ـتان ـتين
    ("إيراني", ["الإيراني", "الإيرانية", "والإيرانيين", "إيرانيون", "الإيرانى", "إيرانيات", "الإيرانيتان"]),
    ("إيراني", ["للإيرانيين", "بالإيرانيتين", "إيرانيان"]),
    # written with the article: the article is required, clitics before it allowed
    ("الكرملين", ["الكرملين", "للكرملين", "وبالكرملين", "فالكرملين", "كالكرملين"]),
    ("الروس", ["الروس", "بالروس", "للروس", "والروس"]),
    ("الرياض", ["الرياض", "بالرياض", "والرياض"]),
    # ل + الل is written لل: للجنة is "for the committee"
    ("اللجنة", ["اللجنة", "للجنة", "وللجنة"]),
    ("الاتفاق", ["للاتفاق", "الاتفاق", "وبالاتفاق"]),
    # phrases: proclitics on the first word, later words may take the article
    ('"الاتفاق النووي"', ["بالاتفاق النووي", "للاتفاق النووي", "والاتفاق النووي"]),
    ('"اتفاق نووي"', ["اتفاق نووي", "واتفاق النووي", "الاتفاق النووية"]),
    # prefixes
    ("نفط*", ["النفطية", "نفطها", "ونفطي", "بالنفط", "نفط"]),
    ("النفط*", ["النفطية", "بالنفطية", "للنفط"]),
    # orthographic folding, both ways
    ("أمريكا", ["امريكا", "وأمريكا", "لأمريكا", "آمريكا"]),
    ("مصرى", ["مصري", "المصرية", "والمصريين"]),
    # a name finds its relational adjective (a search for إيران finds الإيرانية)
    ("إيران", ["الإيراني", "ايرانية", "والإيرانيين", "للإيرانيين"]),
    ("مصر", ["مصري", "المصرية", "بالمصريين"]),
    ("القاهرة", ["القاهره", "بالقاهرة", "القاهـرة", "القَاهِرَة"]),
    ("روسيا", ["رُوسْيَا", "روسـيا", "رو\u200cسيا", "\u200fروسيا"]),
    ("سؤال", ["سوال", "والسؤال"]),
    ("2024", ["٢٠٢٤", "۲۰۲۴", "2024"]),
    # Latin script is case-folded
    ("NATO", ["nato", "Nato", "NATO's"]),
    ("nato", ["NATO"]),
    # presentation forms (old PDFs and copy-paste) go through NFKC
    ("الله", ["ﷲ", "والله", "لله"]),
]

NON_MATCHES = [
    ("روسيا", ["بيلاروسيا", "روسيات", "الروسية", "روسي", "روس"]),
    ("روسي", ["الفروسية", "العروسين", "دروسي", "روسيا", "عروسي"]),
    ("الكرملين", ["كرملين", "بكرملين"]),
    ("الروس", ["بروس", "روس", "الروسي"]),
    ("الرياض", ["رياض", "الرياضة", "الرياضي", "بالرياضة"]),
    ("مصر", ["مصرف", "مصراتة", "المصرف", "مصرفي", "المصرفية"]),
    ("تركي", ["التركيز", "تركيا", "التركيب", "بتركيز"]),
    ("إيران", ["إيرانشهر", "ايرا"]),
    ('"الاتفاق النووي"', ["الاتفاق التجاري النووي", "الاتفاق وللنووي", "النووي الاتفاق", "الاتفاق"]),
    ("نفط*", ["نف", "انفطار"]),
    ("NATO", ["natos", "anato"]),
    # a clitic alone or doubled wrongly is not a reading: لال is never ل + ال
    ("الكرملين", ["لالكرملين", "ككرملين"]),
]


@pytest.mark.parametrize(("term", "text"), [(term, text) for term, texts in MATCHES for text in texts], ids=lambda s: s)
def test_table_matches(term: str, text: str) -> None:
    assert fires(term, f"قال مسؤول إن {text} اليوم.")


@pytest.mark.parametrize(
    ("term", "text"), [(term, text) for term, texts in NON_MATCHES for text in texts], ids=lambda s: s
)
def test_table_non_matches(term: str, text: str) -> None:
    assert not fires(term, f"قال مسؤول إن {text} اليوم.")


def test_hits_are_whole_tokens_in_original_characters() -> None:
    text = "وصل وفدٌ إلى بيلاروسيا ثم إلى روسيّا، وقالت وبروسيا إن روسيات…"
    assert marked("روسيا", text) == "وصل وفدٌ إلى بيلاروسيا ثم إلى [[روسيّا]]، وقالت [[وبروسيا]] إن روسيات…"
    assert marked('"الاتفاق النووي"', "رحّب بالاتفاق النوويّ الجديد") == "رحّب [[بالاتفاق النوويّ]] الجديد"
    assert marked("الله", "قال ﷲ أكبر") == "قال [[ﷲ]] أكبر"


def test_rule_match_fields() -> None:
    m = match_query("ايران OR روسيا", "إيران تحذّر", ["موسكو", "وصلت الوفود إلى روسيا أمس"])
    assert m == RuleMatch(
        rule="query",
        terms=["ايران", "روسيا"],
        hits=[Hit("ايران", "title", 0, 0, 5), Hit("روسيا", "body", 1, 16, 21)],
        snippet="وصلت الوفود إلى [[روسيا]] أمس",
    )


# NEAR: max(start) - min(end) <= n tokens, i.e. single words at most n tokens apart.
@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("ايران NEAR/3 روسيا", "إيران قالت إن روسيا", True),
        ("ايران NEAR/3 روسيا", "إيران قالت أمس إن روسيا", False),
        ("ايران NEAR/3 روسيا", "روسيا قالت إن إيران", True),
        ("ايران NEAR/1 روسيا", "إيران وروسيا", True),
        ("ايران NEAR/1 روسيا", "إيران ثم روسيا", False),
        ("ايران NEAR/3 روسيا", "إيران، «قالت»: إن 12 روسيا", False),
        ("ايران NEAR/4 روسيا", "إيران، «قالت»: إن 12 روسيا", True),
        ('"الاتفاق النووي" NEAR/2 طهران', "الاتفاق النووي مع طهران", True),
        ('"الاتفاق النووي" NEAR/2 طهران', "طهران تريد الاتفاق النووي", True),
        ('"الاتفاق النووي" NEAR/1 طهران', "طهران تريد الاتفاق النووي", False),
        ("(طهران OR ايران) NEAR/2 موسكو", "قالت طهران إن موسكو", True),
        ("(طهران OR ايران) NEAR/2 موسكو", "قالت طهران وإيران أمس إن وموسكو", False),
        ("ايران NEAR/4 روسيا NEAR/4 تركيا", "إيران وروسيا وتركيا", True),
        ("ايران NEAR/4 روسيا NEAR/4 تركيا", "إيران قالت إن روسيا وتركيا", True),
        ("ايران NEAR/4 روسيا NEAR/4 تركيا", "إيران قالت إن روسيا تدعم تركيا", False),
        ("ايران NEAR/4 روسيا NEAR/4 تركيا", "تركيا ثم إيران ثم روسيا", True),
        ("ايران NEAR/4 روسيا NEAR/4 تركيا", "إيران وروسيا", False),
        # The window slides: a far-away first hit does not hide a later close pair.
        ("ايران NEAR/2 روسيا", "إيران أولا ثم كلام طويل جدا عن إيران وروسيا", True),
    ],
)
def test_near(query: str, text: str, expected: bool) -> None:
    assert fires(query, text) is expected


def test_near_does_not_cross_paragraphs_or_title() -> None:
    assert not fires("ايران NEAR/5 روسيا", "حديث عن إيران", "وعن روسيا")
    assert not fires("ايران NEAR/5 روسيا", "وعن روسيا", title="إيران")
    assert fires("ايران NEAR/5 روسيا", "لا شيء", title="إيران وروسيا")


def test_phrase_does_not_continue_into_the_next_paragraph() -> None:
    assert not fires('"الاتفاق النووي"', "وقّع الطرفان الاتفاق", "النووي")


def test_scopes() -> None:
    two_paragraphs = ("زار الوفد إيران", "ثم زار روسيا")
    two_sentences = ("زار الوفد إيران. ثم زار روسيا",)
    asked = ("هل زار الوفد إيران؟ وهل زار روسيا",)
    same_sentence = ("زار الوفد إيران ثم روسيا.",)
    rule = "ايران AND روسيا"
    assert fires(rule, *two_paragraphs)
    assert not fires(rule, *two_paragraphs, scope="paragraph")
    assert fires(rule, *two_sentences, scope="paragraph")
    assert not fires(rule, *two_sentences, scope="sentence")
    assert not fires(rule, *asked, scope="sentence")
    assert fires(rule, *same_sentence, scope="sentence")
    # the title is a unit of its own
    assert fires(rule, "لا شيء", title="إيران وروسيا", scope="sentence")
    assert not fires(rule, "روسيا", title="إيران", scope="paragraph")


def test_scope_hits_come_from_the_matching_unit() -> None:
    m = match_query("ايران AND روسيا", "", ["إيران وحدها", "إيران وروسيا معا"], scope="paragraph")
    assert m is not None
    assert [(h.paragraph, h.term) for h in m.hits] == [(1, "ايران"), (1, "روسيا")]


def test_not_vetoes_within_its_scope_unit() -> None:
    assert fires("ايران NOT روسيا", "زار الوفد إيران")
    assert not fires("ايران NOT روسيا", "زار الوفد إيران", "ثم روسيا")
    assert not fires("ايران NOT روسيا", "زار الوفد إيران", title="روسيا")
    # paragraph scope: the whole expression, NOT included, holds inside one paragraph
    assert fires("ايران NOT روسيا", "زار الوفد إيران", "ثم روسيا", scope="paragraph")
    assert not fires("ايران NOT روسيا", "زار الوفد إيران وروسيا", scope="paragraph")


def test_except_phrases() -> None:
    belarus = ("روسيا البيضاء",)
    rule = "ايران AND روسيا"
    assert not fires(rule, "اجتماع بين إيران وروسيا البيضاء", except_phrases=belarus)
    assert fires(rule, "اجتماع بين إيران وروسيا البيضاء", except_phrases=())
    assert fires(rule, "إيران وروسيا البيضاء، ثم روسيا", except_phrases=belarus)
    moscow = "(روسيا OR موسكو) AND ايران"
    m = match_query(moscow, "", ["إيران وروسيا البيضاء ثم موسكو"], except_phrases=belarus)
    assert m is not None
    assert [h.term for h in m.hits] == ["ايران", "موسكو"]
    # except phrases take proclitics too, and only cover the occurrences inside them
    assert not fires("روسيا", "زار بروسيا البيضاء", except_phrases=belarus)
    assert not fires("روسيا", "عن الفروسية", except_phrases=("فروسية",))


def test_title_and_body_fields() -> None:
    assert fires("title:ايران", "لا شيء", title="إيران تحذر")
    assert not fires("title:ايران", "إيران تحذر", title="خبر")
    assert fires("title:(ايران OR روسيا) AND نفط*", "أسعار النفط", title="روسيا")
    assert not fires("title:(ايران OR روسيا) AND نفط*", "روسيا", title="النفط")
    assert fires("body:ايران", "إيران تحذر", title="خبر")
    assert not fires("body:ايران", "خبر", title="إيران تحذر")
    m = match_query("title:ايران AND روسيا", "إيران", ["روسيا وإيران"])
    assert m is not None
    assert [(h.field, h.term) for h in m.hits] == [("title", "ايران"), ("body", "روسيا")]


def test_snippet_is_original_text_around_the_first_hit() -> None:
    before = "كلمة " * 80
    after = " نص" * 80
    para = before + "وقال المتحدث إنّ إيران سترد" + after
    m = match_query("ايران", "", ["فقرة أولى بلا شيء", para])
    assert m is not None
    s = m.snippet
    assert s.startswith("…") and s.endswith("…")
    assert "[[إيران]]" in s and "إنّ" in s
    assert 150 <= len(s) <= 210
    assert s.count("[[") == 1


def test_snippet_for_a_title_only_match_is_the_start_of_the_body() -> None:
    m = match_query("title:ايران", "إيران", ["الفقرة الأولى.", "الثانية"])
    assert m is not None and m.snippet == "الفقرة الأولى."


def test_highlight_query_marks_positive_terms_only() -> None:
    text = "قالت إيران إن روسيا وتركيا"
    assert highlight_query("ايران OR (روسيا NOT سوريا) NOT تركيا", text) == "قالت [[إيران]] إن [[روسيا]] وتركيا"
    assert highlight_spans("abcdef", [(4, 5), (0, 2), (1, 3)]) == "[[abc]]d[[e]]f"


def test_build_errors_name_the_rule() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        RuleIndex.build([RuleSpec("ok", "ايران"), RuleSpec("broken", "ايران AND (روسيا")])
    assert info.value.rule_name == "broken"  # type: ignore[attr-defined]
    assert info.value.position == 10 and "broken" in str(info.value)
    with pytest.raises(QuerySyntaxError) as info:
        RuleIndex.build([RuleSpec("negative", "NOT روسيا")])
    assert info.value.rule_name == "negative"  # type: ignore[attr-defined]
    with pytest.raises(QuerySyntaxError):
        RuleIndex.build([RuleSpec("either", "ايران OR NOT روسيا")])
    with pytest.raises(QuerySyntaxError) as info:
        RuleIndex.build([RuleSpec("bad-except", "ايران", except_phrases=("نفط*",))])
    assert info.value.rule_name == "bad-except"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="scope"):
        RuleSpec("x", "ايران", scope="chapter")


def test_index_returns_rules_in_order_and_only_those_that_fire() -> None:
    index = RuleIndex.build(
        [
            RuleSpec("russia", "روسيا"),
            RuleSpec("iran", "ايران"),
            RuleSpec("oil", "نفط*"),
            RuleSpec("both", "ايران روسيا"),
        ]
    )
    found = index.match("", ["إيران وروسيا"])
    assert [m.rule for m in found] == ["russia", "iran", "both"]
    assert index.match("", ["لا شيء هنا"]) == []


# --- the same answers from a 10,000-rule index as from a one-rule index -----------------------

PROBE_RULES = [
    RuleSpec("p-word", "دمشق"),
    RuleSpec("p-phrase", '"الرئيس بشار الأسد"'),
    RuleSpec("p-or", "(طهران OR ايران OR ايراني) NOT كورونا"),
    RuleSpec("p-near", "(مصر OR القاهرة) NEAR/6 كورونا"),
    RuleSpec("p-title", "title:ترامب OR (شعر AND لون)"),
    RuleSpec("p-prefix", "صاروخ* OR صواريخ"),
    RuleSpec("p-para", "وزير AND الري", scope="paragraph"),
    RuleSpec("p-sentence", "اصابه AND جديده", scope="sentence"),
    RuleSpec("p-except", "سوريا OR دمشق", except_phrases=("ريف دمشق",)),
]


def load_articles() -> list[dict]:  # type: ignore[type-arg]
    return json.loads(gzip.decompress((FIXTURES / "articles.json.gz").read_bytes()))


def filler_rules(articles: list[dict], n: int) -> list[RuleSpec]:  # type: ignore[type-arg]
    """Rules built from the fixture vocabulary, so many of them share terms with the probes."""
    rng = random.Random(7)
    words = sorted({w for a in articles for p in a["paragraphs"] for w in p.split() if len(w) > 3 and w.isalpha()})
    shapes = [
        lambda: rng.choice(words),
        lambda: f'"{rng.choice(words)} {rng.choice(words)}"',
        lambda: f"({rng.choice(words)} OR {rng.choice(words)}) AND {rng.choice(words)}",
        lambda: f"{rng.choice(words)} NEAR/4 {rng.choice(words)}",
        lambda: f"{rng.choice(words)} NOT {rng.choice(words)}",
    ]
    return [RuleSpec(f"f{i}", rng.choice(shapes)()) for i in range(n)]


def test_ten_thousand_rules_give_the_same_answers_as_one() -> None:
    articles = load_articles()
    big = RuleIndex.build(filler_rules(articles, 5_000) + PROBE_RULES + filler_rules(articles, 5_000))
    assert len(big) == 10_000 + len(PROBE_RULES)
    fired = set()
    for a in articles:
        from_big = {m.rule: m for m in big.match(a["title"], a["paragraphs"]) if m.rule.startswith("p-")}
        for spec in PROBE_RULES:
            alone = RuleIndex.build([spec]).match(a["title"], a["paragraphs"])
            assert from_big.get(spec.name) == (alone[0] if alone else None), (spec.name, a["source"])
        fired |= set(from_big)
    # The probes must actually fire somewhere, or the comparison above proves little.
    assert fired == {spec.name for spec in PROBE_RULES}


def test_real_article_offsets_point_at_the_terms() -> None:
    cnn = load_articles()[0]
    m = match_query('"الرئيس بشار الأسد" OR دمشق', cnn["title"], cnn["paragraphs"])
    assert m is not None
    for h in m.hits:
        text = cnn["title"] if h.field == "title" else cnn["paragraphs"][h.paragraph]
        assert text[h.start : h.end] in ("الرئيس بشار الأسد", "دمشق")
    assert m.hits[0].field == "title"
    assert "[[الرئيس بشار الأسد]]" in m.snippet or "[[دمشق" in m.snippet


def test_title_parts_in_paragraph_scope_need_some_unit_to_hold_the_rest() -> None:
    rule = "title:ايران AND NOT روسيا"
    # every unit (the title included) mentions Russia: no unit satisfies NOT روسيا
    assert not fires(rule, "وصل إلى روسيا", "ثم روسيا", title="إيران وروسيا", scope="paragraph")
    # a paragraph without Russia does, though it has none of the rule's terms itself
    assert fires(rule, "وصل إلى روسيا", "خبر آخر", title="إيران وروسيا", scope="paragraph")
    assert fires(rule, "وصل إلى روسيا. خبر آخر", title="إيران وروسيا", scope="sentence")
    assert not fires(rule, "وصل إلى روسيا. وروسيا", title="إيران وروسيا", scope="sentence")


# --- the scan reads whitespace-separated chunks; offsets and laziness --------------------------


def test_token_characters_are_never_whitespace() -> None:
    """The scan splits on whitespace before tokenizing: that is exact only while no whitespace
    character can be part of a token."""
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    assert len(spaces) > 20
    assert not [c for c in spaces if MATCH_TOKEN_RE.search(c)]


def _reference_hits(query: str, text: str) -> list[tuple[int, int]]:
    """Char spans of the rule's hits, computed from a plain regex tokenization of the whole text."""
    index = TermIndex()
    ids = [index.add(t) for t in query_terms(parse_query(query))]
    spans = [m.span() for m in MATCH_TOKEN_RE.finditer(text)]
    found, layouts = index.scan_many([text])
    hits = found.get(0, {})
    layout = layouts[0]
    out = []
    for tid in ids:
        for first, last in hits.get(tid, ()):
            assert layout.span(first, last) == (spans[first][0], spans[last][1])
            out.append((spans[first][0], spans[last][1]))
    return sorted(out)


@pytest.mark.parametrize(
    "text",
    [
        "  إيران  وروسيا\t\tو«الاتفاق النووي»  ",
        "إيران\u00a0وروسيا\u2003الاتفاق\nالنووي",
        "- إيران/روسيا – 12-3 «الاتفاق»، النووي:",
        "\u200fإيران\u200f وروسيا2024 abcروسيا روسياabc الاتفاق\u200f النووي",
        "الاتفاق - النووي ثم الاتفاق -- -- النووي",
        "",
        "   ",
    ],
)
def test_chunk_scan_gives_regex_token_offsets(text: str) -> None:
    query = 'ايران OR روسيا OR "الاتفاق النووي" OR abc OR 2024'
    _reference_hits(query, text)  # asserts every offset against the regex tokenization
    m = match_query(query, "", [text])
    expected = _reference_hits(query, text)
    assert sorted((h.start, h.end) for h in (m.hits if m else [])) == expected


def test_random_spacing_and_punctuation_match_like_single_spaces() -> None:
    """The same words with any separators give the same hits (terms and tokens)."""
    rng = random.Random(3)
    sentence = "قال مسؤول إن إيران وروسيا وقعتا الاتفاق النووي في موسكو أمس مع NATO و2024"
    words = sentence.split(" ")
    seps = [" ", "  ", "\t", "\n", " - ", "، ", " «", "» ", "\u00a0", "/", "\u200f ", " ... "]
    query = '"الاتفاق النووي" OR روسيا OR nato OR موسكو NEAR/3 ايران'
    plain = match_query(query, "", [" ".join(words)])
    assert plain is not None
    for _ in range(50):
        text = "".join(w + rng.choice(seps) for w in words)
        m = match_query(query, "", [text])
        assert m is not None
        # Separators may fall inside a phrase's span, so compare the tokens each hit covers.
        assert [(h.term, tokenize(text[h.start : h.end])) for h in m.hits] == [
            (h.term, tokenize(" ".join(words)[h.start : h.end])) for h in plain.hits
        ]


def test_rule_match_fields_are_computed_when_read() -> None:
    index = RuleIndex.build([RuleSpec("iran", "ايران OR روسيا"), RuleSpec("near", "ايران NEAR/2 روسيا")])
    first = index.match("إيران تحذّر", ["موسكو", "وصلت الوفود إلى روسيا أمس"])
    # Later articles through the same index (its memo changes) do not disturb pending matches.
    index.match("خبر", ["روسيا وإيران " * 50])
    assert [m.rule for m in first] == ["iran"]
    m = first[0]
    assert m._snippet is None  # not built until read
    assert m.snippet == "وصلت الوفود إلى [[روسيا]] أمس"
    assert m == RuleMatch(
        "iran",
        ["ايران", "روسيا"],
        [Hit("ايران", "title", 0, 0, 5), Hit("روسيا", "body", 1, 16, 21)],
        "وصلت الوفود إلى [[روسيا]] أمس",
    )
    assert repr(m).startswith("RuleMatch(rule='iran', terms=['ايران', 'روسيا'], hits=[Hit(")
    assert m != RuleMatch("iran", ["ايران"], m.hits, m.snippet)
    m.snippet = "edited"
    assert m.snippet == "edited"


def test_hit_is_a_frozen_value_with_a_dict() -> None:
    h = Hit("روسيا", "body", 1, 16, 21)
    assert h == Hit("روسيا", "body", 1, 16, 21) and hash(h) == hash(Hit("روسيا", "body", 1, 16, 21))
    assert h.__dict__ == {"term": "روسيا", "field": "body", "paragraph": 1, "start": 16, "end": 21}
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.start = 3  # type: ignore[misc]
