"""The generic extractor's text rules that run as regular expressions, and the cheap checks in front of them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from scraper.extract import generic

# Pieces of the comment-policy alternatives and near misses, in any case: what the check and the regex
# must agree on. ſ, ı and K are the characters that match s, i and k case-blind outside ASCII.
PIECES = ["التعليقات", "الآراء الواردة", "لا تعبر عن رأي", "comment", "comments", "commenting", " policy",
          " guidelines", " section", "views expressed", " below", " in the comments", "commen", "view",
          "expressed", "ſ", "ı", "K", "İ", " ", "\u00a0", "x", "رأي"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(["lower", "upper", "title"])), max_size=8))
def test_comment_policy_check_agrees_with_the_regex(parts: list[tuple[str, str]]) -> None:
    line = "".join(getattr(piece, case)() for piece, case in parts)
    assert generic._is_comment_policy(line) == (generic._COMMENT_POLICY.search(line) is not None)


LABEL_PIECES = [*generic._POSITIVE_WORDS, *generic._NEGATIVE_WORDS, "ad", "-", "nav-", "x", " ", "_", "K", "ſ",
                "ı", "İ", "\u00a0", "محتوى"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(LABEL_PIECES), st.sampled_from(["lower", "upper", "title"])), max_size=6))
def test_class_label_weight_agrees_with_the_regexes(parts: list[tuple[str, str]]) -> None:
    label = "".join(getattr(piece, case)() for piece, case in parts)
    negative, positive = generic._NEGATIVE.search(label), generic._POSITIVE.search(label)
    expected = 1.0 if not label.strip() else (0.5 if negative else 1.0) * (generic._MAX_CLASS_WEIGHT if positive
                                                                            else 1.0)
    assert generic._label_weight.__wrapped__(label) == expected


@pytest.mark.parametrize(("label", "weight"), [
    ("entry-content post-body", 1.25), ("sidebar-widget", 0.5), ("article-share", 0.625), ("grid col-6", 1.0),
    ("\u212aeyword-sidebar", 0.5), ("ſtory", 1.25),  # the Kelvin sign and the long s: the regexes decide
])
def test_class_label_weights(label: str, weight: float) -> None:
    assert generic._label_weight.__wrapped__(label) == weight


@pytest.mark.parametrize("line", [
    "Please read our COMMENT POLICY before posting.",
    "Views Expressed Below are those of our readers.",
    "الآراء الواردة أدناه لا تعبر عن رأي الموقع.",
])
def test_comment_policy_lines_are_found(line: str) -> None:
    assert generic._is_comment_policy(line)


@pytest.mark.parametrize("native", [True, False])
def test_a_trailing_comment_policy_paragraph_is_dropped(native: bool) -> None:
    story = "".join(f"<p>The council met on Tuesday and voted on the budget for the coming year, item {n}.</p>"
                    for n in range(3))
    policy = "<p>Comments are moderated. Please read our comment policy before you post anything below.</p>"
    html = f"<html><body><article>{story}{policy}</article></body></html>"
    paragraphs = generic.extract_paragraphs(LexborHTMLParser(html), native=native)
    assert len(paragraphs) == 3 and paragraphs[-1].endswith("item 2.")


@pytest.mark.parametrize("native", [True, False])
def test_boilerplate_lines_in_the_story_are_dropped(native: bool) -> None:
    story = [f"<p>قال المتحدث إن المحادثات بين الوفدين ستستمر حتى نهاية الأسبوع المقبل في موسكو {n}.</p>"
             for n in range(3)]
    junk = ["<p>اقرأ أيضا: الوفد يصل إلى طهران</p>", "<p>© 2026 الموقع. جميع الحقوق محفوظة</p>",
            "<p>Share</p>", "<p>Advertisement</p>"]
    html = f"<html><body><article>{story[0]}{''.join(junk)}{''.join(story[1:])}</article></body></html>"
    paragraphs = generic.extract_paragraphs(LexborHTMLParser(html), native=native)
    assert len(paragraphs) == 3 and not any(word in " ".join(paragraphs) for word in ("أيضا", "الحقوق", "Share"))


def test_the_widget_word_pattern_matches_exactly_the_words() -> None:
    # _WIDGET is built as a trie of boilerplate._WORDS: the same language as "word|word|...", searched faster.
    import random
    import re

    from scraper.extract import boilerplate

    flat = re.compile("|".join(map(re.escape, boilerplate._WORDS)))
    rng = random.Random(4)
    labels = ["".join(rng.choice("abcdegilmnoprstuw-_ 0123") for _ in range(rng.randrange(0, 60)))
              for _ in range(20000)]
    near = [w[:cut] + extra for w in boilerplate._WORDS for cut in (len(w) - 1, len(w)) for extra in ("", "s", "x")]
    near += [f"{rng.choice(labels)}{w}{rng.choice(labels)}" for w in boilerplate._WORDS for _ in range(20)]
    for label in labels + near:
        assert bool(boilerplate._WIDGET.search(label)) == bool(flat.search(label)), label
        assert (boilerplate._WIDGET.fullmatch(label) is not None) == (label in boilerplate._WORDS), label
