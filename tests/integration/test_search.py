"""Search on SQLite (FTS5) and PostgreSQL (tsvector): the index prefilters, the rule matcher decides.

Every query is checked against a brute-force run of the matcher over all stored articles, on both
databases, so the two databases return the same articles and a search agrees with a rule."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, text
from sqlmodel import col, select

from scraper.errors import QuerySyntaxError
from scraper.match.matcher import match_query
from scraper.match.query import parse_query
from scraper.normalize.text import normalize_document, normalize_text, tokenize
from scraper.store import search as search_mod
from scraper.store import search_pg
from scraper.store.db import make_engine, session
from scraper.store.search import search_articles
from scraper.store.search_fts import prefilter, to_tsquery
from scraper.store.tables import Article, RuleMatch, Story

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

# (source, title, body paragraphs, language, story key)
ARTICLES = [
    ("alpha", "إيران تعلن موقفها", ["قالت وإيران اليوم إن المفاوضات مستمرة.", "ورد المتحدث على الأسئلة."], "ar", "s1"),
    ("beta", "طهران ترد", ["أكدت الحكومة الإيرانية أن الاتفاق النووي ما زال قائما."], "ar", "s1"),
    ("gamma", "الكرملين يعلق", ["قال متحدث باسم الكرملين إن موسكو تراقب.", "وأشار للكرملين دور في الوساطة."],
     "ar", "s2"),
    ("alpha", "أسعار النفط", ["ارتفعت أسعار النفط والغاز مع تراجع المخزونات.", "الشركات النفطية تستفيد."], "ar", None),
    ("beta", "بيلاروسيا تجري مناورات", ["أجرت بيلاروسيا مناورات عسكرية قرب الحدود."], "ar", None),
    ("gamma", "روسيا وإيران توقعان اتفاقا", ["وقعت روسيا وإيران اتفاقا للتعاون في مجال الطاقة.",
                                           "وقال مسؤول روسي إن الاتفاق يشمل النفط."], "ar", "s3"),
    ("alpha", "Sanctions on Iran", ["NATO officials discussed sanctions on Iran and Russia."], "en", None),
    ("beta", "تقرير اقتصادي", ["تراجع التضخم في المنطقة بحسب التقرير الأخير.", "ولم يذكر التقرير النفط."], "ar", None),
    ("gamma", "مباحثات في فيينا", ["استؤنفت مباحثات الاتفاق النووي في فيينا.", "وقال دبلوماسي إيراني إن التقدم بطيء."],
     "ar", "s1"),
    ("alpha", "الليل في المدينة", ["تحدث السكان عن الليل الطويل.", "وفي لليل المدينة سحر خاص."], "ar", None),
    ("beta", "<script>window.__pwned=1</script> إيران", ['<img src=x onerror="window.__pwned=1"> خبر عن إيران.'],
     "ar", None),
    ("gamma", "بدون تاريخ عن الطاقة", ["مقال عن الطاقة المتجددة والنفط الصخري."], "ar", None),
]

QUERIES = [
    "إيران", "إيراني", "الكرملين", "روسيا", '"الاتفاق النووي"', "نفط*", "روسيا إيران", "روسيا OR الكرملين",
    "إيران NOT روسيا", "NOT إيران", "إيران NEAR/3 اليوم", "title:إيران", "body:(النفط OR الغاز)", "iran", "NATO",
    "الليل", "النفط NOT (روسيا OR الشركات)", "روسي",
    # phrases and NEAR are prefiltered on positions (SQLite): clitics on the first word, nisba forms,
    # the article on later words, chained and grouped NEAR, exact NEAR distances
    '"مباحثات الاتفاق"', '"الحكومة الإيرانية"', '"مسؤول روسي"', '"روسيا وإيران"', '"الاتفاق يشمل النفط"',
    "إيران NEAR/1 اليوم", "إيران NEAR/2 اليوم", "روسيا NEAR/2 اتفاقا", "روسيا NEAR/1 إيران NEAR/1 اتفاقا",
    '"الاتفاق النووي" NEAR/2 فيينا', '"الاتفاق النووي" NEAR/3 فيينا', "(روسيا OR الكرملين) NEAR/4 (النفط OR موسكو)",
    "title:(روسيا NEAR/1 اتفاقا)", '"إيران اليوم" OR "الليل الطويل"', "إيراني NEAR/5 التقدم",
]


def add_article(engine: Engine, i: int, source: str, title: str, paragraphs: list[str], *, language: str | None = "ar",
                story_id: int | None = None, published_at: datetime | None = None) -> int:
    body = "\n".join(paragraphs)
    with session(engine) as s:
        art = Article(url_hash=f"h{i}", url=f"https://{source}.example/a/{i}", canonical_url=f"https://{source}.example/a/{i}",
                      source=source, title=title, body=body, title_norm=" ".join(tokenize(title)),
                      body_norm=normalize_document(paragraphs), language=language, content_hash=f"c{i}",
                      story_id=story_id, published_at=published_at, fetched_at=T0 + timedelta(days=30))
        s.add(art)
        s.commit()
        return art.id or 0


def load_articles(engine: Engine) -> list[int]:
    """The ARTICLES set, one hour apart (the last has no page date), grouped in stories."""
    stories: dict[str, int] = {}
    ids = []
    with session(engine) as s:
        for key in ("s1", "s2", "s3"):
            story = Story(first_source="alpha", title=key)
            s.add(story)
            s.flush()
            stories[key] = story.id or 0
        s.commit()
    for i, (source, title, paras, lang, key) in enumerate(ARTICLES):
        published = None if i == len(ARTICLES) - 1 else T0 + timedelta(hours=i)
        ids.append(add_article(engine, i, source, title, paras, language=lang,
                               story_id=stories.get(key or ""), published_at=published))
    return ids


def brute_force(query: str, ids: list[int]) -> list[int]:
    """What the rule matcher says, newest first (the undated article was stored last, so it is newest)."""
    keep = []
    for art_id, (_, title, paras, _, _) in zip(ids, ARTICLES, strict=True):
        if query.startswith("NOT "):  # a NOT-only query: the articles the rest does not match
            ok = match_query(query.removeprefix("NOT "), title, paras) is None
        else:
            ok = match_query(query, title, paras) is not None
        if ok:
            keep.append(art_id)
    return sorted(keep, reverse=True)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def ids(engine: Engine) -> list[int]:
    return load_articles(engine)


def test_every_query_returns_what_the_matcher_fires_on(engine: Engine, ids: list[int]) -> None:
    for q in QUERIES:
        got = [r.id for r in search_articles(engine, q, limit=50).results]
        assert got == brute_force(q, ids), q


# Random text over a few words in many clitic, article and nisba spellings, so that phrases and
# NEAR windows hit, nearly hit and miss at every distance; the prefilter must never drop a match.
VOCAB = ["الاتفاق", "بالاتفاق", "والاتفاق", "للاتفاق", "اتفاق", "النووي", "نووي", "النووية", "الإيرانية", "إيراني",
         "الإيرانيين", "روسيا", "وروسيا", "لروسيا", "إيران", "وإيران", "قال", "في", "مع", "2024", "فيينا", "بفيينا",
         "الليل", "لليل", "وزير", "الصحة", "والصحة",
         "بإيران", "فبروسيا", "للاتفاق",
         "قال في فيينا", "بالاتفاق النووي الإيراني", "في الليل", "روسيا إيران", "وزير الصحة"]  # whole phrases too
GEN_QUERIES = [
    '"الاتفاق النووي"', '"اتفاق نووي"', '"الاتفاق الإيراني"', '"إيراني الاتفاق"', '"روسيا إيران"', '"وزير الصحة"',
    '"في الليل"', '"قال في فيينا"', '"الاتفاق النووي الإيراني"', "الاتفاق NEAR/1 النووي", "الاتفاق NEAR/2 فيينا",
    "روسيا NEAR/3 إيران", "روسيا NEAR/2 إيران NEAR/2 فيينا", '"الاتفاق النووي" NEAR/2 روسيا',
    "(روسيا OR إيران) NEAR/1 (فيينا OR الليل)", "إيراني NEAR/4 الصحة", "الليل NEAR/1 2024", "اتفاق* NEAR/2 نووي",
    'title:"روسيا إيران"', 'body:(فيينا NEAR/1 قال)', '"روسيا وإيران" OR قال NEAR/1 مع', "وزير NEAR/5 الصحة NOT الليل",
    # operands that can be the same word (the matcher lets them overlap), a distance past the
    # tsquery expansion cap, prefixes in NEAR
    "روسيا NEAR/1 روسيا", '"روسيا إيران" NEAR/1 إيران', "روسيا NEAR/40 فيينا", '"بروسيا إيران"',
    "نوو* NEAR/3 إيران*",
]


def test_phrases_and_near_never_miss_a_match(engine: Engine) -> None:
    arts = _generated(engine, 200, seed=11)
    for q in GEN_QUERIES:
        want = sorted((a for a, t, p in arts if match_query(q, t, p) is not None), reverse=True)
        assert [r.id for r in search_articles(engine, q, limit=200).results] == want, q
        assert want or "NOT" in q or "title:" in q, f"{q} matches nothing: the test would prove nothing"


def test_clitics_and_nisba_follow_the_matcher(engine: Engine, ids: list[int]) -> None:
    found = {q: {r.id for r in search_articles(engine, q).results} for q in ("إيران", "إيراني", "روسيا", "الليل")}
    assert ids[0] in found["إيران"]  # وإيران
    assert ids[1] in found["إيراني"] and ids[8] in found["إيراني"]  # الإيرانية, إيراني
    assert ids[4] not in found["روسيا"]  # بيلاروسيا is another word
    assert ids[9] in found["الليل"]
    page = search_articles(engine, "إيران")
    first = next(r for r in page.results if r.id == ids[0])
    assert "[[وإيران]]" in first.snippet and first.terms == ["إيران"]


def test_filters(engine: Engine, ids: list[int]) -> None:
    def got(**kw: object) -> set[int]:
        return {r.id for r in search_articles(engine, kw.pop("q", ""), limit=100, **kw).results}  # type: ignore[arg-type]

    assert got(q="إيران", source="alpha") == {ids[0]}
    assert got(language="en") == {ids[6]}
    story = search_articles(engine, "", story_id=None, limit=1, source="beta").results[0]
    assert story.id == ids[10]
    assert got(since=T0 + timedelta(hours=9), until=T0 + timedelta(hours=11)) == {ids[9], ids[10]}
    assert ids[11] in got(since=T0 + timedelta(days=29))  # undated: dated by when it was stored
    with session(engine) as s:
        s.add(RuleMatch(rule="iran", article_id=ids[5]))
        s.add(RuleMatch(rule="iran", article_id=ids[1]))
        s.commit()
    assert got(rule="iran") == {ids[1], ids[5]}
    assert got(q="روسيا", rule="iran") == {ids[5]}
    sid = search_articles(engine, "طهران").results[0].story_id
    assert got(story_id=sid) == {ids[0], ids[1], ids[8]}


def test_keyset_pages_cover_everything_once(engine: Engine, ids: list[int]) -> None:
    seen: list[int] = []
    cursor = None
    for _ in range(20):
        page = search_articles(engine, "", limit=5, cursor=cursor)
        seen += [r.id for r in page.results]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    with pytest.raises(ValueError):
        search_articles(engine, "", cursor="not-a-cursor")
    with pytest.raises(ValueError):
        search_articles(engine, "", cursor=search_articles(engine, "", limit=2).next_cursor, sort="relevance")


def test_stories_collapse_with_outlet_counts(engine: Engine, ids: list[int]) -> None:
    page = search_articles(engine, "إيران OR إيراني OR \"الاتفاق النووي\"", stories=True, limit=50)
    by_story = [r.story_id for r in page.results if r.story_id is not None]
    assert len(by_story) == len(set(by_story))
    s1 = next(r for r in page.results if r.id == ids[8])  # the newest of story s1 represents it
    assert s1.outlets == 3
    small = search_articles(engine, "إيران OR إيراني OR \"الاتفاق النووي\"", stories=True, limit=1)
    rest = search_articles(engine, "إيران OR إيراني OR \"الاتفاق النووي\"", stories=True, limit=50,
                           cursor=small.next_cursor)
    assert [r.id for r in small.results + rest.results] == [r.id for r in page.results]


def test_relevance_puts_title_hits_first(engine: Engine, ids: list[int]) -> None:
    page = search_articles(engine, "إيران", sort="relevance")
    assert page.results[0].id in {ids[0], ids[10]}  # in the title and the body
    assert page.results[-1].score is not None and page.results[0].score >= page.results[-1].score  # type: ignore[operator]


def test_index_follows_revisions_and_deletes(engine: Engine, ids: list[int]) -> None:
    with session(engine) as s:
        art = s.get(Article, ids[3])
        assert art is not None
        art.title, art.title_norm = "أسعار القمح", normalize_text("أسعار القمح")
        art.body, art.body_norm = "ارتفعت أسعار القمح.", normalize_document(["ارتفعت أسعار القمح."])
        s.add(art)
        s.commit()
        s.exec(delete(Article).where(Article.id == ids[6]))  # type: ignore[call-overload]
        s.commit()
    assert [r.id for r in search_articles(engine, "القمح").results] == [ids[3]]
    assert ids[3] not in {r.id for r in search_articles(engine, "الغاز").results}
    assert search_articles(engine, "NATO").results == []
    with session(engine) as s:
        assert s.exec(select(Article).where(Article.id == ids[6])).first() is None


def test_bounded_scan_returns_a_cursor_to_continue(engine: Engine, ids: list[int],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_mod, "MAX_SCAN", 3)
    got: list[int] = []
    cursor = None
    for _ in range(20):
        page = search_articles(engine, "NOT إيران", limit=50, cursor=cursor)
        got += [r.id for r in page.results]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert got == brute_force("NOT إيران", ids)


def test_bad_input(engine: Engine) -> None:
    with pytest.raises(QuerySyntaxError) as e:
        search_articles(engine, "إيران AND (روسيا")
    assert e.value.position == 10
    with pytest.raises(ValueError):
        search_articles(engine, "x" * 1001)
    with pytest.raises(ValueError):
        search_articles(engine, "إيران", limit=201)


def test_dense_plan_returns_the_same(engine: Engine, ids: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """Both databases walk the date index when the prefilter hits many articles; results must not change."""
    from scraper.store import search_sql

    monkeypatch.setattr(search_sql, "DENSE", 1)

    monkeypatch.setattr(search_pg, "DENSE", 1)  # PostgreSQL: the date walk instead of the hits by id
    for q in QUERIES:
        assert [r.id for r in search_articles(engine, q, limit=50).results] == brute_force(q, ids), q


def _generated(engine: Engine, n: int, seed: int) -> list[tuple[int, str, list[str]]]:
    rnd = random.Random(seed)
    arts = []
    for i in range(n):
        title = " ".join(rnd.choices(VOCAB, k=rnd.randint(2, 6)))
        paras = [" ".join(rnd.choices(VOCAB, k=rnd.randint(3, 14))) + "." for _ in range(rnd.randint(1, 3))]
        arts.append((add_article(engine, i, "gen", title, paras, published_at=T0 + timedelta(minutes=i)), title, paras))
    return arts


CLITIC_QUERIES = [*GEN_QUERIES, '"وروسيا إيران"', '"بإيران"', "بإيران NEAR/2 روسيا", "إيران NEAR/3 وروسيا",
                  "إيراني* NEAR/2 الاتفاق", "فيين* NEAR/1 قال", "(بروسيا OR لروسيا) NEAR/4 الاتفاق"]


def test_postgresql_and_sqlite_agree_on_phrases_near_and_prefixes(sqlite_url: str, pg_url: str) -> None:
    """The same articles on both databases: every phrase, NEAR and prefix query returns the same
    articles on each, and exactly what the matcher fires on (so no true match is lost on either)."""
    engines = [make_engine(sqlite_url), make_engine(pg_url)]
    try:
        arts = [_generated(e, 150, seed=5) for e in engines]
        assert [a for a, _, _ in arts[0]] == [a for a, _, _ in arts[1]]  # same ids on both
        for q in CLITIC_QUERIES:
            want = sorted((a for a, t, p in arts[0] if match_query(q, t, p) is not None), reverse=True)
            got = [[r.id for r in search_articles(e, q, limit=200).results] for e in engines]
            assert got[0] == want, f"sqlite: {q}"
            assert got[1] == want, f"postgresql: {q}"
    finally:
        for e in engines:
            e.dispose()


def _positional_hits(engine: Engine, query: str) -> set[int]:
    """Articles the tsquery phrase/NEAR test alone accepts (without the words-only fallback)."""
    flt = prefilter(parse_query(query).root)
    assert flt is not None
    sql = text("SELECT id FROM articles WHERE search_tsv @@ CAST(:q AS tsquery)").bindparams(q=to_tsquery(flt))
    with engine.connect() as conn:
        return set(conn.execute(sql).scalars())


# Where PostgreSQL's tsvector positions differ from the matcher's tokens: (query, title, paragraphs)
POSITION_LIMITS = [
    # a lexeme keeps only its first 255 positions: the phrase sits at the 301st روسيا
    ('"روسيا إيران"', "تقرير", ["وروسيا قالت " * 300 + "وروسيا إيران وقعتا."]),
    ("روسيا NEAR/2 إيران", "تقرير", ["روسيا في " * 300 + "قالت روسيا اليوم وإيران."]),
    # positions stop at 16,383: everything after shares the last one
    ('"الاتفاق النووي"', "تقرير", ["قال " * 17_000 + "بالاتفاق النووي."]),
    # × splits 4×4 into two lexemes: the matcher's gap of 2 is 3 for PostgreSQL
    ("سيارة NEAR/2 رباعية", "سيارات", ["سيارة 4×4 رباعية الدفع."]),
    # ۽ splits the token that the prefix نفط* matches, so the phrase's words are not adjacent
    ("نفط* NEAR/1 إيران", "نفط", ["صادرات نفط۽ي إيران."]),
]


def test_postgresql_positions_that_differ_from_the_matcher_lose_nothing(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        arts = [add_article(engine, i, "limits", title, paras, published_at=T0 + timedelta(minutes=i))
                for i, (_, title, paras) in enumerate(POSITION_LIMITS)]
        for art, (q, title, paras) in zip(arts, POSITION_LIMITS, strict=True):
            assert match_query(q, title, paras) is not None, q  # the matcher accepts it ...
            assert art not in _positional_hits(engine, q), q  # ... the tsquery alone would miss it ...
            want = [a for a, (_, t, p) in zip(arts, POSITION_LIMITS, strict=True) if match_query(q, t, p) is not None]
            assert [r.id for r in search_articles(engine, q).results] == want[::-1], q  # ... the search does not
    finally:
        engine.dispose()


def test_postgresql_prefilter_uses_positions(pg_url: str) -> None:
    """Both words in 40 articles, adjacent in one: only that one is a candidate (the words-only
    prefilter handed all 40 to the matcher)."""
    engine = make_engine(pg_url)
    try:
        for i in range(40):
            body = "الاتفاق النووي الجديد." if i == 7 else "الاتفاق الجديد مع البرنامج النووي."
            add_article(engine, i, "pos", "خبر", [body], published_at=T0 + timedelta(minutes=i))
        for q in ('"الاتفاق النووي"', "الاتفاق NEAR/1 النووي"):
            flt = prefilter(parse_query(q).root)
            assert flt is not None
            with engine.connect() as conn:
                clause = search_pg.positional_clause(conn, flt)
                hits = conn.execute(select(col(Article.id)).where(clause)).scalars().all()
            assert len(hits) == 1, q
    finally:
        engine.dispose()


def test_split_chars_cover_what_the_server_splits(pg_url: str) -> None:
    """Every character that PostgreSQL's parser splits one of our tokens at is in SPLIT_CHARS."""
    samples: list[tuple[str, str]] = []
    for code in [*range(0x20, 0x0900), *range(0x1E00, 0x2100)]:
        c = chr(code)
        for ctx in ("ب{}ب", "a{}a", "5{}5"):
            toks = tokenize(ctx.format(c))
            if len(toks) == 1:
                samples.append((c, toks[0]))
    engine = make_engine(pg_url)
    try:
        sql = text("SELECT c, to_tsvector('simple', tok)::text FROM unnest(CAST(:c AS text[]), CAST(:t AS text[])) "
                   "AS s(c, tok)").bindparams(c=[c for c, _ in samples], t=[t for _, t in samples])
        with engine.connect() as conn:
            rows = conn.execute(sql).all()
    finally:
        engine.dispose()
    split = {c for (c, tok), (_, vec) in zip(samples, rows, strict=True) if vec != f"'{tok}':1"}
    assert split, "nothing splits: the check would prove nothing on this server"
    assert {c for c in split if not re.fullmatch(search_pg.SPLIT_CHARS, c)} == set()
