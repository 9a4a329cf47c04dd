"""The query language shared by alert rules and search, so a search and an alert agree.

Syntax::

    روسيا                  a word, Arabic-aware (clitics, nisba endings, folding; see terms.py)
    الكرملين               a word written with the article requires the article (للكرملين, not كرملين)
    "الاتفاق النووي"       a phrase (also «...» or “...”); proclitics on the first word only,
                           later words may take only the article
    نفط*                   a prefix (at least 3 letters before the *); clitics allowed before it
    NATO                   Latin words are case-folded
    A B, A AND B           both (whitespace is an implicit AND)
    A OR B                 either
    NOT A, A NOT B         negation; ``A NOT B`` is ``A AND NOT B``
    A NEAR/5 B NEAR/5 C    all operands within a window of 5 tokens (operands: terms or OR-groups)
    title:(A OR B)         restrict to the headline (``body:`` restricts to the body)
    ( ... )                grouping

Operators are upper-case (lower-case ``and``/``or`` are searched as words). Precedence, tightest
first: ``NOT`` > ``NEAR`` > ``AND`` > ``OR``; so ``A OR B C`` is ``A OR (B AND C)`` and
``NOT A NEAR/3 B`` is ``(NOT A) NEAR/3 B``, which is rejected because NEAR needs positions.

Errors raise :class:`QuerySyntaxError` with the 0-based offset of the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from scraper.errors import QuerySyntaxError
from scraper.normalize.text import tokenize

MIN_PREFIX = 3
MAX_NEAR = 1000
MAX_NESTING = 32  # parentheses, NOTs and fields; real rules use 3 or 4
FIELDS = ("title", "body")
_QUOTES = {'"': '"', "“": "”", "«": "»"}
_BARE_END = re.compile(r"[\s()\"“”«»]")
_NEAR_RE = re.compile(r"NEAR/(\d+)")


@dataclass(frozen=True, slots=True)
class WordPattern:
    """One word of a term in matching form.

    ``base`` is normalized and, when the term was written with the article, has it removed
    (``need_article`` is then True): keying by the bare base lets للكرملين and الكرملين share one
    lookup after the text token's clitics are peeled.
    """

    base: str
    need_article: bool = False
    prefix: bool = False

    @property
    def nisba(self) -> bool:
        """Terms ending in ي also match the nisba endings (ـه ـان ـين ـون ـات ـتان ـتين)."""
        return not self.prefix and self.base.endswith("ي")

    @property
    def adjective(self) -> bool:
        """A name also matches its relational adjective: إيران finds الإيراني، الإيرانية، الإيرانيين, and
        مصر finds المصرية. Not for bases ending in ا or ه (روسيا → روسي is a different word form
        and would bring روسيات in), nor for short ones, nor for terms written with the article:
        الرياض must not find الرياضية (sports), nor الروس find الروسي; write العراقي for that."""
        return not self.prefix and not self.need_article and len(self.base) >= 3 and self.base[-1] not in "ايه"


@dataclass(frozen=True)
class Term:
    """A leaf: a word, a phrase or a prefix. Equality is by matching form, not spelling."""

    kind: Literal["word", "phrase", "prefix"]
    words: tuple[WordPattern, ...]
    text: str = field(default="", compare=False)  # as the user wrote it, for display
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class Near:
    """All operands within ``distance`` tokens: max(start) - min(end) <= distance."""

    operands: tuple[Node, ...]
    distance: int


@dataclass(frozen=True)
class Field:
    name: Literal["title", "body"]
    child: Node


Node = Term | And | Or | Not | Near | Field


@dataclass(frozen=True)
class Query:
    text: str
    root: Node


def word_pattern(norm: str, prefix: bool = False) -> WordPattern:
    """Pattern for one normalized word; a leading ال becomes ``need_article`` if a base remains."""
    min_base = MIN_PREFIX if prefix else 2
    if norm.startswith("ال") and len(norm) - 2 >= min_base:
        return WordPattern(norm[2:], True, prefix)
    return WordPattern(norm, False, prefix)


def make_term(text: str, position: int = 0, *, phrase: bool = False) -> Term:
    """Compile one bare word (``prefix*`` allowed) or phrase body into a :class:`Term`."""
    star = text.find("*")
    if star != -1 and (phrase or star != len(text) - 1):
        where = "inside a phrase" if phrase else "except at the end of a word"
        raise QuerySyntaxError(f"wildcard * is not allowed {where}", text, star)
    words = tokenize(text[:-1] if star != -1 else text)
    if not words:
        what = "empty phrase" if phrase else f"nothing searchable in {text!r}"
        raise QuerySyntaxError(what, text, 0)
    if star != -1:
        # The article is a clitic, not part of the prefix: الت* would match half the language.
        bare = words[0][2:] if words[0].startswith("ال") else words[0]
        if len(words) != 1 or len(bare) < MIN_PREFIX:
            raise QuerySyntaxError(f"wildcard needs at least {MIN_PREFIX} letters before *", text, 0)
        return Term("prefix", (word_pattern(words[0], prefix=True),), text, position)
    kind: Literal["word", "phrase"] = "phrase" if len(words) > 1 else "word"
    return Term(kind, tuple(word_pattern(w) for w in words), text, position)


@dataclass(frozen=True, slots=True)
class _Lex:
    kind: str  # ( ) PHRASE WORD AND OR NOT NEAR FIELD END
    value: str
    pos: int
    n: int = 0


def _lex(text: str) -> list[_Lex]:
    out: list[_Lex] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Lex(c, c, i))
            i += 1
        elif c in _QUOTES:
            end = text.find(_QUOTES[c], i + 1)
            if end == -1:
                raise QuerySyntaxError("unterminated phrase", text, i)
            out.append(_Lex("PHRASE", text[i + 1 : end], i))
            i = end + 1
        elif c in "”»":  # a closing quote with no opening one (the bare-word scan would stop on it forever)
            raise QuerySyntaxError("closing quote without an opening one", text, i)
        else:
            m = _BARE_END.search(text, i)
            end = m.start() if m else len(text)
            out.extend(_lex_bare(text, text[i:end], i))
            i = end
    out.append(_Lex("END", "", len(text)))
    return out


def _lex_bare(query: str, word: str, pos: int) -> list[_Lex]:
    if word in ("AND", "OR", "NOT"):
        return [_Lex(word, word, pos)]
    if word == "NEAR" or word.startswith("NEAR/"):
        m = _NEAR_RE.fullmatch(word)
        if not m or not 1 <= int(m.group(1)) <= MAX_NEAR:
            raise QuerySyntaxError(f"NEAR needs a distance from 1 to {MAX_NEAR}, like NEAR/5", query, pos)
        return [_Lex("NEAR", word, pos, int(m.group(1)))]
    name, colon, rest = word.partition(":")
    if colon and name.lower() in FIELDS:
        out = [_Lex("FIELD", name.lower(), pos)]
        if rest:
            out.append(_Lex("WORD", rest, pos + len(name) + 1))
        return out
    return [_Lex("WORD", word, pos)]


class _Parser:
    """Recursive descent over the lexemes; one method per precedence level."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lex = _lex(text)
        self.i = 0
        self.depth = 0  # open parentheses, NOTs and fields around the current position

    def peek(self) -> _Lex:
        return self.lex[self.i]

    def take(self) -> _Lex:
        lx = self.lex[self.i]
        self.i += 1
        return lx

    def error(self, message: str, lx: _Lex) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.text, lx.pos)

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise self.error("empty query", self.peek())
        node = self.or_expr()
        lx = self.peek()
        if lx.kind == ")":
            raise self.error("unbalanced ')'", lx)
        if lx.kind != "END":
            raise self.error(f"unexpected {lx.value!r}", lx)
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.peek().kind == "OR":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.near_expr()]
        while self.peek().kind in ("AND", "NOT", "WORD", "PHRASE", "FIELD", "("):
            if self.peek().kind == "AND":
                self.take()
            parts.append(self.near_expr())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def near_expr(self) -> Node:
        first = self.unary()
        if self.peek().kind != "NEAR":
            return first
        operands = [self.near_operand(first, self.peek())]
        distance = self.peek().n
        while self.peek().kind == "NEAR":
            op = self.take()
            if op.n != distance:
                raise self.error("chained NEAR must use one distance", op)
            operands.append(self.near_operand(self.unary(), op))
        return Near(tuple(operands), distance)

    def near_operand(self, node: Node, op: _Lex) -> Node:
        # NEAR compares positions, so its operands must be things that have positions.
        if not _positional(node):
            raise self.error("NEAR operands must be terms or OR-groups of terms", op)
        return node

    def unary(self) -> Node:
        if self.peek().kind == "NOT":
            lx = self.take()
            self.descend(lx)
            node = Not(self.unary())
            self.depth -= 1
            return node
        return self.primary()

    def descend(self, lx: _Lex) -> None:
        # Found by atheris: 400 "(" in a 1,000-character API query raised RecursionError (a 500). Every
        # walk over the tree recurses too, so the depth is bounded here, where the user can be told.
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"nested deeper than {MAX_NESTING} levels", lx)

    def primary(self) -> Node:
        lx = self.take()
        if lx.kind in ("(", "FIELD"):
            self.descend(lx)
            node = self.nested(lx)
            self.depth -= 1
            return node
        if lx.kind in ("WORD", "PHRASE"):
            return self.term(lx)
        if lx.kind == "END":
            # Point at the dangling operator rather than at the end of the text.
            prev = self.lex[self.i - 2] if self.i >= 2 else lx
            if prev.kind in ("AND", "OR", "NOT", "NEAR", "FIELD"):
                raise self.error(f"{prev.value} needs a term after it", prev)
            raise self.error("query ends where a term was expected", lx)
        raise self.error(f"expected a term, found {lx.value!r}", lx)

    def nested(self, lx: _Lex) -> Node:
        """What follows an opening parenthesis or a ``title:``/``body:`` field."""
        if lx.kind == "(":
            if self.peek().kind == ")":
                raise self.error("empty parentheses", lx)
            node = self.or_expr()
            if self.peek().kind != ")":
                raise self.error("unbalanced '('", lx)
            self.take()
            return node
        return Field(lx.value, self.primary())  # type: ignore[arg-type]

    def term(self, lx: _Lex) -> Term:
        phrase = lx.kind == "PHRASE"
        if phrase and not tokenize(lx.value.replace("*", "")):
            raise self.error("empty phrase", lx)
        try:
            t = make_term(lx.value, lx.pos, phrase=phrase)
        except QuerySyntaxError as e:
            offset = lx.pos + (1 if phrase else 0) + e.position
            raise QuerySyntaxError(e.message, self.text, offset) from None
        shown = self.text[lx.pos : lx.pos + len(lx.value) + 2] if phrase else lx.value
        return Term(t.kind, t.words, shown, lx.pos)


def _positional(node: Node) -> bool:
    if isinstance(node, Term):
        return True
    return isinstance(node, Or) and all(_positional(c) for c in node.children)


def parse_query(text: str) -> Query:
    """Parse ``text`` into a :class:`Query`; raises :class:`QuerySyntaxError` with the position."""
    return Query(text, _Parser(text).parse())


def query_terms(q: Query | Node) -> list[Term]:
    """The positive (not negated) terms of ``q`` in query order, without duplicates."""
    out: list[Term] = []
    _collect(q.root if isinstance(q, Query) else q, out, negated=False)
    return out


def _collect(node: Node, out: list[Term], negated: bool) -> None:
    if isinstance(node, Term):
        if not negated and node not in out:
            out.append(node)
    elif isinstance(node, And | Or):
        for c in node.children:
            _collect(c, out, negated)
    elif isinstance(node, Near):
        for c in node.operands:
            _collect(c, out, negated)
    elif isinstance(node, Not):
        _collect(node.child, out, not negated)
    else:
        _collect(node.child, out, negated)
