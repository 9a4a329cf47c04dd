"""Search speed and index ingest cost on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

Articles are real Arabic paragraphs from /work/shared/corpus/articles recombined at random (3-8
paragraphs each, dates over a year), inserted with the normalized forms the pipeline stores.

    .venv/bin/python bench/search.py --sizes 200000 --pg-size 50000 --ingest 20000

Prints a Markdown table (p50/p95 per query kind, warm cache, first page of 20, newest first) and
ingest rates with and without the search index, with the load average and an in-run anchor (the
normalization of the paragraph pool, pure Python like the matcher) before and after, to compare
runs on a shared machine.

PostgreSQL is timed twice: as the load leaves it (the GIN index's pending list holds the last
inserts, up to gin_pending_list_limit, and every index lookup scans it), then after VACUUM ANALYZE
(what autovacuum does periodically on a live database).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlalchemy import Engine, insert, text

from scraper.normalize.text import is_arabic, normalize_document, tokenize
from scraper.store.db import make_engine, upgrade
from scraper.store.search import search_articles
from scraper.store.search_verify import make_verifier
from scraper.store.tables import Article

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "articles"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
QUERIES = {
    "single term": ["الحكومة", "مصر", "الرئيس", "كورونا"],
    "two-term AND": ["الحكومة مصر", "وزير الصحة", "الرئيس كورونا"],
    "phrase": ['"وزارة الصحة"', '"رئيس الوزراء"', '"الأمم المتحدة"'],
    "NEAR": ["وزير NEAR/5 الصحة", "الرئيس NEAR/3 مصر"],
    "prefix": ["اقتصاد*", "فلسطين*"],
    "date filter (30 days)": ["الحكومة", "وزير الصحة"],
    "NOT-only (scan)": ["NOT الحكومة"],
}


def paragraph_pool() -> list[tuple[str, str]]:
    """(paragraph, its normalized form) for every Arabic paragraph of the corpus pages."""
    seen: dict[str, str] = {}
    for page in sorted(CORPUS.rglob("*.html")):
        tree = HTMLParser(page.read_bytes().decode("utf-8", "replace"))
        for node in tree.css("p, h1, h2, li"):
            t = " ".join(node.text(separator=" ").split())
            if len(t) > 60 and is_arabic(t, 0.6):
                seen.setdefault(t, normalize_document([t]))
    return list(seen.items())


def rows(pool: list[tuple[str, str]], n: int, start: int, rnd: random.Random) -> list[dict[str, object]]:
    out = []
    for i in range(start, start + n):
        picks = rnd.sample(pool, rnd.randint(3, 8))
        title = " ".join(picks[0][0].split()[:10])
        out.append({"url_hash": f"h{i}", "url": f"https://bench.example/{i}", "canonical_url": f"https://bench.example/{i}",
                    "source": f"src{i % 20}", "title": title, "title_norm": " ".join(tokenize(title)),
                    "body": "\n".join(p for p, _ in picks), "body_norm": "\n".join(q for _, q in picks),
                    "language": "ar", "content_hash": f"c{i}", "revision": 1,
                    "published_at": T0 + timedelta(seconds=rnd.randint(0, 365 * 86400)), "fetched_at": T0})
    return out


def load(engine: Engine, pool: list[tuple[str, str]], n: int, seed: int = 7) -> float:
    """Insert ``n`` articles in batches of 2,000; returns articles per second."""
    rnd = random.Random(seed)
    began = time.perf_counter()
    for start in range(0, n, 2000):
        with engine.begin() as conn:
            conn.execute(insert(Article), rows(pool, min(2000, n - start), start, rnd))
    return n / (time.perf_counter() - began)


def timings(engine: Engine, runs: int = 15) -> dict[str, tuple[float, float, float, int]]:
    """Per kind: warm p50, warm p95 (the query's compiled matcher cached), cold mean (cache cleared)."""
    out = {}
    for kind, queries in QUERIES.items():
        since = T0 + timedelta(days=335) if "date" in kind else None
        samples, cold, hits = [], [], 0
        for q in queries:
            make_verifier.cache_clear()
            t = time.perf_counter()
            search_articles(engine, q, since=since)
            cold.append((time.perf_counter() - t) * 1000)
            for _ in range(runs):
                t = time.perf_counter()
                page = search_articles(engine, q, since=since, limit=20)
                samples.append((time.perf_counter() - t) * 1000)
            hits += len(page.results)
        cuts = statistics.quantiles(samples, n=20, method="inclusive")
        out[kind] = (cuts[9], cuts[18], statistics.mean(cold), hits // len(queries))
    return out


def anchor(pool: list[tuple[str, str]]) -> str:
    """The in-run anchor: ms to normalize every pool paragraph 10 times, and the load average."""
    t = time.perf_counter()
    for _ in range(10):
        for paragraph, _norm in pool:
            normalize_document([paragraph])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"anchor {(time.perf_counter() - t) * 1000:.0f} ms (normalize the pool x10); load average {load}"


def pg_database() -> str:
    name = f"bench_search_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_pg(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def ingest(pool: list[tuple[str, str]], n: int) -> dict[str, tuple[float, float]]:
    """Articles/s at revision 0001 (no index) and at head, on both databases."""
    out = {}
    with tempfile.TemporaryDirectory() as d:
        rates = []
        for rev in ("0001", "head"):
            url = f"sqlite:///{d}/{rev}.db"
            upgrade(url, rev)
            rates.append(load(make_engine(url), pool, n))
        out["SQLite"] = (rates[0], rates[1])
    rates = []
    for rev in ("0001", "head"):
        name = pg_database()
        try:
            upgrade(pg_url(name), rev)
            eng = make_engine(pg_url(name))
            rates.append(load(eng, pool, n))
            eng.dispose()
        finally:
            drop_pg(name)
    out["PostgreSQL"] = (rates[0], rates[1])
    return out


def report(label: str, n: int, gen_s: float, t: dict[str, tuple[float, float, float, int]]) -> None:
    print(f"\n### {label}, {n:,} articles (loaded in {gen_s:.0f} s)\n")
    print("| query kind | warm p50 ms | warm p95 ms | cold mean ms | results (avg, page of 20) |")
    print("|---|---:|---:|---:|---:|")
    for kind, (p50, p95, cold, hits) in t.items():
        print(f"| {kind} | {p50:.1f} | {p95:.1f} | {cold:.0f} | {hits} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[50_000])
    ap.add_argument("--pg-size", type=int, default=50_000)
    ap.add_argument("--ingest", type=int, default=20_000)
    args = ap.parse_args()
    pool = paragraph_pool()
    print(f"paragraph pool: {len(pool)} Arabic paragraphs from {CORPUS}")
    print(anchor(pool))
    with tempfile.TemporaryDirectory() as d:
        for n in args.sizes:
            url = f"sqlite:///{d}/s{n}.db"
            upgrade(url)
            eng = make_engine(url)
            t = time.perf_counter()
            load(eng, pool, n)
            report("SQLite FTS5", n, time.perf_counter() - t, timings(eng))
            size = Path(f"{d}/s{n}.db").stat().st_size / 1e6
            with eng.connect() as c:
                fts = c.execute(text("SELECT sum(length(block)) FROM articles_fts_data")).scalar() or 0
            print(f"\ndatabase file {size:.0f} MB, of which FTS index {fts / 1e6:.0f} MB\n{anchor(pool)}")
            eng.dispose()
    if args.pg_size:
        name = pg_database()
        try:
            upgrade(pg_url(name))
            eng = make_engine(pg_url(name))
            t = time.perf_counter()
            load(eng, pool, args.pg_size)
            with eng.begin() as c:
                c.execute(text("ANALYZE articles"))
            loaded = time.perf_counter() - t
            report("PostgreSQL tsvector + GIN (pending list as loaded)", args.pg_size, loaded, timings(eng))
            with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE articles"))
            report("PostgreSQL tsvector + GIN (after VACUUM)", args.pg_size, loaded, timings(eng))
            print(f"\n{anchor(pool)}")
            eng.dispose()
        finally:
            drop_pg(name)
    print("\n### Ingest (articles/s, batches of 2,000)\n\n| database | without index | with index |\n|---|---:|---:|")
    for db, (without, with_) in ingest(pool, args.ingest).items():
        print(f"| {db} | {without:,.0f} | {with_:,.0f} |")
    print(f"\n{anchor(pool)}")


if __name__ == "__main__":
    main()
