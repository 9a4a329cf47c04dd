"""Story lookup on the database path the daemon uses (scraper.store.stories.find_story), at 1M articles.

    .venv/bin/python bench/stories_db.py sqlite --n 1000000 --revisions 0004_source_charset_fix,head
    .venv/bin/python bench/stories_db.py postgresql --n 1000000

Fills a database migrated to each ``--revisions`` entry (scraper.store.db.upgrade; 0004 is story_keys
before migration 0005, head after) with ``n`` synthetic articles inside the 7-day window: rows in
``articles`` (minimal columns plus the fingerprint blob) and their 42 ``story_keys`` rows each. Then a
fresh child process, like a daemon worker, times find_story for 1,000 near copies of stored articles
(each must find its story) and 1,000 unrelated articles (each must find none), and reports
p50/p95/mean, its peak RSS and the on-disk size per table and index. Every database is deleted (SQLite
under /tmp) or dropped at the end unless ``--keep``.

The load takes shortcuts a daemon never takes, so 1M loads in minutes instead of 25: secondary
indexes are dropped and rebuilt after the load; on SQLite the band keys wait in an attached staging
file and enter story_keys in one ``INSERT ... ORDER BY band_key, article_id`` (the key B-tree is built
by appending; a live database's pages are fuller after VACUUM, sparser before), with journal and fsync
off during the load only; on PostgreSQL, COPY with story_keys' primary and foreign keys dropped and
re-added after. The lookups run on the schema exactly as the migrations create it, with make_engine's
settings.

Synthetic text, so band keys are distributed like real ones: token streams are spans (geometric
length, mean 3) copied from the normalized tokens of the 24 real Arabic base texts of the syndication
fixture, so stock phrases recur across unrelated articles as they do in news, with 12 % of tokens
replaced by a long tail of 200,000 pseudo-words (names, numbers, rare words) skewed toward the low
ids. Lengths are log-normal (median 250 tokens). A quarter of the stored articles are edited copies
of an earlier one (same story), so near-copy lookups meet whole clusters as in a real window.
Stored signatures are computed with numpy (the same OPH arithmetic, checked bin for bin against
scraper.dedupe.fingerprint on a sample); the query signatures go through the real code. Needs numpy
(not a dependency of the daemon: ``.venv/bin/pip install numpy``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import multiprocessing
import os
import pickle
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scraper.dedupe import fingerprint as fp  # noqa: E402
from scraper.dedupe.fingerprint import NUM_BINS, Signature, signature_from_tokens  # noqa: E402
from scraper.dedupe.stories import BANDS, ROWS, band_keys  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "stories" / "syndication.json.gz"
PG_ADMIN = os.environ.get("SCRAPER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SEED = 20240502
T0 = datetime(2024, 5, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=7)  # every stored article is inside the 7-day window ending here
TAIL = 200_000
TAIL_SHARE = 0.12
COPY_SHARE = 0.25
CHUNK = 5_000
QUERIES = 1_000
BOILER = "شارك هذا الخبر فيسبوك تويتر واتساب تيليجرام نسخ الرابط تابعونا على قناتنا في تلغرام"
DATELINE = "القاهرة وكالات"
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_UNSET = 1 << 32


# ---------------------------------------------------------------- synthetic articles

class Synth:
    """Token-id streams over a vocabulary of real normalized Arabic tokens plus a synthetic tail."""

    def __init__(self) -> None:
        from scraper.normalize.text import tokenize

        docs = json.loads(gzip.decompress(FIXTURE.read_bytes()))
        seq = [t for d in docs if d["variant"] == "original" for p in d["paragraphs"] for t in tokenize(p)]
        words = sorted(set(seq) | set(BOILER.split()) | set(DATELINE.split()))
        self.vocab: list[str] = words + [f"w{i}" for i in range(TAIL)]
        ident = {w: i for i, w in enumerate(words)}
        self.real = len(words)
        self.seq = np.array([ident[t] for t in seq], dtype=np.int64)
        self.boiler = np.array([ident[t] for t in BOILER.split()], dtype=np.int64)
        self.dateline = np.array([ident[t] for t in DATELINE.split()], dtype=np.int64)
        # The same memoized blake2b token hash the fingerprint uses, so numpy and real code agree.
        self.hash = np.array([fp._token_hash(w) for w in self.vocab], dtype=np.uint64)
        self.probe = np.array([[fp._probe(i, a, NUM_BINS) for a in range(48)] for i in range(NUM_BINS)])

    def stream(self, rng: np.random.Generator) -> np.ndarray:
        length = int(np.clip(rng.lognormal(np.log(250), 0.6), 30, 3000))
        spans = np.minimum(rng.geometric(1 / 3, length // 3 + 2), 12)
        starts = rng.integers(0, len(self.seq) - 12, len(spans))
        total = int(spans.sum())
        offsets = np.arange(total) - np.repeat(np.cumsum(spans) - spans, spans)
        ids = self.seq[np.repeat(starts, spans) + offsets][:length].copy()
        tail = rng.random(len(ids)) < TAIL_SHARE
        ids[tail] = self.real + (TAIL * rng.random(int(tail.sum())) ** 3).astype(np.int64)
        return ids

    def edit(self, rng: np.random.Generator, ids: np.ndarray) -> np.ndarray:
        """What another outlet does to a wire story: trim, retouch words, dateline, share bar, or lead only."""
        if rng.random() < 0.2:
            out = ids[: max(30, len(ids) // 2)].copy()  # the wire brief: the first half (containment)
        else:
            out = ids[int(rng.integers(0, max(1, len(ids) // 6))):].copy()
        retouch = rng.random(len(out)) < 0.05
        out[retouch] = self.seq[rng.integers(0, len(self.seq), int(retouch.sum()))]
        parts = [out]
        if rng.random() < 0.5:
            parts.insert(0, self.dateline)
        if rng.random() < 0.5:
            parts.append(self.boiler)
        return np.concatenate(parts)

    def tokens(self, ids: np.ndarray) -> list[str]:
        return [self.vocab[i] for i in ids.tolist()]

    def signatures(self, streams: Sequence[np.ndarray]) -> list[Signature]:
        """OPH signatures of many streams at once: scraper.dedupe.fingerprint's arithmetic in numpy."""
        n = len(streams)
        lens = np.array([len(s) for s in streams])
        assert lens.min() > fp.SHINGLE_SIZE
        toks = self.hash[np.concatenate(streams)]
        starts = np.cumsum(lens) - lens
        nsh = lens - 2
        art = np.repeat(np.arange(n), nsh)
        pos = np.repeat(starts, nsh) + (np.arange(int(nsh.sum())) - np.repeat(np.cumsum(nsh) - nsh, nsh))
        h = np.full(len(pos), 3, dtype=np.uint64)  # _combine starts from the number of tokens
        k1 = np.uint64(fp._K1)
        for j in range(3):
            h = _mix64(h * k1 + toks[pos + j])
        order = np.lexsort((h, art))
        hs, arts = h[order], art[order]
        first = np.ones(len(hs), dtype=bool)
        first[1:] = (hs[1:] != hs[:-1]) | (arts[1:] != arts[:-1])
        sizes = np.bincount(arts[first], minlength=n)
        flat = np.full(n * NUM_BINS, _UNSET, dtype=np.uint64)
        np.minimum.at(flat, arts * NUM_BINS + (hs % np.uint64(NUM_BINS)).astype(np.int64), hs >> np.uint64(32))
        bins = flat.reshape(n, NUM_BINS)
        empty = bins == _UNSET
        filled = ~empty[:, self.probe]  # (n, bin, attempt): is the probed source bin filled?
        attempt = filled.argmax(axis=2)
        src = self.probe[np.arange(NUM_BINS)[None, :], attempt]
        dense = np.where(empty, np.take_along_axis(bins, src, axis=1), bins)
        out = []
        for i in range(n):
            if (empty[i] & ~filled[i].any(axis=1)).any():  # 48 probes all empty: very short text, do it exactly
                out.append(signature_from_tokens(self.tokens(streams[i])))
            else:
                out.append(Signature(tuple(dense[i].tolist()), int(sizes[i])))
        return out


