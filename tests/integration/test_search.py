"""Search on SQLite (FTS5) and PostgreSQL (tsvector): the index prefilters, the rule matcher decides.

Every query is checked against a brute-force run of the matcher over all stored articles, on both
databases, so the two databases return the same articles and a search agrees with a rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import select

from scraper.errors import QuerySyntaxError
from scraper.match.matcher import match_query
from scraper.normalize.text import normalize_document, normalize_text
from scraper.store import search as search_mod
from scraper.store.db import make_engine, session
from scraper.store.search import search_articles
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
                      source=source, title=title, body=body, title_norm=normalize_text(title),
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
         "قال في فيينا", "بالاتفاق النووي الإيراني", "في الليل", "روسيا إيران", "وزير الصحة"]  # whole phrases too
GEN_QUERIES = [
    '"الاتفاق النووي"', '"اتفاق نووي"', '"الاتفاق الإيراني"', '"إيراني الاتفاق"', '"روسيا إيران"', '"وزير الصحة"',
    '"في الليل"', '"قال في فيينا"', '"الاتفاق النووي الإيراني"', "الاتفاق NEAR/1 النووي", "الاتفاق NEAR/2 فيينا",
    "روسيا NEAR/3 إيران", "روسيا NEAR/2 إيران NEAR/2 فيينا", '"الاتفاق النووي" NEAR/2 روسيا',
    "(روسيا OR إيران) NEAR/1 (فيينا OR الليل)", "إيراني NEAR/4 الصحة", "الليل NEAR/1 2024", "اتفاق* NEAR/2 نووي",
    'title:"روسيا إيران"', 'body:(فيينا NEAR/1 قال)', '"روسيا وإيران" OR قال NEAR/1 مع', "وزير NEAR/5 الصحة NOT الليل",
]


def test_phrases_and_near_never_miss_a_match(engine: Engine) -> None:
    import random

    rnd = random.Random(11)
    arts = []
    for i in range(200):
        title = " ".join(rnd.choices(VOCAB, k=rnd.randint(2, 6)))
        paras = [" ".join(rnd.choices(VOCAB, k=rnd.randint(3, 14))) + "." for _ in range(rnd.randint(1, 3))]
        arts.append((add_article(engine, i, "gen", title, paras, published_at=T0 + timedelta(minutes=i)), title, paras))
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
    """SQLite walks the date index when the prefilter hits many articles; results must not change."""
    from scraper.store import search_sql

    monkeypatch.setattr(search_sql, "DENSE", 1)
    for q in QUERIES:
        assert [r.id for r in search_articles(engine, q, limit=50).results] == brute_force(q, ids), q
