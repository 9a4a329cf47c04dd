"""The one HTTP client: polite (robots.txt, per-host limits), conditional (ETag/Last-Modified) and
hardened against hostile servers (SSRF via redirects, endless bodies, decompression bombs, slow drips).

Every fetch in the project goes through ``Fetcher.fetch``; it returns a FetchResult or raises one of the
FetchError subclasses in scraper.errors, never an httpx exception."""

from __future__ import annotations

import asyncio
import socket
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx

from scraper.config import Settings
from scraper.errors import (
    BadRedirect,
    Blocked,
    ConnectError,
    ContentTypeError,
    DecompressionBomb,
    DNSError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
)
from scraper.fetch.politeness import HostLimiter, RobotsCache, ShardedTransport, host_key
from scraper.fetch.safety import check_peer_address, check_url_safe
from scraper.schedule.policy import parse_retry_after

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ROBOTS_MAX_BYTES = 500 * 1024  # Google reads at most 500 KiB of a robots.txt; so do we
ERROR_BODY_BYTES = 64 * 1024  # enough of an error page to recognise an anti-bot wall
BOMB_RATIO = 100  # decoded/raw above this is not text compression, it is an attack
BOMB_MIN_BYTES = 1 << 20  # ... but only judged past 1 MiB: small repetitive bodies compress that well
DECODE_STEP = 256 * 1024  # largest piece BodyDecoder inflates at once
CONNECT_TIMEOUT = 10.0  # per phase; the whole fetch is also bounded by settings.fetch_timeout
_CHALLENGE_MARKERS = (b"<title>just a moment...", b"attention required! | cloudflare",
                      b"cf-browser-verification", b"cf_chl_opt")