def _mix64(x: np.ndarray) -> np.ndarray:
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@dataclass
class Row:
    article_id: int
    story_id: int
    seen_at: datetime
    blob: bytes  # Signature.to_bytes(), what articles.fingerprint holds
    keys: list[bytes]


_PREFIXES = [struct.pack("<BB", b, ROWS) for b in range(BANDS)]


def _keys(sig: Signature, body: bytes) -> list[bytes]:
    """band_keys(sig) from the packed little-endian bins: the same blake2b input without 42 struct.pack calls."""
    w = 4 * ROWS
    return sorted({hashlib.blake2b(_PREFIXES[b] + body[b * w:(b + 1) * w], digest_size=8).digest()
                   for b in range(BANDS)})


def make_chunk(lo: int, hi: int, n: int, targets: frozenset[int]) -> tuple[list[Row], dict[int, tuple]]:
    """Stored articles lo+1..hi in arrival order (seeded per chunk, so worker processes agree with a rerun)."""
    synth = _SYNTH
    assert synth is not None
    rng = np.random.default_rng([SEED, lo])
    step = timedelta(days=7) / n
    streams: list[np.ndarray] = []
    stories: list[int] = []
    for i in range(lo, hi):
        if i > lo and rng.random() < COPY_SHARE:  # an edited copy of an earlier article of this chunk
            parent = int(rng.integers(lo, i))
            streams.append(synth.edit(rng, streams[parent - lo]))
            stories.append(stories[parent - lo])
        else:
            streams.append(synth.stream(rng))
            stories.append(i + 1)
    sigs = synth.signatures(streams)
    rows, kept = [], {}
    for j, sig in enumerate(sigs):
        blob = sig.to_bytes()
        keys = _keys(sig, blob[8:])
        if j % 499 == 0:  # the numpy signatures and the key shortcut must be the real ones, bin for bin
            assert sig == signature_from_tokens(synth.tokens(streams[j])), f"numpy OPH differs at {lo + j}"
            assert keys == sorted(set(band_keys(sig)))
        aid = lo + j + 1
        if aid in targets:
            kept[aid] = (streams[j], stories[j])
        rows.append(Row(aid, stories[j], T0 + step * (lo + j), blob, keys))
    return rows, kept


