"""Collision check: words that hit a rule term only because a proclitic was peeled."""

from __future__ import annotations

from scraper.match.collisions import Collision, collision_report
from scraper.match.matcher import RuleIndex, RuleSpec
from scraper.match.wordlist import count_words, default_wordlist

WORDS = [
    ("روسيا", 120),
    ("وروسيا", 30),
    ("الروسية", 25),
    ("فروسية", 4),
    ("الفروسية", 6),
    ("بروسيا", 9),
    ("بيلاروسيا", 11),
    ("العروسين", 2),
    ("دروسي", 3),
    ("موسكو", 40),
    ("صلاة الجمعة", 5),  # two tokens: not a word, skipped
]


def test_reports_only_peeled_hits() -> None:
    report = collision_report("روسيا OR روسي", WORDS)
    assert {(c.word, c.term, c.clitics) for c in report} == {
        ("فروسية", "روسي", "ف"),
        ("بروسيا", "روسيا", "ب"),
        ("وروسيا", "روسيا", "و"),
    }


def test_words_also_seen_with_the_article_come_first() -> None:
    report = collision_report("روسي", WORDS)
    assert report[0] == Collision("فروسية", "روسي", 4, "ف", seen_with_article=True)


def test_sorted_by_count_otherwise() -> None:
    report = collision_report("روسيا", WORDS)
    assert [c.word for c in report] == ["وروسيا", "بروسيا"]
    assert collision_report("روسيا", WORDS, min_count=10) == [Collision("وروسيا", "روسيا", 30, "و")]


def test_except_phrases_silence_reviewed_words() -> None:
    spec = RuleSpec("russia", "روسيا OR روسي", except_phrases=("فروسية", "روسيا البيضاء"))
    assert {c.word for c in collision_report(spec, WORDS)} == {"بروسيا", "وروسيا"}


def test_article_terms_and_negated_terms() -> None:
    # الروس needs the article, so بروس is no reading of it at all; والروس is peeled و.
    words = [("بروس", 3), ("والروس", 7), ("الروس", 50)]
    assert [(c.word, c.term) for c in collision_report("الروس", words)] == [("والروس", "الروس")]
    # A negated term collides just the same: NOT بروسيا-like hits would veto articles.
    assert [c.word for c in collision_report("ايران NOT روسيا", [("بروسيا", 2)])] == ["بروسيا"]


def test_accepts_a_built_index() -> None:
    index = RuleIndex.build([RuleSpec("a", "مصر"), RuleSpec("b", '"الاتفاق النووي"')])
    words = [("بمصر", 3), ("ومصراته", 2), ("والاتفاق", 4)]
    # phrases are not checked word by word (the continuation has to match too)
    assert collision_report(index, words) == [Collision("بمصر", "مصر", 3, "ب")]


def test_default_wordlist_is_built_from_the_corpus() -> None:
    words = default_wordlist()
    assert len(words) > 1000
    counts = [n for _, n in words]
    assert counts == sorted(counts, reverse=True)
    assert dict(words)["في"] > 100
    report = collision_report("كورونا")
    assert report and all(c.term == "كورونا" and c.clitics for c in report)


def test_count_words_normalizes_and_skips_latin() -> None:
    counts = count_words(["قالت إيران إن ايران CNN 2024", "إيرانُ"])
    assert counts == {"قالت": 1, "ايران": 3, "ان": 1}
