"""PostgreSQL prefilter for phrases and NEAR: tsquery phrase operators over the tsvector positions.

The generated tsvector (migration 0002_search) keeps one position per token of the title and body,
counted as the matcher counts them (title_norm and body_norm are the matcher's tokens joined by
spaces), so ``a <-> b`` and ``a <g> b`` test what the matcher tests, looser only across paragraph
and title/body boundaries. Three PostgreSQL limits can make them stricter, and for the articles
where one might apply the prefilter falls back to the words alone (:func:`_positions_may_be_lost`).

Planning: a phrase's positions are checked on each row (the GIN index only knows that its words
occur), and PostgreSQL cannot estimate how many rows pass. Rare phrases walked newest first read
the whole table (2-4 s at 50,000 articles), so :func:`positional_clause` first collects the hits
through the index, up to :data:`DENSE`: fewer hits are then looked up by id; more mean the date
walk will fill a page soon.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import ColumnElement, Connection, select, text
from sqlmodel import col

from scraper.store.search_fts import (
    AllOf,
    AnyOf,
    Close,
    Filter,
    Tok,
    positional_cores,
    positional_toks,
    prune,
    to_tsquery,
)
from scraper.store.tables import Article

DENSE = 200  # hits from which walking the date index beats looking the hits up
MAX_POSITIONS = 255  # positions kept per lexeme; later occurrences have none
LONG_TEXT_BYTES = 32_000  # 16,383 lexemes (the last distinct position) need at least 32,765 bytes
# Characters inside our tokens that PostgreSQL's parser treats as separators, so that one token
# becomes two lexemes (C.UTF-8: × ÷ ۽ ۾ U+08E2; all combining marks, for other locales).
# tests/integration/test_search.py checks this against the server.
SPLIT_CHARS = "[\u00d7\u00f7\u0300-\u036f\u06fd\u06fe\u08ca-\u08ff]"
_TEXT_BYTES = "(octet_length(articles.title_norm) + octet_length(articles.body_norm))"


def _has_near(f: Filter) -> bool:
    return isinstance(f, Close) or (isinstance(f, AllOf | AnyOf) and any(_has_near(c) for c in f.children))


def _splits_matter(flt: Filter) -> bool:
    """Can a token split in two change what a phrase or NEAR finds? Every later position moves on
    by one: that widens a NEAR window; a phrase only breaks where the split token is one of its
    words, which only a ``word*`` spelling (any continuation) or one holding a split character
    can be (nisba endings hold none)."""
    return _has_near(flt) or any(t.open or re.search(SPLIT_CHARS, t.text) for t in positional_toks(flt))


def _positions_may_be_lost(flt: Filter) -> tuple[str, dict[str, object]]:
    """SQL true for every article whose tsvector positions could hide a match the matcher accepts:
    (1) positions stop at 16,383, so a long text's tail shares one position; (2) a lexeme keeps its
    first 255 positions only; (3) a token holding one of SPLIT_CHARS is two lexemes (see
    :func:`_splits_matter`). (2) needs some spelling 256 times, so its core (the word under its
    clitics) 255 times: counted by deleting it, only in texts long enough to hold that many
    (cheap: the length of a stored text is in its header)."""
    parts = [f"{_TEXT_BYTES} >= :long_bytes"]
    params: dict[str, object] = {"long_bytes": LONG_TEXT_BYTES}
    if _splits_matter(flt):
        parts += ["articles.title_norm ~ :split", "articles.body_norm ~ :split"]
        params["split"] = SPLIT_CHARS
    for i, core in enumerate(sorted(positional_cores(flt))):
        removed = (f"{_TEXT_BYTES} - octet_length(replace(articles.title_norm, :core{i}, ''))"
                   f" - octet_length(replace(articles.body_norm, :core{i}, ''))")
        parts.append(f"({_TEXT_BYTES} >= :room{i} AND {removed} >= :rep{i})")
        size = len(core.encode())
        # 256 tokens holding the core, each but the last followed by a separator
        params |= {f"core{i}": core, f"rep{i}": MAX_POSITIONS * size, f"room{i}": MAX_POSITIONS * (size + 1) - 1}
    return "(" + " OR ".join(parts) + ")", params


def _clause(flt: Filter) -> ColumnElement[bool]:
    """Words through the GIN index; then positions, or the words alone where positions may lie."""
    lossy, params = _positions_may_be_lost(flt)
    return text("articles.search_tsv @@ CAST(:flat AS tsquery) AND "
                f"(articles.search_tsv @@ CAST(:tsq AS tsquery) OR {lossy})").bindparams(
        flat=to_tsquery(flt, positional=False), tsq=to_tsquery(flt), **params)


@contextmanager
def _through_the_index(conn: Connection) -> Iterator[None]:
    """Plan the next statements with the GIN index (bitmap scans): a sequential scan or the date
    walk would check every row. For this transaction only; the candidate queries after it plan freely."""
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    conn.execute(text("SET LOCAL enable_indexscan = off"))
    try:
        yield
    finally:
        conn.execute(text("RESET enable_seqscan"))
        conn.execute(text("RESET enable_indexscan"))


# Per database: spellings known to occur. Safe to remember: one that stops occurring (its articles
# deleted) only keeps a spelling that matches nothing in the prefilter. Ones that did not occur are
# looked up every time (a new article may hold them); those lookups are cheap. API workers are
# threads: each set operation below is one C call under the GIL, so none sees another half done.
_PRESENT: dict[str, set[Tok]] = {}
MAX_REMEMBERED = 50_000


def present_spellings(conn: Connection, toks: set[Tok]) -> set[Tok]:
    """Which of ``toks`` occur in some article (GIN lookups; a spelling that occurs nowhere costs
    an index probe, one that occurs a row read, ~0.2-1 ms at 50,000 articles, so those are remembered)."""
    known = _PRESENT.setdefault(str(conn.engine.url), set())
    present = toks & known
    ordered = sorted(toks - known, key=lambda t: (t.text, t.prefix))
    if ordered:
        sql = text("SELECT i FROM unnest(CAST(:q AS text[])) WITH ORDINALITY AS t(q, i) "
                   "WHERE EXISTS (SELECT 1 FROM articles WHERE search_tsv @@ CAST(t.q AS tsquery))")
        found = {ordered[i - 1] for i in conn.execute(sql.bindparams(q=[to_tsquery(t) for t in ordered])).scalars()}
        if len(known) > MAX_REMEMBERED:
            known.clear()
        known |= found
        present |= found
    return present


def positional_clause(conn: Connection, flt: Filter) -> ColumnElement[bool]:
    """The WHERE condition for a prefilter with phrases or NEAR (see the module docstring).

    Spellings that occur nowhere are dropped first: NEAR is 2 x distance phrases over every clitic
    spelling of both words, and each row's check costs a lookup per spelling per phrase."""
    with _through_the_index(conn):
        flt = prune(flt, present_spellings(conn, positional_toks(flt)))
        clause = _clause(flt)
        hits = conn.execute(select(col(Article.id)).where(clause).limit(DENSE)).scalars().all()
    return clause if len(hits) >= DENSE else col(Article.id).in_(hits)
