"""How long one pass over a huge feed blocks the event loop (other sources wait that long).

A loopback server serves one RSS feed of ``--items`` items (default 100,000) and a small Arabic page per
item; ``refresh_source`` runs ``--passes`` times over it (each pass stores up to 100 new articles, so every
pass sees a feed of mostly unknown links) while a watchdog coroutine asks to wake every 10 ms. Every wake
later than 20 ms is the loop being blocked; per pass we print the sum of those delays (blocked seconds),
the longest single block and the pass's wall time.

The same passes over a feed of 100 items (the same 100 new articles per pass to fetch, extract and
store) are the baseline: what a pass costs whatever the feed's size. The difference is the price of
the feed's size. The watchdog alone, with nothing running, gives the noise floor of a loaded machine
(a thread that sleeps 10 ms waits for a CPU too).

Anchor (printed first): a fixed pure-Python loop, to compare runs on a loaded machine; and the load average.

    .venv/bin/python bench/huge_feed.py [--items 100000] [--passes 3] [--baseline-items 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scraper.config import Config, Settings
from scraper.fetch.client import Fetcher
from scraper.pipeline import Runtime, refresh_source
from scraper.store import repo
from scraper.store.db import make_engine, upgrade
from scraper.store.db import session as open_session

WAKE_EVERY = 0.010
BLOCKED_PAST = 0.020
PAGE = ("<!doctype html><html lang='ar' dir='rtl'><head><meta charset='utf-8'><title>خبر رقم {n}</title></head>"
        "<body><article><h1>خبر رقم {n} من الموجز الكبير</h1><p>{body}</p></article></body></html>")


def feed_bytes(base: str, items: int) -> bytes:
    entries = "".join(f"<item><title>خبر رقم {i}</title><link>{base}/article?n={i}&amp;utm_source=rss</link>"
                      f"<pubDate>Sat, 28 Nov 2026 10:00:00 GMT</pubDate></item>" for i in range(items))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>big</title>'
            f"<link>{base}/</link><description>d</description>{entries}</channel></rss>").encode()


class Site:
    def __init__(self, items: int) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path == "/feed":
                    body, ctype = site.feed, "application/rss+xml"
                elif self.path.startswith("/article"):
                    n = self.path.split("n=", 1)[-1].split("&", 1)[0]
                    body = PAGE.format(n=n, body=f"نص الخبر رقم {n} " * 12).encode()
                    ctype = "text/html; charset=utf-8"
                else:
                    body, ctype = b"", "text/plain"
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.feed = feed_bytes(self.base, items)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


async def watchdog(stalls: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        asked = time.monotonic()
        await asyncio.sleep(WAKE_EVERY)
        late = time.monotonic() - asked - WAKE_EVERY
        if late > BLOCKED_PAST:
            stalls.append(late)


async def one_pass(rt: Runtime, name: str) -> tuple[float, float, float, int]:
    stalls: list[float] = []
    stop = asyncio.Event()
    dog = asyncio.create_task(watchdog(stalls, stop))
    await asyncio.sleep(0)
    started = time.monotonic()
    report = await refresh_source(rt, rt.config.source(name))
    wall = time.monotonic() - started
    stop.set()
    await dog
    assert report.outcome == "ok", report
    return sum(stalls), max(stalls, default=0.0), wall, report.new_articles


def anchor() -> float:
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i * i % 7
    return time.perf_counter() - started


async def noise_floor(seconds: float) -> float:
    stalls: list[float] = []
    stop = asyncio.Event()
    dog = asyncio.create_task(watchdog(stalls, stop))
    await asyncio.sleep(seconds)
    stop.set()
    await dog
    return sum(stalls)


async def run(items: int, passes: int, workdir: Path) -> list[float]:
    """``passes`` passes over one feed of ``items`` items. A feed with no more than 100 items gets a fresh
    database per pass, so that every pass has the same 100 new articles as a pass over the huge feed."""
    site = Site(items)
    config = Config.model_validate({"sources": [
        {"name": "huge", "url": f"{site.base}/feed", "interval": "10m", "allow_private": True}]})
    blocked = []
    for n in range(1, passes + 1):
        db_url = f"sqlite:///{workdir / f'feed{items}-{n if items <= 100 else 0}.db'}"
        upgrade(db_url)
        settings = Settings(database_url=db_url, allow_private_networks=True, per_host_delay=0.0,
                            per_host_concurrency=8, max_body_bytes=64_000_000)
        engine = make_engine(db_url)
        with open_session(engine) as s:
            repo.sync_sources(s, config)
        async with Fetcher(settings, per_host_concurrency=8, per_host_delay=0.0) as fetcher:
            rt = Runtime(settings=settings, config=config, engine=engine, fetcher=fetcher,
                         rules=Runtime.build_rules(config))
            total, longest, wall, new = await one_pass(rt, "huge")
        engine.dispose()
        blocked.append(total)
        print(f"  {items:>7,} items, pass {n}: blocked {total:6.2f} s, longest block {longest:5.2f} s, "
              f"wall {wall:6.2f} s, {new} new articles", flush=True)
    site.httpd.shutdown()
    print(f"  {items:>7,} items: median blocked per pass {statistics.median(blocked):.2f} s "
          f"(feed {len(site.feed) / 2**20:.1f} MiB)", flush=True)
    return blocked


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--baseline-items", type=int, default=100)
    ap.add_argument("--passes", type=int, default=3)
    args = ap.parse_args()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"anchor (3M-step Python loop) {anchor():.2f} s", flush=True)
    print(f"noise floor: watchdog alone for 5 s: blocked {asyncio.run(noise_floor(5.0)):.2f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = asyncio.run(run(args.baseline_items, args.passes, Path(tmp)))
        huge = asyncio.run(run(args.items, args.passes, Path(tmp)))
    print(f"price of the feed's size: {statistics.median(huge) - statistics.median(base):+.2f} s blocked per pass "
          f"({args.items:,} vs {args.baseline_items:,} items, medians)")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; anchor {anchor():.2f} s")


if __name__ == "__main__":
    main()