@dataclass
class FetchResult:
    url: str  # final URL after redirects
    status: int  # 200, or 304 when not modified
    content: bytes  # b"" on 304
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    etag: str | None
    last_modified: str | None
    elapsed: float  # seconds, including waits for politeness slots

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class _Deadline:
    """Total time budget of one fetch, spent only while doing network work (DNS, connect, transfer).

    Time spent queueing for a per-host or global slot is not charged: a source with 50 new articles on
    one host queues them behind per_host_delay, and that wait must not turn into timeouts."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.remaining = seconds

    @asynccontextmanager
    async def running(self, url: str) -> AsyncIterator[None]:
        started = time.monotonic()
        try:
            async with asyncio.timeout(max(self.remaining, 0.0)):
                yield
        except TimeoutError as exc:
            raise FetchTimeout(f"no complete answer from {urlsplit(url).hostname} within "
                               f"{self.seconds:g}s: {url}", url) from exc
        finally:
            self.remaining -= time.monotonic() - started


class Fetcher:
    """Shared by the whole process (or one worker): limits are per Fetcher, so make one and reuse it."""

    def __init__(self, settings: Settings, *, global_concurrency: int = 32, per_host_concurrency: int = 2,
                 per_host_delay: float = 0.5, max_redirects: int = 5,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.max_redirects = max_redirects
        timeout = min(CONNECT_TIMEOUT, settings.fetch_timeout)
        self._client = httpx.AsyncClient(
            # Accept-Encoding is fixed to what BodyDecoder bounds; httpx would add br/zstd when installed.
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(timeout, pool=settings.fetch_timeout),
            follow_redirects=False,  # every hop is checked by check_url_safe first
            http1=True, http2=False,
            # No proxies or .netrc from the environment: a proxy would hide the peer address that the
            # SSRF check relies on, and local credentials must never be offered to source sites.
            trust_env=False,
            transport=transport or ShardedTransport(global_concurrency),
        )
        self._global = asyncio.Semaphore(max(1, global_concurrency))
        self._limiter = HostLimiter(per_host_concurrency, per_host_delay)
        self._robots = RobotsCache(self._load_robots, settings.user_agent, self._limiter)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    allow_private: bool | frozenset[str] = False, check_robots: bool = True,
                    accept: str | None = None) -> FetchResult:
        """GET ``url`` following up to max_redirects safe redirects. 304 when the validators match.

        ``allow_private``: True lets any URL resolve to a private address; a set of host names lets only
        those hosts do so (a source trusted on its own intranet host is not thereby trusted to send the
        daemon, by a link or a redirect, to any other private address)."""
        headers: dict[str, str] = {}
        if accept:
            headers["Accept"] = accept
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        allow: bool | frozenset[str] = True if self.settings.allow_private_networks else allow_private
        return await self._follow(url, headers, allow, self.settings.max_body_bytes, check_robots)

    async def _load_robots(self, robots_url: str, allow: bool) -> bytes:
        result = await self._follow(robots_url, {"Accept": "text/plain"}, allow, ROBOTS_MAX_BYTES, False)
        return result.content

    async def _follow(self, url: str, headers: dict[str, str], allow: bool | frozenset[str], max_bytes: int,
                      check_robots: bool) -> FetchResult:
        started = time.monotonic()
        deadline = _Deadline(self.settings.fetch_timeout)
        seen = {urldefrag(url).url}
        current = url
        for _hop in range(self.max_redirects + 1):
            hop_allow = private_allowed(allow, current)  # per hop: a redirect may leave the trusted host
            async with deadline.running(current):
                await check_url_safe(current, hop_allow)
            if check_robots and not await self._robots.allowed(current, hop_allow):
                raise RobotsDisallowed(f"robots.txt of {urlsplit(current).hostname} disallows {current}", url)
            answer = await self._hop(current, headers, hop_allow, max_bytes, deadline)
            if isinstance(answer, FetchResult):
                answer.elapsed = time.monotonic() - started
                return answer
            if answer in seen:
                raise TooManyRedirects(f"redirect loop: {current} redirects back to {answer}", url)
            seen.add(answer)
            current = answer
        raise TooManyRedirects(f"more than {self.max_redirects} redirects from {url} (last {current})", url)

    async def _hop(self, url: str, headers: dict[str, str], allow: bool, max_bytes: int,
                   deadline: _Deadline) -> FetchResult | str:
        """One request: a FetchResult, or the absolute URL a redirect points to."""
        async with self._limiter.slot(host_key(url)), self._global, deadline.running(url):
            try:
                request = self._client.build_request("GET", url, headers=headers)
                response = await self._client.send(request, stream=True)
                try:
                    return await self._answer(response, url, allow, max_bytes)
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                raise transport_error(exc, url) from exc

    async def _answer(self, response: httpx.Response, url: str, allow: bool,
                      max_bytes: int) -> FetchResult | str:
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        check_peer_address(peer[0] if peer else None, url, allow)
        status = response.status_code
        if status in REDIRECT_STATUSES:
            location = response.headers.get("location", "").strip()
            if not location:
                raise HTTPStatusError(f"HTTP {status} redirect without Location from {url}", url, status)
            try:
                return urldefrag(urljoin(url, location)).url
            except ValueError as exc:  # "http://[if lt IE 7]/": a bracketed host that is no IP address
                raise BadRedirect(f"HTTP {status} redirect to an invalid Location {location[:200]!r} from {url}: "
                                  f"{exc}", url) from None
        if status >= 300 and status != 304:
            body = await _read_body(response, url, ERROR_BODY_BYTES, truncate=True)
            raise _status_error(response, url, body)
        body = b"" if status == 304 else await _read_body(response, url, max_bytes)
        headers = dict(response.headers.items())
        return FetchResult(url=url, status=status, content=body, headers=headers, etag=headers.get("etag"),
                           last_modified=headers.get("last-modified"), elapsed=0.0)


def private_allowed(allow: bool | frozenset[str], url: str) -> bool:
    """Whether ``url`` may resolve to a private address under ``allow`` (True, False or trusted hosts)."""
    if isinstance(allow, bool):
        return allow
    host = urlsplit(url).hostname
    return host is not None and host.lower() in allow


async def _read_body(response: httpx.Response, url: str, limit: int, truncate: bool = False) -> bytes:
    """Stream the body, decoding it in bounded steps, and stop as soon as it passes ``limit`` decoded
    bytes (or raw bytes), or decodes at more than BOMB_RATIO times its size. With ``truncate`` the
    first ``limit`` bytes are returned instead of raising (error pages are only sniffed)."""
    declared = response.headers.get("content-length", "").strip()
    if not truncate and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"{url}: Content-Length {declared} exceeds the limit of {limit} bytes", url)
    decoder = BodyDecoder(response.headers.get("content-encoding", ""), url)
    parts: list[bytes] = []
    raw = size = 0
    async for chunk in response.aiter_raw():
        raw += len(chunk)
        for piece in decoder.feed(chunk):
            size += len(piece)
            if size > limit or raw > limit:
                if truncate:
                    return (b"".join(parts) + piece)[:limit]
                kind = DecompressionBomb if decoder.encoded else TooLarge
                raise kind(f"{url}: body exceeds the limit of {limit} bytes"
                           f"{' once decoded' if decoder.encoded else ''}", url)
            if size > BOMB_MIN_BYTES and size > BOMB_RATIO * raw:
                raise DecompressionBomb(f"{url}: {raw} compressed bytes decode to over {size}", url)
            parts.append(piece)
    if raw > limit:  # only raw bytes that decoded to nothing (e.g. junk after the gzip stream)
        raise TooLarge(f"{url}: body exceeds the limit of {limit} bytes", url)
    return b"".join(parts)


def _looks_like_challenge(response: httpx.Response, body: bytes) -> bool:
    if response.headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    head = body[:ERROR_BODY_BYTES].lower()
    return any(marker in head for marker in _CHALLENGE_MARKERS)


def _status_error(response: httpx.Response, url: str, body: bytes) -> FetchError:
    status = response.status_code
    if status in (403, 429, 503) and _looks_like_challenge(response, body):
        return Blocked(f"HTTP {status} anti-bot challenge instead of the page at {url}", url)
    retry_after = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
    reason = response.reason_phrase or ""
    return HTTPStatusError(f"HTTP {status} {reason} from {url}".replace("  ", " "), url, status, retry_after)


class BodyDecoder:
    """Content-Encoding decoding in bounded steps. httpx's own decoders inflate a whole network chunk at
    once, so 64 KiB of gzip could become 64 MiB in memory before any check ran; here each step yields at
    most DECODE_STEP bytes and the caller stops as soon as a limit is passed."""

    def __init__(self, encoding: str, url: str) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip().lower() not in ("", "identity")]
        self.url = url
        self.encoded = bool(codings)
        self._z: zlib._Decompress | None = None
        self._raw_deflate: bool | None = None  # "deflate" is zlib-wrapped per RFC, raw from some servers
        if codings in (["gzip"], ["x-gzip"]):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif codings != ["deflate"] and codings:
            raise ContentTypeError(f"{url}: unsupported Content-Encoding {encoding!r}", url)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self.encoded:
            if data:
                yield data
            return
        if self._z is None:  # deflate: decide zlib or raw from the first byte (zlib's CM nibble is 8)
            self._z = zlib.decompressobj(zlib.MAX_WBITS if data[:1] and data[0] & 0x0F == 8 else -zlib.MAX_WBITS)
        buf = data
        while buf:
            try:
                out = self._z.decompress(buf, DECODE_STEP)
            except zlib.error as exc:
                raise FetchError(f"{self.url}: body does not decode as its Content-Encoding says: {exc}",
                                 self.url) from exc
            buf = self._z.unconsumed_tail
            if out:
                yield out


def transport_error(exc: httpx.HTTPError, url: str) -> FetchError:
    """httpx's exception → ours, naming the host and the cause."""
    host = urlsplit(url).hostname or url
    cause = _root_cause(exc)
    if isinstance(exc, httpx.TimeoutException):
        return FetchTimeout(f"{host}: {type(exc).__name__} ({cause})", url)
    if isinstance(exc, httpx.ConnectError):
        if isinstance(cause, socket.gaierror) or "name resolution" in str(cause) or "not known" in str(cause):
            return DNSError(f"cannot resolve {host}: {cause}", url)
        return ConnectError(f"cannot connect to {host}: {cause}", url)
    if isinstance(exc, httpx.RemoteProtocolError) and "location header" in str(exc):
        return BadRedirect(f"{host}: redirect to an invalid Location: {exc}", url)  # httpx checks it first
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return ConnectError(f"connection to {host} broke: {cause}", url)
    return FetchError(f"{host}: {type(exc).__name__}: {cause}", url)


def _root_cause(exc: BaseException) -> BaseException | str:
    """The innermost cause (OSError, gaierror); its text or the exception's class name if it has none."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc if str(exc) else type(exc).__name__
