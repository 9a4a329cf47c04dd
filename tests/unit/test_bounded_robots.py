"""The robots.txt cache of a long run stays bounded (entries and their per-host locks) and keeps
answering right after it prunes."""

from __future__ import annotations

import asyncio

import pytest

from scraper.fetch import politeness
from scraper.fetch.politeness import HostLimiter, RobotsCache

LIMIT = 8
ROBOTS = b"User-agent: *\nDisallow: /private/\n"


def test_robots_cache_and_its_locks_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # A small host limit and answers that expire at once, so every prune can drop everything idle.
    monkeypatch.setattr(politeness, "MAX_HOSTS", LIMIT)
    monkeypatch.setattr(politeness, "ROBOTS_TTL", 0.0)
    asked: list[str] = []

    async def load(robots_url: str, _allow_private: bool) -> bytes:
        asked.append(robots_url)
        return ROBOTS

    async def run() -> tuple[RobotsCache, list[tuple[bool, bool]]]:
        cache = RobotsCache(load, "scraper-test", HostLimiter(2, 0.0))
        answers = []
        for i in range(20 * LIMIT):  # an aggregator feed linking to ever new hosts
            host = f"https://news{i}.example"
            answers.append((await cache.allowed(f"{host}/ar/2024/خبر.html", False),
                            await cache.allowed(f"{host}/private/x.html", False)))
            assert len(cache._entries) <= LIMIT
            assert len(cache._locks) <= LIMIT + 1
        return cache, answers

    cache, answers = asyncio.run(run())
    assert answers == [(True, False)] * (20 * LIMIT)  # the rules are applied after every prune
    assert len(asked) >= 20 * LIMIT  # each host's robots.txt was really read
    assert cache._locks  # pruning keeps working locks; it does not disable locking
