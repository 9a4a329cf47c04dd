"""Fetcher against a real loopback server that misbehaves on purpose (tests/integration/chaos_server.py).

Every case asserts the exact exception class or result. Timeouts are short (fetch_timeout 1 s) to keep
the module fast."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from scraper.config import Settings
from scraper.errors import (
    BadRedirect,
    Blocked,
    ConnectError,
    DecompressionBomb,
    DNSError,
    FetchTimeout,
    HTTPStatusError,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
    UnsafeURL,
)
from scraper.fetch import client as client_module
from scraper.fetch.client import Fetcher, FetchResult
from scraper.fetch.safety import check_url_safe
from tests.integration.chaos_server import (
    ChaosServer,
    big,
    drip,
    gzip_bomb,
    gzipped,
    hang,
    redirect,
    respond,
    running,
    slow,
    validators,
)


@pytest.fixture
def chaos() -> Iterator[ChaosServer]:
    with running() as server:
        yield server


SETTINGS = replace(Settings(), allow_private_networks=True, fetch_timeout=1.0, max_body_bytes=1_000_000)


def run_fetch(url: str, settings: Settings = SETTINGS, **kwargs: object) -> FetchResult:
    """One fetch with a fresh Fetcher (no per-host delay unless the test is about it)."""
    fetcher_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in ("per_host_delay", "max_redirects")}
    fetcher_kw.setdefault("per_host_delay", 0.0)

    async def go() -> FetchResult:
        async with Fetcher(settings, **fetcher_kw) as fetcher:  # type: ignore[arg-type]
            return await fetcher.fetch(url, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


# --- success, conditional GET ---------------------------------------------------------------------

def test_200_carries_body_validators_and_lower_case_headers(chaos: ChaosServer) -> None:
    url = chaos.route("/feed", validators(b"<rss/>", etag='"v1"'))
    result = run_fetch(url, accept="application/rss+xml")
    assert (result.status, result.content, result.url) == (200, b"<rss/>", url)
    assert result.etag == '"v1"' and result.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert result.headers["content-type"] == "application/rss+xml"
    assert not result.not_modified and result.elapsed > 0
    sent = chaos.headers_seen[-1]
    assert sent["user-agent"] == SETTINGS.user_agent
    assert sent["accept"] == "application/rss+xml"
    assert "if-none-match" not in sent


@pytest.mark.parametrize("validator", [{"etag": '"v1"'}, {"last_modified": "Mon, 01 Jan 2024 00:00:00 GMT"}])
def test_conditional_get_gives_304(chaos: ChaosServer, validator: dict[str, str]) -> None:
    url = chaos.route("/feed", validators(b"<rss/>", etag='"v1"'))
    result = run_fetch(url, **validator)
    assert (result.status, result.content, result.not_modified) == (304, b"", True)


def test_stale_etag_gets_the_full_body(chaos: ChaosServer) -> None:
    url = chaos.route("/feed", validators(b"<rss>new</rss>", etag='"v2"'))
    result = run_fetch(url, etag='"v1"')
    assert (result.status, result.content, result.etag) == (200, b"<rss>new</rss>", '"v2"')


def test_gzip_body_is_decoded(chaos: ChaosServer) -> None:
    url = chaos.route("/gz", gzipped("خبر عاجل ".encode() * 500))
    assert run_fetch(url).content == "خبر عاجل ".encode() * 500


# --- status errors and anti-bot walls -------------------------------------------------------------

def test_429_retry_after_seconds(chaos: ChaosServer) -> None:
    url = chaos.route("/limited", respond(429, b"slow down", {"Retry-After": "120"}))
    with pytest.raises(HTTPStatusError) as info:
        run_fetch(url)
    assert (info.value.status, info.value.retry_after, info.value.url) == (429, 120.0, url)


def test_503_retry_after_http_date(chaos: ChaosServer) -> None:
    when = datetime.now(UTC) + timedelta(seconds=600)
    url = chaos.route("/down", respond(503, b"maintenance", {"Retry-After": format_datetime(when, usegmt=True)}))
    with pytest.raises(HTTPStatusError) as info:
        run_fetch(url)
    assert info.value.status == 503
    assert info.value.retry_after is not None and 595 <= info.value.retry_after <= 600


def test_500_has_no_retry_after(chaos: ChaosServer) -> None:
    url = chaos.route("/boom", respond(500, b"oops"))
    with pytest.raises(HTTPStatusError) as info:
        run_fetch(url)
    assert (type(info.value), info.value.status, info.value.retry_after) == (HTTPStatusError, 500, None)


CHALLENGE = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>cf_chl_opt</body></html>"


@pytest.mark.parametrize(("status", "body", "headers"), [
    (503, CHALLENGE, {}),
    (403, b"<title>Attention Required! | Cloudflare</title>", {}),
    (403, b"<html></html>", {"cf-mitigated": "challenge"}),
])
def test_anti_bot_wall_is_blocked(chaos: ChaosServer, status: int, body: bytes, headers: dict[str, str]) -> None:
    url = chaos.route("/wall", respond(status, body, headers))
    with pytest.raises(Blocked):
        run_fetch(url)


def test_plain_403_is_a_status_error_not_blocked(chaos: ChaosServer) -> None:
    url = chaos.route("/forbidden", respond(403, b"<title>Forbidden</title>"))
    with pytest.raises(HTTPStatusError) as info:
        run_fetch(url)
    assert info.value.status == 403


# --- redirects ------------------------------------------------------------------------------------

def test_redirect_chain_within_limit_reports_final_url(chaos: ChaosServer) -> None:
    for i in range(5):
        chaos.route(f"/r{i}", redirect(f"/r{i + 1}" if i % 2 else chaos.url(f"/r{i + 1}"), 301 + i % 2))
    final = chaos.route("/r5", respond(200, b"here"))
    result = run_fetch(chaos.url("/r0"), max_redirects=5)
    assert (result.url, result.content) == (final, b"here")


def test_too_long_redirect_chain(chaos: ChaosServer) -> None:
    for i in range(7):
        chaos.route(f"/r{i}", redirect(f"/r{i + 1}"))
    chaos.route("/r7", respond(200, b"never reached"))
    with pytest.raises(TooManyRedirects, match="more than 5 redirects"):
        run_fetch(chaos.url("/r0"), max_redirects=5)
    assert chaos.hits["/r7"] == 0 and chaos.hits["/r5"] == 1


def test_redirect_loop_is_detected(chaos: ChaosServer) -> None:
    chaos.route("/a", redirect("/b"))
    chaos.route("/b", redirect("/a"))
    with pytest.raises(TooManyRedirects, match="loop"):
        run_fetch(chaos.url("/a"), max_redirects=20)
    assert chaos.hits["/a"] == 1 and chaos.hits["/b"] == 1


def test_redirect_to_an_unparseable_location_is_a_redirect_error(chaos: ChaosServer) -> None:
    """A bracketed host that is no IP address: httpx refuses it while building the next request (and urljoin
    raises ValueError); it is a ``redirects`` error naming the URL, not "connection broke"."""
    url = chaos.route("/start", redirect("http://[if lt IE 7]/news/1"))
    with pytest.raises(BadRedirect, match="invalid Location") as info:
        run_fetch(url)
    assert info.value.url == url and info.value.error_class == "redirects"


@pytest.mark.parametrize("target", ["file:///etc/passwd", "http://user:secret@127.0.0.1/"])
def test_redirect_to_forbidden_url_is_refused_even_when_private_allowed(chaos: ChaosServer, target: str) -> None:
    url = chaos.route("/start", redirect(target))
    with pytest.raises(UnsafeURL):
        run_fetch(url)


@pytest.fixture
def origin_is_public(monkeypatch: pytest.MonkeyPatch, chaos: ChaosServer) -> None:
    """Treat the chaos server's own origin as if it were a public site, so a test can start there with
    private networks disallowed. Every other URL still goes through the real checks: this stands in for
    having a public server in the test, nothing more."""
    origin = chaos.url("")

    async def check(url: str, allow_private: bool) -> None:
        if not url.startswith(origin + "/"):
            await check_url_safe(url, allow_private)

    def peer(peer_ip: str | None, url: str, allow_private: bool) -> None:
        if not url.startswith(origin + "/"):
            real_peer(peer_ip, url, allow_private)

    real_peer = client_module.check_peer_address
    monkeypatch.setattr(client_module, "check_url_safe", check)
    monkeypatch.setattr(client_module, "check_peer_address", peer)


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin",
                                    "http://[::1]:8080/", "http://2130706433/"])
def test_redirect_to_private_address_is_refused(chaos: ChaosServer, origin_is_public: None, target: str) -> None:
    url = chaos.route("/start", redirect(target))
    with pytest.raises(UnsafeURL, match="not a public address"):
        run_fetch(url, settings=replace(SETTINGS, allow_private_networks=False))
    assert chaos.hits["/start"] == 1  # the first hop was fetched; the redirect target was not


def test_private_url_refused_when_not_allowed(chaos: ChaosServer) -> None:
    url = chaos.route("/feed", respond(200, b"x"))
    with pytest.raises(UnsafeURL):
        run_fetch(url, settings=replace(SETTINGS, allow_private_networks=False))
    assert run_fetch(url, settings=replace(SETTINGS, allow_private_networks=False), allow_private=True).status == 200
    assert chaos.hits["/feed"] == 1


def test_private_allowed_for_named_hosts_only_redirects_included(chaos: ChaosServer) -> None:
    """allow_private as a set of hosts (a source's own): that host may be private, a redirect from it
    to another private host is refused before any request reaches it."""
    strict = replace(SETTINGS, allow_private_networks=False)
    chaos.route("/target", respond(200, b"inside"))
    url = chaos.route("/start", redirect(chaos.url("/target", host="localhost")))
    assert run_fetch(chaos.url("/target"), settings=strict, allow_private=frozenset({"127.0.0.1"})).status == 200
    with pytest.raises(UnsafeURL, match="localhost resolves to"):
        run_fetch(url, settings=strict, allow_private=frozenset({"127.0.0.1"}))
    assert (chaos.hits["/start"], chaos.hits["/target"]) == (1, 1)  # the redirect target: only the direct fetch
    assert run_fetch(url, settings=strict, allow_private=frozenset({"127.0.0.1", "localhost"})).content == b"inside"


def test_connection_to_private_peer_refused_after_dns_check(chaos: ChaosServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name looked public when checked, but the connection reached loopback."""

    async def fooled(url: str, allow_private: bool) -> None:
        return None

    monkeypatch.setattr(client_module, "check_url_safe", fooled)
    url = chaos.route("/feed", respond(200, b"secret"))
    with pytest.raises(UnsafeURL, match=r"connected to non-public address 127\.0\.0\.1"):
        run_fetch(url, settings=replace(SETTINGS, allow_private_networks=False), check_robots=False)


# --- hostile timing -------------------------------------------------------------------------------

@pytest.mark.parametrize("route", [drip(total=100, every=0.2), hang()], ids=["drip", "hang"])
def test_slow_or_silent_server_times_out_within_deadline(chaos: ChaosServer, route: object) -> None:
    url = chaos.route("/slow", route)  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        run_fetch(url, check_robots=False)
    assert time.monotonic() - started < SETTINGS.fetch_timeout + 0.5


def test_dns_failure() -> None:
    with pytest.raises(DNSError, match=r"no-such-host\.invalid"):
        run_fetch("http://no-such-host.invalid/feed", check_robots=False)


def test_connection_refused() -> None:
    with socket.socket() as s:  # a port that was just free and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectError, match=r"cannot connect to 127\.0\.0\.1"):
        run_fetch(f"http://127.0.0.1:{port}/feed", check_robots=False)


# --- size limits ----------------------------------------------------------------------------------

@pytest.mark.parametrize("content_length", [True, False], ids=["with-length", "without-length"])
def test_oversized_body(chaos: ChaosServer, content_length: bool) -> None:
    url = chaos.route("/big", big(3_000_000, content_length=content_length))
    with pytest.raises(TooLarge) as info:
        run_fetch(url)
    assert type(info.value) is TooLarge


def test_body_at_the_limit_is_accepted(chaos: ChaosServer) -> None:
    url = chaos.route("/exact", big(SETTINGS.max_body_bytes, content_length=False))
    assert len(run_fetch(url).content) == SETTINGS.max_body_bytes


@pytest.mark.parametrize(("decoded", "limit", "message"), [
    (5_000_000, 500_000, "exceeds the limit of 500000 bytes once decoded"),  # past the size cap
    (5_000_000, 10_000_000, "compressed bytes decode to over"),  # under the cap, caught by the ratio
], ids=["past-limit", "ratio"])
def test_gzip_bomb(chaos: ChaosServer, decoded: int, limit: int, message: str) -> None:
    url = chaos.route("/bomb", gzip_bomb(decoded))
    with pytest.raises(DecompressionBomb, match=message):
        run_fetch(url, settings=replace(SETTINGS, max_body_bytes=limit))


def test_well_compressed_page_under_the_ratio_is_accepted(chaos: ChaosServer) -> None:
    page = "".join(f"<p>خبر رقم {i} عن الاقتصاد والسياسة</p>" for i in range(20_000)).encode()
    url = chaos.route("/page", gzipped(page))
    assert run_fetch(url, settings=replace(SETTINGS, max_body_bytes=10_000_000)).content == page


# --- robots.txt -----------------------------------------------------------------------------------

ROBOTS = b"User-agent: *\nDisallow: /private\n"


def test_robots_disallowed_path(chaos: ChaosServer) -> None:
    chaos.route("/robots.txt", respond(200, ROBOTS, {"Content-Type": "text/plain"}))
    chaos.route("/private/feed", respond(200, b"x"))
    chaos.route("/public/feed", respond(200, b"ok"))

    async def go() -> None:
        async with Fetcher(SETTINGS, per_host_delay=0) as f:
            with pytest.raises(RobotsDisallowed):
                await f.fetch(chaos.url("/private/feed"))
            assert (await f.fetch(chaos.url("/public/feed"))).content == b"ok"
            assert (await f.fetch(chaos.url("/private/feed"), check_robots=False)).content == b"x"

    asyncio.run(go())
    assert chaos.hits["/robots.txt"] == 1  # cached per host
    assert chaos.hits["/private/feed"] == 1  # only the check_robots=False fetch reached it


def test_robots_checked_on_redirect_target(chaos: ChaosServer) -> None:
    chaos.route("/robots.txt", respond(200, ROBOTS))
    url = chaos.route("/go", redirect("/private/x"))
    with pytest.raises(RobotsDisallowed):
        run_fetch(url)


@pytest.mark.parametrize("robots", [respond(404, b"none"), respond(500, b"broken"), hang()],
                         ids=["404", "500", "unreachable"])
def test_unavailable_robots_allows(chaos: ChaosServer, robots: object) -> None:
    chaos.route("/robots.txt", robots)  # type: ignore[arg-type]
    url = chaos.route("/private/feed", respond(200, b"ok"))
    assert run_fetch(url).content == b"ok"


# --- politeness -----------------------------------------------------------------------------------

def _fetch_many(urls: list[str], **fetcher_kw: object) -> list[FetchResult]:
    async def go() -> list[FetchResult]:
        async with Fetcher(SETTINGS, **fetcher_kw) as f:  # type: ignore[arg-type]
            return await asyncio.gather(*(f.fetch(u, check_robots=False) for u in urls))

    return asyncio.run(go())


def test_per_host_concurrency_cap(chaos: ChaosServer) -> None:
    url = chaos.route("/slow", slow(b"x", 0.15))
    results = _fetch_many([url] * 8, per_host_concurrency=2, per_host_delay=0.0)
    assert [r.status for r in results] == [200] * 8
    assert chaos.peak == 2


def test_global_concurrency_cap(chaos: ChaosServer) -> None:
    url = chaos.route("/slow", slow(b"x", 0.15))
    _fetch_many([url] * 8, global_concurrency=3, per_host_concurrency=8, per_host_delay=0.0)
    assert chaos.peak == 3


def test_per_host_delay_spaces_request_starts(chaos: ChaosServer) -> None:
    url = chaos.route("/feed", respond(200, b"x"))
    started = time.monotonic()
    _fetch_many([url] * 4, per_host_concurrency=4, per_host_delay=0.1)
    assert time.monotonic() - started >= 0.3  # starts at 0, 0.1, 0.2, 0.3
    assert chaos.hits["/feed"] == 4


def test_robots_crawl_delay_raises_host_delay(chaos: ChaosServer) -> None:
    chaos.route("/robots.txt", respond(200, b"User-agent: *\nCrawl-delay: 0.2\n"))
    url = chaos.route("/feed", respond(200, b"x"))

    async def go() -> float:
        async with Fetcher(SETTINGS, per_host_delay=0.0, per_host_concurrency=4) as f:
            await f.fetch(url)  # robots + page
            t0 = time.monotonic()
            await asyncio.gather(*(f.fetch(url) for _ in range(3)))
            return time.monotonic() - t0

    assert asyncio.run(go()) >= 0.55
