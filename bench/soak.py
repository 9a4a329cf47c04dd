"""Soak: a compressed day of operation with 1,000 sources, to see whether memory, file descriptors or the
database grow where they should not, and how long a story takes from publication to its alert.

    .venv/bin/python bench/soak.py [--sources 1000] [--hours 24] [--tick-minutes 5] [--publish 0.03]
                                   [--max-wall 1200]

Time compression: the pipeline runs in this process with a simulated clock. Each tick advances the
clock by --tick-minutes; every source publishes a new article with probability --publish per tick; the
sources whose next_check_at (set by the real scheduling policy from the simulated ``now``) is due are
refreshed (refresh_source(now=simulated), 16 at once), then the outbox is delivered to a loopback
webhook receiver. So a day is 288 ticks whatever the wall time, and the polling pattern (adaptive
intervals, 304s, backoff) is the daemon's own. Network: one loopback site (127.0.0.1) with ETag/304,
RSS feeds of the latest 20 items and Arabic article pages; ~20 % of the articles match the rule.
The site and the webhook receiver run in a child process: they keep every article body and every
delivery, which a daemon does not, so the measured process holds only the daemon's work (plus 8 bytes
per published article of bookkeeping for the latency figures).

Memory, stated honestly: "start" is the end of the first full pass (the tick after which every source
has been polled once: every feed fetched and parsed, the HTTP and SQLite pools open), "end" is after the
last tick. Growth is reported from that start, from the first simulated hour (second polls, 304s and
the first alert deliveries have happened by then, and the previous version of this script started
there) and from process start (after imports). RSS is printed every
--every ticks (stderr) so a plateau can be told from steady growth, with SQLite's own heap
(sqlite3_memory_used: page caches of pooled connections) and, with --tracemalloc N, Python's traced
heap plus the top allocation sites (N frames) that grew between start and end.

--cache-caps measures instead what the token caches hold once full, which a daemon reaches within days
(an open vocabulary: names, numbers, typos) though this soak never does (its articles reuse one small
vocabulary): 300,000 distinct Arabic chunks (corpus words × clitics) go through the matcher, the
normalizer and the fingerprint token hash, and the traced memory of each cache is printed.

Also reported: open file descriptors at start and end, database size per 10,000 articles,
publication→alert-queued latency in simulated minutes (p50/p95; a story is alerted when its source is
next polled) and alert queued→delivered in wall seconds. --max-wall stops early (and says so) if the
machine is too slow to finish in time.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ctypes
import ctypes.util
import gc
import itertools
import multiprocessing
import multiprocessing.connection
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from scraper.alert.outbox import deliver_due  # noqa: E402
from scraper.config import Config, Settings  # noqa: E402
from scraper.demo.receiver import WebhookReceiver  # noqa: E402
from scraper.fetch.client import Fetcher  # noqa: E402
from scraper.logs import setup_logging  # noqa: E402
from scraper.pipeline import Runtime, refresh_source  # noqa: E402
from scraper.store import repo  # noqa: E402
from scraper.store.db import make_engine, upgrade  # noqa: E402
from scraper.store.db import session as open_session  # noqa: E402
from scraper.store.tables import utcnow  # noqa: E402
from tests.reliability.crashkit import _VOCAB, WATCHED  # noqa: E402


class SoakSite:
    """/s<n>/rss.xml (latest 20 items, ETag = item count) and /s<n>/a<k>.html, on 127.0.0.1."""

    def __init__(self, sources: int) -> None:
        self.items: list[list[tuple[int, str]]] = [[] for _ in range(sources)]  # (k, body) per source
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                status, ctype, body, etag = site.respond(self.path)
                if etag and self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_a: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def publish(self, n: int, body: str) -> str:
        with self.lock:
            k = len(self.items[n])
            self.items[n].append((k, body))
        return f"{self.base}/s{n}/a{k}.html"

    def respond(self, path: str) -> tuple[int, str, bytes, str | None]:
        parts = path.strip("/").split("/")
        if path == "/robots.txt" or len(parts) != 2 or not parts[0][1:].isdigit():
            return 404, "text/plain", b"", None
        n = int(parts[0][1:])
        with self.lock:
            items = list(self.items[n]) if n < len(self.items) else []
        if parts[1] == "rss.xml":
            entries = "".join(f"<item><title>خبر {n}-{k}</title><link>{self.base}/s{n}/a{k}.html</link></item>"
                              for k, _b in items[-20:])
            feed = f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>s{n}</title>{entries}'
            return 200, "application/rss+xml", (feed + "</channel></rss>").encode(), f'"{len(items)}"'
        k = int(parts[1][1:].split(".")[0]) if parts[1][1:].split(".")[0].isdigit() else -1
        if not 0 <= k < len(items):
            return 404, "text/plain", b"", None
        page = (f'<html lang="ar"><head><title>خبر {n}-{k}</title></head><body><article><h1>خبر {n}-{k}</h1>'
                f"{items[k][1]}</article></body></html>")
        return 200, "text/html; charset=utf-8", page.encode(), None


def serve(conn: multiprocessing.connection.Connection, sources: int, secret: str) -> None:
    """The child process: the site and the webhook receiver, driven over ``conn``: ("publish",
    [(n, body), ...]) answers the article URLs, ("stop",) ends it."""
    site = SoakSite(sources)
    hook = WebhookReceiver(secret).__enter__()
    hook.deliveries = collections.deque(maxlen=16)  # type: ignore[assignment]  # keep none of them
    conn.send((site.base, hook.url))
    while True:
        msg = conn.recv()
        if msg[0] == "stop":
            break
        conn.send([site.publish(n, body) for n, body in msg[1]])
    hook.__exit__()
    site.server.shutdown()


class Published:
    """Publication time (simulated, epoch seconds) per source and article number: 8 bytes each."""

    def __init__(self, sources: int) -> None:
        self.times = [array("d") for _ in range(sources)]

    def add(self, n: int, when: datetime) -> None:
        self.times[n].append(when.timestamp())

    def __len__(self) -> int:
        return sum(len(t) for t in self.times)

    def get(self, url: str) -> datetime | None:
        parts = url.rsplit("/", 2)  # .../s<n>/a<k>.html
        try:
            n, k = int(parts[-2][1:]), int(parts[-1][1:].split(".")[0])
            return datetime.fromtimestamp(self.times[n][k], UTC)
        except (ValueError, IndexError):
            return None


def _rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _sqlite_heap() -> Callable[[], int] | None:
    """sqlite3_memory_used() of the libsqlite3 Python's _sqlite3 links to (page caches, statements)."""
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return None
    try:
        fn = ctypes.CDLL(name).sqlite3_memory_used
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_int64
    return fn