_SYNTH: Synth | None = None


def generate(n: int, targets: set[int], keep: dict[int, tuple], workers: int) -> Iterator[list[Row]]:
    """Chunks in order, made by ``workers`` forked processes while the parent loads the previous ones."""
    frozen = frozenset(targets)
    bounds = [(lo, min(n, lo + CHUNK), n, frozen) for lo in range(0, n, CHUNK)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for rows, kept in pool.imap(_chunk_star, bounds):
            keep.update(kept)
            yield rows


def _chunk_star(args: tuple) -> tuple[list[Row], dict[int, tuple]]:
    return make_chunk(*args)


# ---------------------------------------------------------------- loading

class Target:
    name: str
    url: str

    def load(self, rows: list[Row]) -> None: ...
    def finish(self) -> None: ...
    def sizes(self) -> dict[str, int]: ...
    def plan(self) -> str: ...
    def count(self, table: str) -> int: ...
    def drop(self) -> None: ...


def _article_tuple(r: Row, when: object) -> tuple:
    url = f"https://outlet{r.article_id % 50}.example/news/{r.article_id}"
    h = f"{r.article_id:064x}"
    return (r.article_id, h, url, url, f"outlet-{r.article_id % 50}", "", "", "", h, r.blob, when, 1)


ARTICLE_COLS = "id, url_hash, url, canonical_url, source, body, title_norm, body_norm, content_hash, fingerprint, " \
               "fetched_at, revision"


class SQLiteTarget(Target):
    def __init__(self, tmp: Path, revision: str) -> None:
        from sqlalchemy.dialects import sqlite

        from scraper.store.db import upgrade
        from scraper.store.tables import StoryKey

        self.name = f"SQLite/{revision}"
        self.path = tmp / f"{revision}.db"
        self.stage = tmp / f"{revision}.stage.db"
        self.url = f"sqlite:///{self.path}"
        upgrade(self.url, revision)
        self.when = StoryKey.__table__.c.seen_at.type._cached_bind_processor(sqlite.dialect())  # type: ignore
        self.db = sqlite3.connect(self.path)
        # Bulk load only: no journal, no fsync, a large page cache. The lookups run in a child process
        # with make_engine's settings (WAL, synchronous=NORMAL, default cache) on the file as built.
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2000000;"
                              " PRAGMA threads=2;")
        # Secondary indexes are rebuilt from their own DDL after the load: one sort instead of 42M inserts.
        self.indexes = self.db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('articles', 'story_keys') AND sql NOT LIKE 'CREATE UNIQUE%'").fetchall()
        for name, _sql in self.indexes:
            self.db.execute(f"DROP INDEX {name}")
        # The band keys wait in an attached, index-free staging file in arrival order, and go into story_keys
        # in one INSERT ... ORDER BY band_key at the end: the primary-key B-tree is then built by appending
        # instead of by 42M random inserts (which made the 1M load take 1,464 s).
        self.db.execute("ATTACH DATABASE ? AS stage", (str(self.stage),))
        self.db.executescript("PRAGMA stage.journal_mode=OFF; PRAGMA stage.synchronous=OFF;"
                              " CREATE TABLE stage.keys (band_key BLOB, article_id INTEGER, story_id INTEGER,"
                              " seen_at TEXT);")

    def load(self, rows: list[Row]) -> None:
        when = [self.when(r.seen_at) for r in rows]  # the string SQLAlchemy stores, so range filters agree
        self.db.executemany(f"INSERT INTO articles ({ARTICLE_COLS}) VALUES ({','.join('?' * 12)})",
                            [_article_tuple(r, w) for r, w in zip(rows, when, strict=True)])
        self.db.executemany("INSERT INTO stage.keys VALUES (?, ?, ?, ?)",
                            [(k, r.article_id, r.story_id, w) for r, w in zip(rows, when, strict=True) for k in r.keys])
        self.db.commit()

    def finish(self) -> None:
        self.db.execute("INSERT INTO main.story_keys (band_key, article_id, story_id, seen_at)"
                        " SELECT band_key, article_id, story_id, seen_at FROM stage.keys ORDER BY band_key, article_id")
        self.db.commit()
        self.db.execute("DETACH DATABASE stage")
        self.stage.unlink()
        for _name, sql in self.indexes:
            self.db.execute(sql)
        self.db.execute("ANALYZE")  # as a maintained database would have; the plan is printed either way
        self.db.commit()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.close()

    def sizes(self) -> dict[str, int]:
        db = sqlite3.connect(self.path)
        out = {"(file)": self.path.stat().st_size}
        # A migration that recreates a table leaves the old pages free inside the file until VACUUM.
        out["(free)"] = db.execute("PRAGMA freelist_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
        try:
            for name, size in db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
                out[name] = size
        except sqlite3.OperationalError:  # built without SQLITE_ENABLE_DBSTAT_VTAB
            pass
        db.close()
        return out

    def count(self, table: str) -> int:
        db = sqlite3.connect(self.path)
        rows = int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        db.close()
        return rows

    def plan(self) -> str:
        db = sqlite3.connect(self.path)
        marks = ",".join("?" * 42)
        rows = db.execute(f"EXPLAIN QUERY PLAN SELECT article_id, story_id FROM story_keys WHERE band_key IN ({marks})"
                          " AND seen_at >= ?", [os.urandom(8) for _ in range(42)] + ["2024-05-01"]).fetchall()
        db.close()
        return "; ".join(r[-1] for r in rows)

    def drop(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self.stage.unlink(missing_ok=True)


class SQLiteFile(SQLiteTarget):
    """An SQLite database built earlier (``measure``): only reported on, never loaded or deleted."""

    def __init__(self, path: Path) -> None:  # not SQLiteTarget.__init__: no upgrade, no load
        self.name = f"SQLite file {path}"
        self.path = path
        self.url = f"sqlite:///{path}"

    def drop(self) -> None:
        pass


class PostgresTarget(Target):
    def __init__(self, revision: str) -> None:
        import psycopg

        from scraper.store.db import upgrade

        self.name = f"PostgreSQL/{revision}"
        self.dbname = f"scraper_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        base = PG_ADMIN.rsplit("/", 1)[0]
        self.dsn = f"{base}/{self.dbname}"
        self.url = self.dsn.replace("postgresql://", "postgresql+psycopg://")
        upgrade(self.url, revision)
        self.conn = psycopg.connect(self.dsn)
        # Secondary indexes, and story_keys' primary and foreign keys, are rebuilt from their own definitions
        # after the load (standard for a bulk load: one sort per index instead of 42M index inserts).
        self.indexes = self.conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname"
            " JOIN pg_index x ON x.indexrelid = c.oid WHERE i.schemaname = 'public'"
            " AND i.tablename IN ('articles', 'story_keys') AND NOT x.indisunique").fetchall()
        self.constraints = self.conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'story_keys'::regclass ORDER BY contype DESC").fetchall()  # p before f
        for name, _sql in self.constraints:
            self.conn.execute(f'ALTER TABLE story_keys DROP CONSTRAINT "{name}"')
        for name, _sql in self.indexes:
            self.conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        self.conn.commit()

    def load(self, rows: list[Row]) -> None:
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY articles ({ARTICLE_COLS}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(_article_tuple(r, r.seen_at))
            with cur.copy("COPY story_keys (band_key, article_id, story_id, seen_at) FROM STDIN") as copy:
                for r in rows:
                    for k in r.keys:
                        copy.write_row((k, r.article_id, r.story_id, r.seen_at))
        self.conn.commit()

    def finish(self) -> None:
        self.conn.execute("SET maintenance_work_mem = '1GB'")
        for name, sql in self.constraints:
            self.conn.execute(f'ALTER TABLE story_keys ADD CONSTRAINT "{name}" {sql}')
        for _name, sql in self.indexes:
            self.conn.execute(sql)
        self.conn.execute("SELECT setval('articles_id_seq', (SELECT max(id) FROM articles))")
        self.conn.commit()
        self.conn.autocommit = True
        self.conn.execute("VACUUM ANALYZE articles")  # what autovacuum does after a bulk load
        self.conn.execute("VACUUM ANALYZE story_keys")
        self.conn.autocommit = False

    def sizes(self) -> dict[str, int]:
        out = {"(database)": self.conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]}
        for name, size in self.conn.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') AND pg_relation_size(c.oid) > 0 "
            "ORDER BY 2 DESC"
        ):
            out[name] = size
        return out

    def count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def plan(self) -> str:
        keys = [os.urandom(8) for _ in range(42)]
        rows = self.conn.execute("EXPLAIN SELECT article_id, story_id FROM story_keys WHERE band_key = ANY(%s)"
                                 " AND seen_at >= %s", (keys, T0)).fetchall()
        self.conn.rollback()
        return " / ".join(r[0].strip() for r in rows[:3])

    def drop(self) -> None:
        import psycopg

        self.conn.close()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')


