"""Politeness: one limiter per host (concurrency cap + minimum gap between request starts) and a
robots.txt cache. Both are shared by every fetch of one Fetcher, so the article fetches of a source, its
feed and its robots.txt all queue behind the same per-host limits."""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from protego import Protego

from scraper.errors import FetchError, HTTPStatusError
from scraper.logs import log_event

ROBOTS_TTL = 3600.0  # seconds a robots.txt answer is trusted
ROBOTS_ERROR_TTL = 300.0  # a 5xx/unreachable robots.txt is asked again sooner: the outage may be brief
MAX_CRAWL_DELAY = 30.0  # a robots.txt Crawl-delay above this is capped, or one source could stall for hours
MAX_HOSTS = 4096  # idle per-host state beyond this is dropped, so a long run does not grow without bound


def host_key(url: str) -> str:
    """The politeness key: scheme-less host[:port], lower-case (http and https of one host share limits)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


@dataclass
class _HostSlot:
    semaphore: asyncio.Semaphore
    delay: float
    next_start: float = 0.0
    users: int = 0
    gate: asyncio.Lock = field(default_factory=asyncio.Lock)


class HostLimiter:
    """At most ``per_host_concurrency`` requests in flight per host and at least ``per_host_delay``
    seconds between two request starts on the same host."""

    def __init__(self, per_host_concurrency: int, per_host_delay: float) -> None:
        self.per_host_concurrency = max(1, per_host_concurrency)
        self.per_host_delay = max(0.0, per_host_delay)
        self._slots: dict[str, _HostSlot] = {}

    def set_min_delay(self, host: str, delay: float) -> None:
        """Raise one host's gap (robots.txt Crawl-delay); never lowers it below the configured delay."""
        slot = self._slot(host)
        slot.delay = max(self.per_host_delay, min(delay, MAX_CRAWL_DELAY))

    def _slot(self, host: str) -> _HostSlot:
        slot = self._slots.get(host)
        if slot is None:
            if len(self._slots) >= MAX_HOSTS:
                self._prune()
            slot = _HostSlot(asyncio.Semaphore(self.per_host_concurrency), self.per_host_delay)
            self._slots[host] = slot
        return slot

    def _prune(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._slots.items() if s.users == 0 and s.next_start <= now]:
            del self._slots[key]

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        slot = self._slot(host)
        slot.users += 1
        try:
            async with slot.semaphore:
                # The gate serialises the "wait for my start time" step so two waiters cannot both take
                # the same start time; the sleep is short and bounded by the host's delay.
                async with slot.gate:
                    wait = slot.next_start - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    slot.next_start = time.monotonic() + slot.delay
                yield
        finally:
            slot.users -= 1


RobotsLoader = Callable[[str, bool], Awaitable[bytes]]  # (robots_url, allow_private) -> body


@dataclass
class _RobotsEntry:
    parser: Protego | None  # None: allow everything
    expires: float


class RobotsCache:
    """robots.txt per scheme+host, fetched once per TTL through ``load`` (the Fetcher's own fetch, so the
    same limits, safety checks and size caps apply) and shared by concurrent callers."""

    def __init__(self, load: RobotsLoader, user_agent: str, limiter: HostLimiter) -> None:
        self._load = load
        self._user_agent = user_agent
        self._limiter = limiter
        self._entries: dict[str, _RobotsEntry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def allowed(self, url: str, allow_private: bool) -> bool:
        parts = urlsplit(url)
        key = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        entry = self._entries.get(key)
        if entry is None or entry.expires <= time.monotonic():
            lock = self._locks.setdefault(key, asyncio.Lock())
            async with lock:  # one robots.txt request per host, however many fetches wait for it
                entry = self._entries.get(key)
                if entry is None or entry.expires <= time.monotonic():
                    entry = await self._refresh(key, url, allow_private)
        return entry.parser is None or bool(entry.parser.can_fetch(url, self._user_agent))

    async def _refresh(self, key: str, url: str, allow_private: bool) -> _RobotsEntry:
        robots_url = key + "/robots.txt"
        parser, ttl = await self._fetch_parser(robots_url, url, allow_private)
        if parser is not None:
            delay = parser.crawl_delay(self._user_agent)
            if delay:
                self._limiter.set_min_delay(host_key(url), float(delay))
        if len(self._entries) >= MAX_HOSTS:
            now = time.monotonic()
            self._entries = {k: e for k, e in self._entries.items() if e.expires > now}
            # The locks too: one per host ever seen would grow for as long as the daemon runs. A lock
            # in use (this one included) stays; a waiter on a dropped one only costs a second fetch.
            self._locks = {k: lk for k, lk in self._locks.items() if lk.locked() or k in self._entries}
        entry = _RobotsEntry(parser, time.monotonic() + ttl)
        self._entries[key] = entry
        return entry

    async def _fetch_parser(self, robots_url: str, url: str, allow_private: bool) -> tuple[Protego | None, float]:
        # The choices below follow what large crawlers do (Google's robots.txt documentation):
        # a 4xx robots.txt means "no rules", so everything is allowed. For 5xx or an unreachable host
        # RFC 9309 says to assume complete disallow; we allow instead, as many crawlers do, because the
        # page fetch that follows meets the same outage anyway and a news monitor should not go silent
        # over a broken robots.txt. It is logged and asked again after ROBOTS_ERROR_TTL.
        try:
            body = await self._load(robots_url, allow_private)
        except HTTPStatusError as exc:
            if 400 <= exc.status < 500:
                return None, ROBOTS_TTL
            log_event("robots.unavailable", logging.WARNING, url=url, robots=robots_url, status=exc.status)
            return None, ROBOTS_ERROR_TTL
        except FetchError as exc:
            log_event("robots.unavailable", logging.WARNING, url=url, robots=robots_url,
                      error_class=exc.error_class, error=str(exc))
            return None, ROBOTS_ERROR_TTL
        text = body.decode("utf-8", errors="replace")
        return Protego.parse(text), ROBOTS_TTL


class ShardedTransport(httpx.AsyncBaseTransport):
    """Connection pools split by host over ``shards`` transports.

    Why: httpcore 1.0's pool re-examines every connection it holds whenever a request starts or ends
    (asking each idle socket whether it is readable, and counting idle connections in a way that is
    quadratic in the pool size). Polling hundreds of hosts through one pool of 64 connections spent
    most of its CPU there (bench/polling.py). Small pools keep that scan short; all of a host's
    connections live in one shard, so keep-alive reuse is unchanged. The Fetcher's global semaphore,
    not the pools, bounds the total number of connections."""

    def __init__(self, total_connections: int, shards: int = 16) -> None:
        self._ssl = httpx.create_ssl_context()  # one CA bundle load, shared by every shard
        keepalive = max(2, total_connections // shards)
        limits = httpx.Limits(max_connections=total_connections, max_keepalive_connections=keepalive)
        self._shards = [httpx.AsyncHTTPTransport(verify=self._ssl, limits=limits, http1=True, http2=False)
                        for _ in range(max(1, shards))]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = request.url.netloc  # host[:port] as bytes: the same host always lands in the same shard
        shard = self._shards[zlib.crc32(key) % len(self._shards)]
        return await shard.handle_async_request(request)

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()