_SQLITE_USED = _sqlite_heap()


@dataclass
class Sample:
    """Process memory at one moment: RSS, SQLite's heap, Python's traced heap (0 without tracemalloc)."""

    rss_mb: float
    fds: int
    sqlite_mb: float
    traced_mb: float

    @classmethod
    def now(cls) -> Sample:
        gc.collect()  # garbage awaiting collection is not growth
        sqlite = _SQLITE_USED() / 2**20 if _SQLITE_USED is not None else float("nan")
        traced = tracemalloc.get_traced_memory()[0] / 2**20 if tracemalloc.is_tracing() else 0.0
        return cls(_rss_mb(), _fds(), sqlite, traced)


def _growth(a: float, b: float) -> float:
    return round(100 * (b - a) / a, 1) if a else float("nan")


def _top_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int = 15) -> list[str]:
    """The allocation sites whose live size grew most between two snapshots, innermost frame first."""
    keep = [tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap*>")]
    diff = after.filter_traces(keep).compare_to(before.filter_traces(keep), "traceback")
    lines = []
    for stat in diff[:n]:
        lines.append(f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks (now {stat.size / 1024:.1f} KiB)")
        lines.extend(f"      {frame.filename.replace(str(ROOT) + '/', '')}:{frame.lineno}" for frame in stat.traceback)
    return lines


def _body(rng: random.Random, watched: bool) -> str:
    paras = []
    for p in range(3):
        words = [rng.choice(_VOCAB) for _ in range(45)]
        if watched and p == 1:
            words.insert(rng.randrange(len(words)), WATCHED)
        paras.append("<p>" + " ".join(words) + ".</p>")
    return "".join(paras)


def pct(values: array[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def soak(args: argparse.Namespace, workdir: Path, at_import: Sample) -> dict[str, object]:
    rng = random.Random(args.seed)
    spawn = multiprocessing.get_context("spawn")
    parent, child = spawn.Pipe()
    server = spawn.Process(target=serve, args=(child, args.sources, "soak"), daemon=True)
    server.start()
    site_base, hook_url = parent.recv()
    db_path = workdir / "soak.db"
    db_url = f"sqlite:///{db_path}"
    upgrade(db_url)
    config = Config.model_validate({
        "channels": {"ops": {"type": "webhook", "url": hook_url, "secret": "soak"}},
        "rules": [{"name": "watched", "query": WATCHED, "channels": ["ops"]}],
        "sources": [{"name": f"s{n}", "url": f"{site_base}/s{n}/rss.xml", "interval": "15m", "min_interval": "5m",
                     "max_interval": "3h", "allow_private": True} for n in range(args.sources)],
    })
    settings = Settings(database_url=db_url, allow_private_networks=True, per_host_delay=0.0,
                        per_host_concurrency=16, global_concurrency=32, fetch_timeout=20)
    engine = make_engine(db_url)
    with open_session(engine) as s:
        repo.sync_sources(s, config)
    published = Published(args.sources)
    queued_latency = array("d")  # simulated minutes, publication → alert row
    deliver_latency = array("d")  # wall seconds, alert row → delivered
    sim = utcnow()
    start_sim = sim
    ticks = int(args.hours * 60 / args.tick_minutes)
    names = [s.name for s in config.sources]
    warm: Sample | None = None
    warm_tick = 0
    child_warm = 0.0
    warm_snap: tracemalloc.Snapshot | None = None
    hour: Sample | None = None
    never_polled = set(names)
    polls = 0
    started = time.monotonic()
    last_alert = 0
    finished_ticks = 0
    async with Fetcher(settings, global_concurrency=32, per_host_concurrency=16, per_host_delay=0.0) as fetcher:
        rt = Runtime(settings=settings, config=config, engine=engine, fetcher=fetcher,
                     rules=Runtime.build_rules(config))
        sem = asyncio.Semaphore(16)

        async def one(name: str, now: datetime) -> None:
            async with sem:
                await refresh_source(rt, config.source(name), now=now)

        for tick in range(ticks):
            if time.monotonic() - started > args.max_wall:
                break
            fresh = [(n, _body(rng, rng.random() < 0.2)) for n in range(args.sources) if rng.random() < args.publish]
            parent.send(("publish", fresh))
            parent.recv()
            for n, _b in fresh:
                published.add(n, sim)
            del fresh
            with open_session(engine) as s:
                due = repo.due_source_names(s, sim, names, limit=len(names))
            polls += len(due)
            never_polled.difference_update(due)
            await asyncio.gather(*(one(name, sim) for name in due))
            await deliver_due(settings, config, engine)
            with engine.connect() as conn:
                rows = conn.execute(text(
                    "SELECT al.id, a.url, al.created_at, al.sent_at FROM alerts al JOIN articles a "
                    "ON a.id = al.article_id WHERE al.id > :last AND al.status = 'sent' ORDER BY al.id"),
                    {"last": last_alert}).all()
            for alert_id, url, created, sent in rows:
                last_alert = max(last_alert, alert_id)
                if (at := published.get(url)) is not None:
                    queued_latency.append((sim - at).total_seconds() / 60)
                c, s_ = (datetime.fromisoformat(str(x)) for x in (created, sent))
                deliver_latency.append((s_ - c).total_seconds())
            sim += timedelta(minutes=args.tick_minutes)
            finished_ticks = tick + 1
            if warm is None and not never_polled:  # the first full pass is over: this is "start"
                warm, warm_tick = Sample.now(), finished_ticks
                child_warm = _rss_mb(server.pid or "self")
                warm_snap = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
            if hour is None and sim - start_sim >= timedelta(hours=1):
                hour = Sample.now()
            if finished_ticks % args.every == 0 or finished_ticks == ticks:
                _progress(finished_ticks, sim - start_sim, Sample.now(), len(published), started)
    end = Sample.now()
    child_end = _rss_mb(server.pid or "self")
    top = _top_growth(warm_snap, tracemalloc.take_snapshot()) if warm_snap is not None else []
    with engine.connect() as conn:
        articles = int(conn.execute(text("SELECT count(*) FROM articles")).scalar_one())
        alerts = int(conn.execute(text("SELECT count(*) FROM alerts")).scalar_one())
        sent = int(conn.execute(text("SELECT count(*) FROM alerts WHERE status='sent'")).scalar_one())
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    parent.send(("stop",))
    server.join(10)
    size = sum(p.stat().st_size for p in workdir.glob("soak.db*"))
    warm = warm or end
    hour = hour or end
    child_warm = child_warm if warm is not end else child_end
    for line in top:
        print(line, file=sys.stderr)
    return {
        "simulated_hours": finished_ticks * args.tick_minutes / 60, "ticks": finished_ticks,
        "wall_seconds": round(time.monotonic() - started), "sources": args.sources, "polls": polls,
        "published": len(published), "articles": articles, "alerts": alerts, "alerts_sent": sent,
        "start": f"end of the first full pass (tick {warm_tick}: every source polled once)",
        "rss_import_mb": round(at_import.rss_mb, 1), "rss_start_mb": round(warm.rss_mb, 1),
        "rss_end_mb": round(end.rss_mb, 1), "rss_growth_pct": _growth(warm.rss_mb, end.rss_mb),
        "rss_1h_mb": round(hour.rss_mb, 1), "rss_growth_from_1h_pct": _growth(hour.rss_mb, end.rss_mb),
        "rss_growth_from_import_pct": _growth(at_import.rss_mb, end.rss_mb),
        "sqlite_heap_start_mb": round(warm.sqlite_mb, 1), "sqlite_heap_end_mb": round(end.sqlite_mb, 1),
        "traced_start_mb": round(warm.traced_mb, 1), "traced_end_mb": round(end.traced_mb, 1),
        "fds_start": warm.fds, "fds_end": end.fds,
        "site_and_receiver_rss_start_end_mb": f"{child_warm:.1f} → {child_end:.1f} (child process, not counted)",
        "db_mb_per_10k_articles": round(size / 1e6 * 10_000 / max(articles, 1), 1),
        "pub_to_alert_min_p50": round(pct(queued_latency, 50), 1),
        "pub_to_alert_min_p95": round(pct(queued_latency, 95), 1),
        "alert_delivery_s_p50": round(pct(deliver_latency, 50), 2),
        "alert_delivery_s_p95": round(pct(deliver_latency, 95), 2),
    }


def _progress(tick: int, sim: timedelta, m: Sample, published: int, started: float) -> None:
    print(f"tick {tick:4d}  sim {sim.total_seconds() / 3600:5.1f} h  rss {m.rss_mb:6.1f} MB"
          f"  sqlite {m.sqlite_mb:5.1f} MB  traced {m.traced_mb:6.1f} MB  fds {m.fds:3d}  published {published:6d}"
          f"  wall {time.monotonic() - started:5.0f} s  load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)


def _open_vocabulary(corpus: Path, n: int) -> Iterator[str]:
    """``n`` distinct Arabic chunks, made fresh (only the caches will hold them): corpus words with
    proclitics and suffixes, the shape of a news vocabulary that keeps growing."""
    from selectolax.lexbor import LexborHTMLParser

    from scraper.normalize.text import is_arabic

    words: set[str] = set()
    for page in sorted((corpus / "articles").glob("*/*.html")):
        body = LexborHTMLParser(page.read_bytes().decode("utf-8", "replace")).body
        words.update(w for w in (body.text(separator=" ") if body else "").split() if is_arabic(w))
    pre = ["", "و", "ف", "ب", "ل", "وال", "بال", "فال", "لل", "ك", "وب", "ول"]
    suf = ["", "ها", "هم", "ه", "ين", "ات", "ي", "نا", "كم", "ون", "هما", "كن"]
    made = 0
    for p, q in itertools.product(pre, suf):
        for w in sorted(words):
            if made == n:
                return
            yield "".join((p, w, q))
            made += 1


def cache_caps(corpus: Path, n: int = 300_000) -> None:
    """Traced memory of each token cache after ``n`` distinct chunks (each stops at its own limit)."""
    from scraper.dedupe import fingerprint
    from scraper.match.matcher import RuleIndex, RuleSpec
    from scraper.match.termindex import MEMO_LIMIT
    from scraper.normalize.text import normalize_token

    rules = RuleIndex.build([RuleSpec(name="r", query='"وزارة الخارجية" OR إيران OR "البنك المركزي"')])
    ti = rules.terms
    normalize_token.cache_clear()
    fingerprint._token_hash.cache_clear()
    tracemalloc.start()
    # The LRUs first: the matcher fills normalize_token's too, and that must not count as its own.
    steps: list[tuple[str, Callable[[list[str]], object], Callable[[], int]]] = [
        ("normalize_token LRU", lambda b: list(map(normalize_token, b)),
         lambda: normalize_token.cache_info().currsize),
        ("fingerprint _token_hash LRU", lambda b: list(map(fingerprint._token_hash, b)),
         lambda: fingerprint._token_hash.cache_info().currsize),
        ("matcher memos (chunks + tokens)", ti.scan_many, lambda: len(ti._chunks) + len(ti._memo)),
    ]
    print(f"{n:,} distinct chunks; matcher MEMO_LIMIT {MEMO_LIMIT:,}")
    for name, feed, size in steps:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        batch: list[str] = []
        for chunk in _open_vocabulary(corpus, n):
            batch.append(chunk)
            if len(batch) == 1000:
                feed(batch)
                batch = []
        feed(batch)
        del batch
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        print(f"{name}: {size():,} entries, {grown / 2**20:.1f} MiB ({grown / max(size(), 1):.0f} B/entry)")
    tracemalloc.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--tick-minutes", type=float, default=5.0)
    ap.add_argument("--publish", type=float, default=0.03, help="chance a source publishes per tick")
    ap.add_argument("--max-wall", type=float, default=1200.0, help="seconds; stop early past this")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--every", type=int, default=6, help="print RSS every N ticks (stderr)")
    ap.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES",
                    help="trace Python allocations (slow) and print the top growth sites with FRAMES frames")
    ap.add_argument("--cache-caps", action="store_true", help="only measure the token caches when full")
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = ap.parse_args()
    if args.cache_caps:
        cache_caps(args.corpus)
        return 0
    if not (1 <= args.sources <= 5000 and 0 < args.hours <= 72 and 1 <= args.tick_minutes <= 60):
        ap.error("--sources 1..5000, --hours up to 72, --tick-minutes 1..60")
    setup_logging(level="ERROR")
    at_import = Sample.now()
    if args.tracemalloc:
        tracemalloc.start(args.tracemalloc)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as d:
        out = asyncio.run(soak(args, Path(d), at_import))
    out["load_avg_before_after"] = f"{load[0]:.1f} / {os.getloadavg()[0]:.1f}"
    out["command"] = " ".join(["python", *sys.argv])
    for k, v in out.items():
        print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