class PostgresDatabase(PostgresTarget):
    """A database kept by --keep, measured again (``measure postgresql+psycopg://...``); never dropped here."""

    def __init__(self, url: str) -> None:  # not PostgresTarget.__init__: no create, no upgrade, no load
        import psycopg

        self.url = url
        self.dsn = url.replace("postgresql+psycopg://", "postgresql://")
        self.dbname = self.dsn.rsplit("/", 1)[1]
        self.name = f"PostgreSQL/{self.dbname}"
        self.conn = psycopg.connect(self.dsn)

    def drop(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------- lookups (child process)

def cmd_lookup(url: str, queries_path: str) -> None:
    """Time find_story as a daemon worker would call it: one engine, make_engine's settings."""
    from scraper.store import stories
    from scraper.store.db import make_engine
    from scraper.store.db import session as open_session

    find = stories.find_story

    with open(queries_path, "rb") as f:
        q = pickle.load(f)
    engine = make_engine(url)
    rss_start = _rss_kib()
    out: dict[str, object] = {}
    with open_session(engine) as s:
        for sig in q["warm"]:  # warm the connection, statement caches and the hot upper B-tree pages
            find(s, sig, NOW)
        out["rss_warm_kib"] = _rss_kib()
        # On PostgreSQL half the work is in the server backend: its CPU time and run-queue wait come from
        # /proc/<pid>/schedstat (ns; the server is on this machine), read outside the timed window.
        backend = _backend_pid(s)
        for kind in ("copies", "unrelated"):
            times, cpu, right = [], [], 0
            server_cpu, wait = [], []
            for sig, expected in q[kind]:
                before = _schedstat(backend)
                t, c = time.perf_counter(), time.process_time()
                got = find(s, sig, NOW)
                cpu.append(time.process_time() - c)
                times.append(time.perf_counter() - t)
                after = _schedstat(backend)
                server_cpu.append((after[0] - before[0]) / 1e9)
                wait.append((after[1] - before[1]) / 1e9)
                right += got == expected
            # CPU time as well: on a shared 2-core machine the wall-clock tail is mostly waiting for a core.
            out[kind] = {"ms": [x * 1e3 for x in times], "cpu_ms": [x * 1e3 for x in cpu], "right": right,
                         "n": len(times), "rss_kib": _rss_kib()}
            if backend:
                out[kind]["server_cpu_ms"] = [x * 1e3 for x in server_cpu]  # type: ignore[index]
                out[kind]["wait_ms"] = [x * 1e3 for x in wait]  # type: ignore[index]
        # What the daemon does next for a new story: write its 42 keys (rolled back, the DB stays as built).
        times = []
        for i, (sig, _expected) in enumerate(q["unrelated"][:200]):
            t = time.perf_counter()
            stories.index_article(s, q["article_ids"][i], 10**9 + i, sig, NOW)
            s.flush()
            times.append(time.perf_counter() - t)
        s.rollback()
        out["index_article"] = {"ms": [x * 1e3 for x in times]}
        out["candidates"] = _candidates(s, q)
    engine.dispose()
    out["rss_start_kib"] = rss_start
    # VmHWM, not ru_maxrss: the latter can carry the forking parent's peak across exec.
    out["rss_peak_kib"] = _rss_kib("VmHWM")
    print(json.dumps(out))


def _candidates(s: object, q: dict) -> dict[str, list[int]]:
    """Per query, after the timings: story_keys rows matched and distinct articles among them (the work)."""
    from sqlmodel import col, select

    from scraper.store.tables import StoryKey

    out: dict[str, list[int]] = {}
    for kind in ("copies", "unrelated"):
        counts = []
        for sig, _expected in q[kind]:
            rows = s.exec(select(StoryKey.article_id).where(  # type: ignore[attr-defined]
                col(StoryKey.band_key).in_(band_keys(sig)), StoryKey.seen_at >= NOW - timedelta(days=7))).all()
            counts.append((len(rows), len(set(rows))))
        out[kind] = counts  # type: ignore[assignment]
    return out


def _backend_pid(s: object) -> int | None:
    """The PostgreSQL server process serving this session (None on SQLite, which runs in-process)."""
    from sqlalchemy import text

    conn = s.connection()  # type: ignore[attr-defined]
    if conn.dialect.name != "postgresql":
        return None
    pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    return pid if Path(f"/proc/{pid}/schedstat").exists() else None  # a server on another host: no figures


def _schedstat(backend: int | None) -> tuple[int, int]:
    """(server backend CPU ns, run-queue wait ns of this process plus the backend) so far."""
    with open("/proc/self/schedstat") as f:
        wait = int(f.read().split()[1])
    if backend is None:
        return 0, wait
    with open(f"/proc/{backend}/schedstat") as f:
        on_cpu, waited, _slices = f.read().split()
    return int(on_cpu), wait + int(waited)


def _rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def _stats(ms: list[float]) -> str:
    s = sorted(ms)
    return (f"p50 {statistics.median(s):.3f} ms, p95 {s[int(len(s) * 0.95)]:.3f} ms, "
            f"mean {statistics.fmean(s):.3f} ms, max {s[-1]:.3f} ms")


# ---------------------------------------------------------------- driver

def run(backend: str, n: int, revisions: list[str], anchor: bool, repeat: int, workers: int,
        keep_dbs: bool, upgrade_after: bool) -> None:
    global _SYNTH
    synth = _SYNTH = Synth()
    qrng = np.random.default_rng(SEED + 1)
    targets = {int(x) for x in qrng.choice(np.arange(1, n + 1), QUERIES, replace=False)}
    keep: dict[int, tuple[np.ndarray, int]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="stories_db_", dir="/tmp"))
    dbs: list[Target] = []
    index = None
    try:
        for rev in revisions:
            dbs.append(SQLiteTarget(tmp, rev) if backend == "sqlite" else PostgresTarget(rev))
        if anchor:
            from scraper.dedupe.stories import StoryIndex

            index = StoryIndex()
        print(f"# {backend}, {n:,} articles, revisions {revisions}; python {sys.version.split()[0]}, "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        t_gen = t_load = 0.0
        start = time.perf_counter()
        gen = generate(n, targets, keep, workers)
        while True:
            t = time.perf_counter()
            rows = next(gen, None)
            t_gen += time.perf_counter() - t
            if rows is None:
                break
            t = time.perf_counter()
            for db in dbs:
                db.load(rows)
            t_load += time.perf_counter() - t
            if index is not None:
                for r in rows:
                    index.add(r.article_id, Signature.from_bytes(r.blob), r.seen_at, r.story_id)
            if rows[-1].article_id % (n // 10) == 0:
                print(f"  {rows[-1].article_id:,} articles: generate {t_gen:.0f} s, load {t_load:.0f} s", flush=True)
        for db in dbs:
            t = time.perf_counter()
            db.finish()
            t_load += time.perf_counter() - t
        print(f"built in {time.perf_counter() - start:.0f} s (signatures+band keys {t_gen:.0f} s, "
              f"loading {len(dbs)} database(s) {t_load:.0f} s)", flush=True)

        # Queries: near copies of stored articles (through the real fingerprint code) and unrelated texts.
        copies = [(signature_from_tokens(synth.tokens(synth.edit(qrng, ids))), story)
                  for _aid, (ids, story) in sorted(keep.items())]
        unrelated = [(signature_from_tokens(synth.tokens(synth.stream(qrng))), None) for _ in range(QUERIES)]
        warm = [signature_from_tokens(synth.tokens(synth.stream(qrng))) for _ in range(100)]
        qpath = tmp / "queries.pkl"
        with open(qpath, "wb") as f:
            pickle.dump({"copies": copies, "unrelated": unrelated, "warm": warm, "article_ids": sorted(targets)}, f)

        if index is not None:
            _anchor(index, copies, unrelated)
        else:
            print("anchor: in-memory StoryIndex.find at 1,000,000 (bench/stories.py scale, earlier run): "
                  "mean 5.299 ms, p50 5.949 ms, p99 14.411 ms")
        for db in dbs:
            report(db, n, qpath, repeat)
            if upgrade_after:
                from scraper.store.db import upgrade

                t = time.perf_counter()
                upgrade(db.url)  # what a user's `scraper migrate` does to a full window
                print(f"\nupgraded {db.name} to head in {time.perf_counter() - t:.0f} s "
                      f"(load average {os.getloadavg()[0]:.1f})", flush=True)
                db.name += " upgraded to head"
                report(db, n, qpath, repeat)
    finally:
        if keep_dbs:
            print(f"kept: {', '.join(db.url for db in dbs)} and the queries in {tmp}", flush=True)
        else:
            for db in dbs:
                db.drop()
            shutil.rmtree(tmp, ignore_errors=True)


def report(db: Target, n: int, qpath: Path, repeat: int) -> None:
    """Row count, plan, sizes, then ``repeat`` fresh lookup processes on the database as it is."""
    print(f"\n## {db.name}: {n:,} articles, {db.count('story_keys'):,} story_keys rows "
          f"(of {n * BANDS:,} band keys: an article repeating a key stores it once)")
    print(f"plan: {db.plan()}")
    sizes = db.sizes()
    total = next(iter(sizes.values()))
    free = f", {sizes['(free)'] / 2**20:,.0f} MiB of it free pages" if sizes.get("(free)") else ""
    print(f"on disk: {total / 2**20:,.0f} MiB ({total / n:,.0f} B/article{free}); per object (MiB):")
    print("  " + ", ".join(f"{k} {v / 2**20:,.1f}" for k, v in sizes.items() if v > 2**20 and k[0] != "("))
    for rep in range(repeat):
        res = json.loads(subprocess.run(
            [sys.executable, __file__, "lookup", db.url, str(qpath)], check=True, capture_output=True,
            text=True).stdout)
        print(f"run {rep + 1} (load average {os.getloadavg()[0]:.1f}):")
        for kind in ("copies", "unrelated"):
            r = res[kind]
            what = "found their story" if kind == "copies" else "found no story"
            print(f"  find_story, {kind:9}: {_stats(r['ms'])}; {r['right']}/{r['n']} {what}")
            print(f"    CPU time of the lookup process: {_stats(r['cpu_ms'])}")
            if "server_cpu_ms" in r:
                both = [a + b for a, b in zip(r["cpu_ms"], r["server_cpu_ms"], strict=True)]
                print(f"    CPU time of the server backend: {_stats(r['server_cpu_ms'])}")
                print(f"    CPU time, lookup process + backend: {_stats(both)}")
                print(f"    run-queue wait, lookup process + backend: {_stats(r['wait_ms'])}")
        print(f"  index_article (42 rows, flush): {_stats(res['index_article']['ms'])}")
        for kind, counts in res["candidates"].items():
            rows_, arts = sorted(c[0] for c in counts), sorted(c[1] for c in counts)
            print(f"  {kind:9} matched story_keys rows p50 {rows_[len(rows_) // 2]} p95 "
                  f"{rows_[int(len(rows_) * 0.95)]} max {rows_[-1]}; distinct articles p50 "
                  f"{arts[len(arts) // 2]} p95 {arts[int(len(arts) * 0.95)]} max {arts[-1]}")
        print(f"  lookup process RSS: {res['rss_start_kib'] / 1024:.0f} MiB after imports and engine, "
              f"{res['rss_warm_kib'] / 1024:.0f} after warm-up, {res['copies']['rss_kib'] / 1024:.0f} / "
              f"{res['unrelated']['rss_kib'] / 1024:.0f} after the copies / unrelated lookups, "
              f"peak {res['rss_peak_kib'] / 1024:.0f} MiB")


def _anchor(index: object, copies: list, unrelated: list) -> None:
    find: Callable = index.find  # type: ignore[attr-defined]
    for kind, qs in (("copies", copies), ("unrelated", unrelated)):
        times = []
        for sig, _ in qs:
            t = time.perf_counter()
            find(sig, around=NOW)
            times.append((time.perf_counter() - t) * 1e3)
        print(f"anchor: in-memory StoryIndex.find, {kind:9}: {_stats(times)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("sqlite", "postgresql"):
        p = sub.add_parser(name)
        p.add_argument("--n", type=int, default=1_000_000)
        p.add_argument("--revisions", default="head",
                       help="comma-separated alembic revisions to build, e.g. 0004_source_charset_fix,head")
        p.add_argument("--anchor", action="store_true", help="also build the in-memory StoryIndex (~0.5 ms/add)")
        p.add_argument("--repeat", type=int, default=2, help="lookup runs per database (the machine is noisy)")
        p.add_argument("--workers", type=int, default=1, help="processes making signatures while loading")
        p.add_argument("--keep", action="store_true", help="keep the databases (and print where) for inspection")
        p.add_argument("--upgrade-after", action="store_true",
                       help="after measuring, migrate each database to head (timed) and measure it again")
    ms = sub.add_parser("measure", help="report on an SQLite file or a PostgreSQL URL kept by --keep")
    ms.add_argument("path", help="SQLite file, or the postgresql+psycopg:// URL --keep printed")
    ms.add_argument("queries", type=Path)
    ms.add_argument("--n", type=int, default=1_000_000)
    ms.add_argument("--repeat", type=int, default=2)
    lk = sub.add_parser("lookup")
    lk.add_argument("url")
    lk.add_argument("queries")
    args = ap.parse_args()
    if args.cmd == "lookup":
        cmd_lookup(args.url, args.queries)
    elif args.cmd == "measure":
        print(f"# measure, load average {os.getloadavg()[0]:.1f}")
        db = PostgresDatabase(args.path) if args.path.startswith("postgresql") else SQLiteFile(Path(args.path))
        try:
            report(db, args.n, args.queries, args.repeat)
        finally:
            db.drop()
    else:
        run(args.cmd, args.n, args.revisions.split(","), args.anchor, args.repeat, args.workers, args.keep,
            args.upgrade_after)


if __name__ == "__main__":
    main()
