"""The query language: structure, precedence, terms and syntax errors with positions."""

from __future__ import annotations

import pytest

from scraper.errors import QuerySyntaxError
from scraper.match.query import And, Field, Near, Not, Or, Term, WordPattern, parse_query, query_terms


def word(text: str) -> str:
    """The matching base of a one-word term, for compact structural assertions."""
    t = parse_query(text).root
    assert isinstance(t, Term)
    return t.words[0].base


def shape(node: object) -> object:
    """A compact structural form of a parsed query: bases and operator names."""
    if isinstance(node, Term):
        return " ".join(("ال" if w.need_article else "") + w.base + ("*" if w.prefix else "") for w in node.words)
    if isinstance(node, And):
        return ("AND", *map(shape, node.children))
    if isinstance(node, Or):
        return ("OR", *map(shape, node.children))
    if isinstance(node, Not):
        return ("NOT", shape(node.child))
    if isinstance(node, Near):
        return (f"NEAR/{node.distance}", *map(shape, node.operands))
    assert isinstance(node, Field)
    return (node.name, shape(node.child))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ايران روسيا", ("AND", "ايران", "روسيا")),
        ("ايران AND روسيا", ("AND", "ايران", "روسيا")),
        ("ايران OR روسيا تركيا", ("OR", "ايران", ("AND", "روسيا", "تركيا"))),
        ("(ايران OR روسيا) تركيا", ("AND", ("OR", "ايران", "روسيا"), "تركيا")),
        ("ايران NOT روسيا", ("AND", "ايران", ("NOT", "روسيا"))),
        ("NOT NOT ايران", ("NOT", ("NOT", "ايران"))),
        ("ايران NEAR/5 روسيا OR تركيا", ("OR", ("NEAR/5", "ايران", "روسيا"), "تركيا")),
        ("ايران NEAR/5 روسيا تركيا", ("AND", ("NEAR/5", "ايران", "روسيا"), "تركيا")),
        ("ايران NEAR/5 روسيا NEAR/5 تركيا", ("NEAR/5", "ايران", "روسيا", "تركيا")),
        ("(طهران OR ايران) NEAR/3 موسكو", ("NEAR/3", ("OR", "طهران", "ايران"), "موسكو")),
        ("title:(ايران OR روسيا) نفط*", ("AND", ("title", ("OR", "ايران", "روسيا")), "نفط*")),
        ("Title:ايران", ("title", "ايران")),
        ("body:ايران", ("body", "ايران")),
        ('"الاتفاق النووي" طهران', ("AND", "الاتفاق النووي", "طهران")),
        ("«الاتفاق النووي»", "الاتفاق النووي"),
        ("الكرملين", "الكرملين"),
        ("النفط*", "النفط*"),
        ("COVID-19", "covid 19"),
        ("ايران and روسيا", ("AND", "ايران", "and", "روسيا")),
    ],
)
def test_structure_and_precedence(query: str, expected: object) -> None:
    assert shape(parse_query(query).root) == expected


def test_terms_are_normalized_and_keep_their_spelling() -> None:
    t = parse_query("إيرانيّ").root
    assert isinstance(t, Term)
    assert t.kind == "word" and t.text == "إيرانيّ"
    assert t.words == (WordPattern("ايراني"),)
    assert t.words[0].nisba
    assert word("NATO") == "nato"
    assert word("مصرى") == "مصري"
    assert word("القاهرة") == "قاهره"


def test_article_is_required_only_when_written() -> None:
    (kremlin,) = parse_query("الكرملين").root.words  # type: ignore[union-attr]
    assert kremlin == WordPattern("كرملين", need_article=True)
    (russia,) = parse_query("روسيا").root.words  # type: ignore[union-attr]
    assert not russia.need_article
    # A two-letter word starting with ال keeps its letters: there is no base to speak of.
    (short,) = parse_query("الا").root.words  # type: ignore[union-attr]
    assert short == WordPattern("الا")


