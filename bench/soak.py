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

Reported: RSS and open file descriptors after the first simulated hour (warm) and at the end, database
size per 10,000 articles, publication→alert-queued latency in simulated minutes (p50/p95; a story is
alerted when its source is next polled) and alert queued→delivered in wall seconds. --max-wall stops
early (and says so) if the machine is too slow to finish in time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
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


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _body(rng: random.Random, watched: bool) -> str:
    paras = []
    for p in range(3):
        words = [rng.choice(_VOCAB) for _ in range(45)]
        if watched and p == 1:
            words.insert(rng.randrange(len(words)), WATCHED)
        paras.append("<p>" + " ".join(words) + ".</p>")
    return "".join(paras)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def soak(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    rng = random.Random(args.seed)
    site = SoakSite(args.sources)
    db_path = workdir / "soak.db"
    db_url = f"sqlite:///{db_path}"
    upgrade(db_url)
    hook = WebhookReceiver("soak").__enter__()
    config = Config.model_validate({
        "channels": {"ops": {"type": "webhook", "url": hook.url, "secret": "soak"}},
        "rules": [{"name": "watched", "query": WATCHED, "channels": ["ops"]}],
        "sources": [{"name": f"s{n}", "url": f"{site.base}/s{n}/rss.xml", "interval": "15m", "min_interval": "5m",
                     "max_interval": "3h", "allow_private": True} for n in range(args.sources)],
    })
    settings = Settings(database_url=db_url, allow_private_networks=True, per_host_delay=0.0,
                        per_host_concurrency=16, global_concurrency=32, fetch_timeout=20)
    engine = make_engine(db_url)
    with open_session(engine) as s:
        repo.sync_sources(s, config)
    published: dict[str, datetime] = {}
    queued_latency: list[float] = []  # simulated minutes, publication → alert row
    deliver_latency: list[float] = []  # wall seconds, alert row → delivered
    sim = utcnow()
    start_sim = sim
    ticks = int(args.hours * 60 / args.tick_minutes)
    names = [s.name for s in config.sources]
    warm: tuple[float, int] | None = None
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
            for n in range(args.sources):
                if rng.random() < args.publish:
                    published[site.publish(n, _body(rng, rng.random() < 0.2))] = sim
            with open_session(engine) as s:
                due = repo.due_source_names(s, sim, names, limit=len(names))
            polls += len(due)
            await asyncio.gather(*(one(name, sim) for name in due))
            await deliver_due(settings, config, engine)
            with engine.connect() as conn:
                rows = conn.execute(text(
                    "SELECT al.id, a.url, al.created_at, al.sent_at FROM alerts al JOIN articles a "
                    "ON a.id = al.article_id WHERE al.id > :last AND al.status = 'sent' ORDER BY al.id"),
                    {"last": last_alert}).all()
            for alert_id, url, created, sent in rows:
                last_alert = max(last_alert, alert_id)
                if url in published:
                    queued_latency.append((sim - published[url]).total_seconds() / 60)
                c, s_ = (datetime.fromisoformat(str(x)) for x in (created, sent))
                deliver_latency.append((s_ - c).total_seconds())
            sim += timedelta(minutes=args.tick_minutes)
            finished_ticks = tick + 1
            if warm is None and sim - start_sim >= timedelta(hours=1):
                warm = (_rss_mb(), _fds())
    end = (_rss_mb(), _fds())
    with engine.connect() as conn:
        articles = int(conn.execute(text("SELECT count(*) FROM articles")).scalar_one())
        alerts = int(conn.execute(text("SELECT count(*) FROM alerts")).scalar_one())
        sent = int(conn.execute(text("SELECT count(*) FROM alerts WHERE status='sent'")).scalar_one())
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    hook.__exit__()
    site.server.shutdown()
    size = sum(p.stat().st_size for p in workdir.glob("soak.db*"))
    warm = warm or end
    return {
        "simulated_hours": finished_ticks * args.tick_minutes / 60, "ticks": finished_ticks,
        "wall_seconds": round(time.monotonic() - started), "sources": args.sources, "polls": polls,
        "published": len(published), "articles": articles, "alerts": alerts, "alerts_sent": sent,
        "rss_warm_mb": round(warm[0], 1), "rss_end_mb": round(end[0], 1),
        "rss_growth_pct": round(100 * (end[0] - warm[0]) / warm[0], 1), "fds_warm": warm[1], "fds_end": end[1],
        "db_mb_per_10k_articles": round(size / 1e6 * 10_000 / max(articles, 1), 1),
        "pub_to_alert_min_p50": round(pct(queued_latency, 50), 1),
        "pub_to_alert_min_p95": round(pct(queued_latency, 95), 1),
        "alert_delivery_s_p50": round(pct(deliver_latency, 50), 2),
        "alert_delivery_s_p95": round(pct(deliver_latency, 95), 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--tick-minutes", type=float, default=5.0)
    ap.add_argument("--publish", type=float, default=0.03, help="chance a source publishes per tick")
    ap.add_argument("--max-wall", type=float, default=1200.0, help="seconds; stop early past this")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    if not (1 <= args.sources <= 5000 and 0 < args.hours <= 72 and 1 <= args.tick_minutes <= 60):
        ap.error("--sources 1..5000, --hours up to 72, --tick-minutes 1..60")
    setup_logging(level="ERROR")
    with tempfile.TemporaryDirectory() as d:
        out = asyncio.run(soak(args, Path(d)))
    for k, v in out.items():
        print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
