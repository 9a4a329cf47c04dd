"""Match articles against many rules at once (see ARABIC_MATCHING.md, "Engine that stays fast").

All rules' terms live in one :class:`TermIndex`. An article is tokenized once per paragraph, each
distinct token is looked up once (memoized), and only the rules that own a term that hit are
evaluated, so the cost does not grow with the number of rules.

Cost: one scan per article whatever the rule count, then work per *candidate* rule (one whose
term hit) and per fired rule (hits, snippet): a rule set whose terms are common words costs more.

Scopes: ``document`` evaluates the whole expression over the title and body together;
``paragraph`` and ``sentence`` require it to hold inside one unit (the title is a unit of its own;
sentences end at . ! ? ؟ and newlines). ``title:`` parts always look at the title. NOT is evaluated
in the same unit, so in document scope it vetoes the whole article. A term occurrence lying inside
one of the rule's ``except_phrases`` does not count. ``A NEAR/n B``: one hit per operand with
max(start) - min(end) <= n tokens, inside one paragraph (or the title), so single words at most n
tokens apart. A rule that could fire on an article containing none of its terms (``NOT x``,
``a OR NOT b``) is rejected when built. A RuleIndex memoizes token lookups: use one per thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from scraper.errors import QuerySyntaxError
from scraper.match.article import ArticleView, Hit, scan_article
from scraper.match.evaluate import (
    ANY,
    NEAR,
    NOT,
    OR,
    TITLE,
    Code,
    Context,
    T,
    Unit,
    compile_node,
    evaluate,
    positive_leaves,
)
from scraper.match.query import Query, make_term, parse_query, query_terms
from scraper.match.snippet import highlight_spans, make_snippet
from scraper.match.termindex import TermIndex

SCOPES = ("document", "paragraph", "sentence")

__all__ = ["Hit", "RuleIndex", "RuleMatch", "RuleSpec", "highlight_query", "highlight_spans", "match_query"]


@dataclass(frozen=True)
class RuleSpec:
    name: str
    query: str
    scope: str = "document"  # document | paragraph | sentence
    except_phrases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"rule {self.name!r}: scope must be one of {', '.join(SCOPES)}, not {self.scope!r}")


class RuleMatch:
    """A rule that fired on an article: its name, the terms that hit, the hits, and a snippet.

    ``terms``, ``hits`` and ``snippet`` (original body text, hits wrapped in [[ ]]) are computed on
    first read: a 10,000-rule index fires dozens of rules per article, and building every hit list
    and snippet up front cost more than the scan itself, although some callers (search
    verification, counting) read only a few of them. A pending match keeps a reference to its
    article until its snippet is read, and reads the index's token memo: read it where its index
    may be used (the same thread, or under the same lock). Equality compares the four values,
    as the dataclass did.
    """

    __slots__ = ("_hits", "_pending", "_snippet", "_terms", "rule")

    def __init__(self, rule: str, terms: list[str], hits: list[Hit], snippet: str) -> None:
        self.rule = rule
        self._terms: list[str] | None = terms
        self._hits: list[Hit] | None = hits
        self._snippet: str | None = snippet
        self._pending: tuple[_Rule, ArticleView, ArticleView, list[Context] | None] | None = None

    @classmethod
    def _deferred(cls, rule: _Rule, art: ArticleView, view: ArticleView, contexts: list[Context] | None) -> RuleMatch:
        """A match whose fields are derived from ``view`` (``art`` minus except-phrase hits) when read;
        ``contexts`` are the units that satisfied a paragraph or sentence rule."""
        m = cls.__new__(cls)
        m.rule = rule.name
        m._terms = m._hits = m._snippet = None
        m._pending = (rule, art, view, contexts)
        return m

    @property
    def terms(self) -> list[str]:
        if self._terms is None:
            self._resolve()
        return self._terms  # type: ignore[return-value]

    @terms.setter
    def terms(self, value: list[str]) -> None:
        self._terms = value

    @property
    def hits(self) -> list[Hit]:
        if self._hits is None:
            self._resolve()
        return self._hits  # type: ignore[return-value]

    @hits.setter
    def hits(self, value: list[Hit]) -> None:
        self._hits = value

    @property
    def snippet(self) -> str:
        if self._snippet is None:
            hits = self.hits
            assert self._pending is not None
            self._snippet = _snippet(self._pending[1], hits)
            self._pending = None  # everything is computed: let the article go
        return self._snippet

    @snippet.setter
    def snippet(self, value: str) -> None:
        self._snippet = value

    def _resolve(self) -> None:
        assert self._pending is not None
        rule, _, view, contexts = self._pending
        self._terms, self._hits = _terms_and_hits(rule, view, contexts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleMatch):
            return NotImplemented
        return (self.rule, self.terms, self.hits, self.snippet) == (other.rule, other.terms, other.hits, other.snippet)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        return f"RuleMatch(rule={self.rule!r}, terms={self.terms!r}, hits={self.hits!r}, snippet={self.snippet!r})"


@dataclass(slots=True)
class _Rule:
    name: str
    scope: str
    code: Code
    positive: tuple[tuple[int, int, str], ...]  # (term id, field, term as written)
    term_ids: frozenset[int]
    except_ids: frozenset[int]
    uses_title: bool  # only then can a unit without the rule's terms satisfy it (via title:)
    trivial: bool  # document scope, no except, only ORed terms in any field: being a candidate is firing


class RuleIndex:
    """Compiled rules. Build once, call :meth:`match` per article; not thread-safe (memo)."""

    def __init__(self) -> None:
        self._terms = TermIndex()
        self._rules: list[_Rule] = []
        self._postings: dict[int, list[int]] = {}  # term id -> rules that fire on it

    @classmethod
    def build(cls, rules: list[RuleSpec]) -> RuleIndex:
        """Compile ``rules``; a bad query raises :class:`QuerySyntaxError` with ``rule_name`` set."""
        index = cls()
        for spec in rules:
            index._add(spec)
        return index

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def terms(self) -> TermIndex:
        return self._terms

    def expression_term_ids(self) -> frozenset[int]:
        """Ids of the terms used in rule expressions (except phrases are indexed too, but apart)."""
        return frozenset().union(*(r.term_ids for r in self._rules))

    def except_ids_for(self, tid: int) -> frozenset[int]:
        """Except-phrase term ids of the rules that use term ``tid``."""
        return frozenset().union(*(r.except_ids for r in self._rules if tid in r.term_ids))

    def _add(self, spec: RuleSpec) -> None:
        try:
            rule = self._compile(spec)
        except QuerySyntaxError as e:
            err = QuerySyntaxError(f"rule {spec.name!r}: {e.message}", e.query, e.position)
            err.rule_name = spec.name  # type: ignore[attr-defined]
            raise err from None
        rid = len(self._rules)
        self._rules.append(rule)
        for tid in {tid for tid, _, _ in rule.positive}:
            self._postings.setdefault(tid, []).append(rid)

    def _compile(self, spec: RuleSpec) -> _Rule:
        q = parse_query(spec.query)
        code = compile_node(q.root, self._terms)
        if evaluate(code, Context.of([], [], [])):
            raise QuerySyntaxError("rule would match articles that contain none of its terms", spec.query, 0)
        positive: dict[tuple[int, int], str] = {}
        for term, where in positive_leaves(q.root):
            positive.setdefault((self._terms.add(term), where), term.text)
        excepts = frozenset(self._terms.add(make_term(p.strip('"«»“” '), phrase=True)) for p in spec.except_phrases)
        term_ids = frozenset(tid for tid, _ in positive) | _all_ids(code)
        positives = tuple((t, w, s) for (t, w), s in positive.items())
        trivial = spec.scope == "document" and not excepts and _only_ored_terms(code)
        return _Rule(spec.name, spec.scope, code, positives, term_ids, excepts, _uses_title(code), trivial)

    def match(self, title: str, paragraphs: list[str]) -> list[RuleMatch]:
        """Every rule that fires on the article, in the order the rules were given.

        Only whether each rule fires is decided here; its terms, hits and snippet are computed when
        first read (see :class:`RuleMatch`).
        """
        art = scan_article(self._terms, title, paragraphs)
        hit_ids = set(art.title.hits).union(*(u.hits for u in art.body))
        postings = self._postings
        candidates = set().union(*[postings[tid] for tid in hit_ids if tid in postings])
        rules = self._rules
        deferred = RuleMatch._deferred
        out = []
        for rid in sorted(candidates):
            rule = rules[rid]
            if rule.trivial:  # any hit of a candidate's term fires it: nothing to evaluate
                out.append(deferred(rule, art, art, None))
                continue
            view = art
            if not rule.except_ids.isdisjoint(hit_ids):
                view = art.without(rule.except_ids)
            if rule.scope == "document":
                if evaluate(rule.code, view.document()):
                    out.append(deferred(rule, art, view, None))
            else:
                matched = [ctx for ctx in _contexts(rule, view) if evaluate(rule.code, ctx)]
                if matched:
                    out.append(deferred(rule, art, view, matched))
        return out


def _terms_and_hits(rule: _Rule, view: ArticleView, contexts: list[Context] | None) -> tuple[list[str], list[Hit]]:
    """The terms and hits a fired rule reports: all its positive hits in the article (document
    scope) or in the units that satisfied it (``contexts``)."""
    if contexts is None:
        # Per-term hit lists are shared by every rule using the term on this article.
        present = view.document().present
        lists = [view.document_hits(t, w, text) for t, w, text in rule.positive if t in present[w]]
        if len(lists) == 1:
            return [lists[0][0].term], list(lists[0])
        ordered = _merge_hits(h for hs in lists for h in hs)
    else:
        ordered = _merge_hits(_unit_hits(rule, contexts))
    seen = {h.term for h in ordered}
    return list(dict.fromkeys(text for _, _, text in rule.positive if text in seen)), ordered


def _unit_hits(rule: _Rule, contexts: list[Context]) -> Iterator[Hit]:
    for ctx in contexts:
        for tid, where, text in rule.positive:
            for u in ctx.present[where].get(tid, ()):
                for s, e in u.hits[tid]:
                    yield Hit(text, u.field, u.paragraph, *u.char_span(s, e))


def _merge_hits(hits: Iterable[Hit]) -> list[Hit]:
    """Title first, then by paragraph and offset; one hit per span (the first term listed wins)."""
    by_span: dict[tuple[bool, int, int, int], Hit] = {}
    for h in hits:
        by_span.setdefault((h.field == "body", h.paragraph, h.start, h.end), h)
    return [by_span[k] for k in sorted(by_span)]


def _all_ids(code: Code) -> frozenset[int]:
    op = code[0]
    if op == T:
        return frozenset((code[1],))
    if op == NOT:
        return _all_ids(code[1])
    if op == NEAR:
        return frozenset(tid for g in code[2] for tid in g)
    return frozenset().union(*(_all_ids(c) for c in code[1]))


def _only_ored_terms(code: Code) -> bool:
    if code[0] == T:
        return code[2] == ANY
    return code[0] == OR and all(_only_ored_terms(c) for c in code[1])


def _uses_title(code: Code) -> bool:
    op = code[0]
    if op == T:
        return code[2] == TITLE
    if op == NEAR:
        return code[3] == TITLE
    if op == NOT:
        return _uses_title(code[1])
    return any(_uses_title(c) for c in code[1])


def _contexts(rule: _Rule, view: ArticleView) -> list[Context]:
    if rule.scope == "document":
        return [view.document()]
    mine = view.unit_contexts(rule.scope, rule.term_ids)
    # Units without the rule's terms all evaluate alike, and can only be true through title: parts.
    if rule.uses_title and len(mine) < view.total_units(rule.scope):
        mine.append(view.empty())
    return mine


def _snippet(view: ArticleView, hits: list[Hit]) -> str:
    body = [h for h in hits if h.field == "body"]
    if not body:
        first = next((p for p in view.paragraphs if p.strip()), "")
        return make_snippet(first, [])
    p = body[0].paragraph
    spans = tuple((h.start, h.end) for h in body if h.paragraph == p)
    snippet = view.snippets.get((p, spans))
    if snippet is None:
        snippet = view.snippets[(p, spans)] = make_snippet(view.paragraphs[p], list(spans))
    return snippet


def match_query(
    query: str,
    title: str,
    paragraphs: list[str],
    scope: str = "document",
    except_phrases: tuple[str, ...] = (),
) -> RuleMatch | None:
    """Match one query against one article (for previews and tests; build a RuleIndex for many)."""
    found = RuleIndex.build([RuleSpec("query", query, scope, tuple(except_phrases))]).match(title, paragraphs)
    return found[0] if found else None


def highlight_query(query: str | Query, text: str) -> str:
    """``text`` with the positive terms of ``query`` wrapped in ``[[`` ``]]`` (search results)."""
    q = parse_query(query) if isinstance(query, str) else query
    index = TermIndex()
    ids = {index.add(t) for t in query_terms(q)}
    found, layouts = index.scan_many([text])
    unit = Unit("body", 0, text, found.get(0, {}), layouts[0])
    return highlight_spans(text, [unit.char_span(s, e) for tid in ids for s, e in unit.hits.get(tid, ())])
