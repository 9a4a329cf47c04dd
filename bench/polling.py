"""Polling throughput: 2,000 feeds on a loopback server, most answering 304 to a conditional GET.

    .venv/bin/python bench/polling.py [--feeds 2000] [--hosts 500] [--concurrency 64]

The server is a minimal asyncio HTTP/1.1 server in a subprocess (so its CPU is counted apart from ours),
listening on ``--hosts`` ports of 127.0.0.1: the Fetcher keys politeness on host:port, so each port is a
separate "site" with its own per-host limits (2 in flight, 0.5 s between starts, the defaults).

Passes, each over every feed once, in one process:
  cold      Fetcher, first contact: robots.txt per host (404 here) + a GET per feed, no validators
  warm      Fetcher, robots cached, conditional GET with the stored ETag: 90% answer 304, 10% a new 20 KB feed
  anchor    plain httpx.AsyncClient, same concurrency and requests as "warm", no checks, no politeness
  anchor+   the same with our ShardedTransport (one pool per host group), to separate the pool effect
            from the cost of our checks
Figures: checks/s (wall clock) and client CPU seconds per 1,000 checks (process_time: all our threads).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scraper.config import Settings
from scraper.fetch.client import Fetcher
from scraper.fetch.politeness import ShardedTransport

FEED_BODY = b"<?xml version='1.0'?><rss><channel>" + b"<item><title>x</title></item>" * 700 + b"</channel></rss>"
CHANGED_EVERY = 10  # one feed in ten has changed since the last check


# --- server (subprocess) --------------------------------------------------------------------------

class _Feeds(asyncio.Protocol):
    """Answers GET /feed/N: 304 if If-None-Match is "vN" and N is not a changed feed, else 200."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self.transport.write(self._answer(head))  # type: ignore[attr-defined]

    def _answer(self, head: bytes) -> bytes:
        lines = head.split(b"\r\n")
        path = lines[0].split(b" ")[1]
        inm = next((ln.split(b":", 1)[1].strip() for ln in lines[1:] if ln.lower().startswith(b"if-none-match:")), None)
        if not path.startswith(b"/feed/"):
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        n = int(path.rsplit(b"/", 1)[1])
        etag = b'"v%d"' % n
        if inm == etag and n % CHANGED_EVERY:
            return b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\n\r\n"
        return (b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: " + etag +
                b"\r\nContent-Length: " + str(len(FEED_BODY)).encode() + b"\r\n\r\n" + FEED_BODY)


async def _serve(hosts: int) -> None:
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(_Feeds, "127.0.0.1", 0, backlog=1024) for _ in range(hosts)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(json.dumps(ports), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # parent closes stdin when done
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"cpu": ru.ru_utime + ru.ru_stime}), flush=True)


# --- client ---------------------------------------------------------------------------------------

def _urls(ports: list[int], feeds: int) -> list[str]:
    return [f"http://127.0.0.1:{ports[i % len(ports)]}/feed/{i}" for i in range(feeds)]


async def _pass_fetcher(fetcher: Fetcher, urls: list[str], conditional: bool) -> tuple[float, float, dict[int, int]]:
    statuses: dict[int, int] = {}

    async def one(i: int, url: str) -> None:
        r = await fetcher.fetch(url, etag=f'"v{i}"' if conditional else None)
        statuses[r.status] = statuses.get(r.status, 0) + 1

    t0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))
    return time.perf_counter() - t0, time.process_time() - c0, statuses


async def _pass_httpx(urls: list[str], concurrency: int, sharded: bool) -> tuple[float, float, dict[int, int]]:
    statuses: dict[int, int] = {}
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    transport = ShardedTransport(concurrency) if sharded else None
    async with httpx.AsyncClient(limits=limits, trust_env=False, transport=transport) as client:

        async def one(i: int, url: str) -> None:
            async with sem:
                r = await client.get(url, headers={"If-None-Match": f'"v{i}"'})
                _ = r.content
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))
        return time.perf_counter() - t0, time.process_time() - c0, statuses


async def _run(ports: list[int], args: argparse.Namespace) -> list[tuple[str, float, float, dict[int, int]]]:
    urls = _urls(ports, args.feeds)
    settings = replace(Settings(), allow_private_networks=True)
    rows = []
    async with Fetcher(settings, global_concurrency=args.concurrency) as fetcher:
        rows.append(("cold", *await _pass_fetcher(fetcher, urls, conditional=False)))
        rows.append(("warm", *await _pass_fetcher(fetcher, urls, conditional=True)))
    rows.append(("anchor", *await _pass_httpx(urls, args.concurrency, sharded=False)))
    rows.append(("anchor+", *await _pass_httpx(urls, args.concurrency, sharded=True)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=2000)
    ap.add_argument("--hosts", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(args.hosts)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdin is not None and server.stdout is not None
    try:
        ports = json.loads(server.stdout.readline())
        rows = asyncio.run(_run(ports, args))
    finally:
        server.stdin.close()
        server_cpu = json.loads(server.stdout.readline() or '{"cpu": null}')["cpu"]
        server.wait(timeout=10)
    print(f"{args.feeds} feeds on {args.hosts} loopback hosts, global concurrency {args.concurrency}")
    print(f"{'pass':<8}{'checks/s':>10}{'wall s':>9}{'CPU s/1k checks':>17}  statuses")
    for name, wall, cpu, statuses in rows:
        print(f"{name:<8}{args.feeds / wall:>10.0f}{wall:>9.2f}{cpu * 1000 / args.feeds:>17.3f}  {statuses}")
    print(f"server CPU for all passes: {server_cpu:.2f} s")


if __name__ == "__main__":
    main()