def test_prefix_term() -> None:
    t = parse_query("نفط*").root
    assert isinstance(t, Term) and t.kind == "prefix"
    assert t.words == (WordPattern("نفط", prefix=True),)
    assert not t.words[0].nisba


def test_query_terms_positive_only_in_order_without_duplicates() -> None:
    q = parse_query('title:ايران OR (روسيّا AND NOT تركيا) OR روسيا OR "الاتفاق النووي" NOT NOT سوريا')
    assert [t.text for t in query_terms(q)] == ["ايران", "روسيّا", '"الاتفاق النووي"', "سوريا"]


def test_term_equality_is_by_matching_form() -> None:
    assert parse_query("رُوسيـا").root == parse_query("روسيا").root
    assert parse_query("الروس").root != parse_query("روس").root


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("", 0, "empty query"),
        ("ايران AND", 6, "AND needs a term"),
        ("ايران OR", 6, "OR needs a term"),
        ("NOT", 0, "NOT needs a term"),
        ("AND ايران", 0, "expected a term"),
        ("ايران OR OR روسيا", 9, "expected a term"),
        ("(ايران OR روسيا", 0, "unbalanced '('"),
        ("ايران OR روسيا)", 14, "unbalanced ')'"),
        ("((ايران)", 0, "unbalanced '('"),
        ("ايران ()", 6, "empty parentheses"),
        ('ايران ""', 6, "empty phrase"),
        ('ايران " ، "', 6, "empty phrase"),
        ('ايران "روسيا', 6, "unterminated phrase"),
        ("نف*", 0, "at least 3 letters"),
        ("الن*", 0, "at least 3 letters"),
        ("ايران نف*", 6, "at least 3 letters"),
        ("نف*ط", 2, "at the end of a word"),
        ('"نفط* الخام"', 4, "inside a phrase"),
        ("ايران NEAR/0 روسيا", 6, "NEAR needs a distance"),
        ("ايران NEAR روسيا", 6, "NEAR needs a distance"),
        ("ايران NEAR/x روسيا", 6, "NEAR needs a distance"),
        ("ايران NEAR/5000 روسيا", 6, "NEAR needs a distance"),
        ("ايران NEAR/5", 6, "NEAR/5 needs a term"),
        ("ايران NEAR/3 روسيا NEAR/4 تركيا", 19, "one distance"),
        ("ايران NEAR/3 (روسيا AND تركيا)", 6, "OR-groups"),
        ("NOT ايران NEAR/3 روسيا", 10, "OR-groups"),
        ("title:", 0, "title needs a term"),
        ("، ؟", 0, "nothing searchable"),
    ],
)
def test_syntax_errors_carry_the_position(query: str, position: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert info.value.position == position
    assert message in info.value.message
    assert info.value.query == query
    # The caret line points under the offending character.
    caret_line = str(info.value).splitlines()[-1]
    assert caret_line.index("^") == 2 + position


def test_lowercase_near_and_words_starting_with_near_are_words() -> None:
    assert shape(parse_query("NEARBY near").root) == ("AND", "nearby", "near")


@pytest.mark.parametrize(
    "text", ["(" * 400 + "إيران" + ")" * 400, "NOT " * 400 + "روسيا", "title:(" * 400 + "طهران" + ")" * 400]
)
def test_deep_nesting_is_a_syntax_error_not_a_recursion_error(text: str) -> None:
    """Found by atheris (bench/fuzz_atheris.py): a long run of "(" raised RecursionError, a 500 from the API."""
    with pytest.raises(QuerySyntaxError, match="nested deeper than 32") as err:
        parse_query(text)
    assert 0 <= err.value.position < len(text)


def test_nesting_up_to_the_limit_parses() -> None:
    q = parse_query("(" * 32 + "إيران AND روسيا" + ")" * 32)
    assert [t.text for t in query_terms(q)] == ["إيران", "روسيا"]
