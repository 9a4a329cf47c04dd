"""A hostile-on-demand HTTP server on 127.0.0.1 for tests: threaded, random port, routes set per test.

    server = ChaosServer().start()
    server.route("/feed", validators(b"<rss/>", etag='"v1"'))
    url = server.url("/feed")
    ...
    server.stop()

A route is a function of the request handler that writes the whole answer itself, so a route can also
misbehave (drip bytes, hang, lie about its length). Factories for the common answers are below. The
server counts hits per path and the peak number of requests it served at once (``peak``).

Use ``running()`` (a context manager) from a fixture, or ChaosServer directly.
"""

from __future__ import annotations

import gzip
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[["ChaosHandler"], None]


class ChaosHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers; Content-Length or close ends a body
    disable_nagle_algorithm = True  # headers and body are separate writes; Nagle would add ~40 ms each
    server: _Server

    def do_GET(self) -> None:
        chaos = self.server.chaos
        path = self.path.split("?", 1)[0]
        route = chaos.routes.get(path)
        chaos.enter(path, self)
        try:
            if route is None:
                send(self, 404, b"not found")
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeouts, size limits): that is what many tests provoke
        finally:
            chaos.leave()

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    chaos: ChaosServer

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up on purpose (size limit, timeout) resets the socket; not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class ChaosServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.headers_seen: list[dict[str, str]] = []
        self.stopping = threading.Event()
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._httpd = _Server((host, 0), ChaosHandler)
        self._httpd.chaos = self
        self.port = self._httpd.server_address[1]
        # A short poll interval makes stop() quick (serve_forever checks for shutdown that often).
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    def start(self) -> ChaosServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # releases hanging and dripping routes
        self._httpd.shutdown()
        self._httpd.server_close()

    def route(self, path: str, handler: Route) -> str:
        self.routes[path] = handler
        return self.url(path)

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def enter(self, path: str, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.hits[path] += 1
            self.headers_seen.append({k.lower(): v for k, v in handler.headers.items()})
            self.active += 1
            self.peak = max(self.peak, self.active)

    def leave(self) -> None:
        with self._lock:
            self.active -= 1


def send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"",
         headers: dict[str, str] | None = None) -> None:
    h.send_response(status)
    hdrs = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body)), **(headers or {})}
    for name, value in hdrs.items():
        h.send_header(name, value)
    h.end_headers()
    h.wfile.write(body)


def respond(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Route:
    return lambda h: send(h, status, body, headers)


def validators(body: bytes, etag: str = '"v1"', last_modified: str = "Mon, 01 Jan 2024 00:00:00 GMT") -> Route:
    """200 with ETag and Last-Modified; 304 when If-None-Match or If-Modified-Since match."""

    def route(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == etag or h.headers.get("If-Modified-Since") == last_modified:
            send(h, 304, b"", {"ETag": etag, "Content-Length": "0"})
        else:
            send(h, 200, body, {"ETag": etag, "Last-Modified": last_modified, "Content-Type": "application/rss+xml"})

    return route


def redirect(to: str, status: int = 302) -> Route:
    return respond(status, b"", {"Location": to})


def drip(total: int = 100, every: float = 1.0) -> Route:
    """Announce ``total`` bytes, then send one byte per ``every`` seconds: no read ever times out."""

    def route(h: ChaosHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(total))
        h.end_headers()
        for _ in range(total):
            h.wfile.write(b"x")
            h.wfile.flush()
            if h.server.chaos.stopping.wait(every):
                return

    return route


def hang() -> Route:
    """Accept the request and never answer (until the server stops)."""
    return lambda h: h.server.chaos.stopping.wait(30)


def big(size: int, content_length: bool = True, chunk: int = 64 * 1024) -> Route:
    """``size`` bytes of body, announced with Content-Length or sent until the connection closes."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        if content_length:
            h.send_header("Content-Length", str(size))
        else:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        sent = 0
        while sent < size:
            n = min(chunk, size - sent)
            h.wfile.write(b"a" * n)
            sent += n

    return route


def gzip_bomb(decoded_size: int) -> Route:
    """A gzip body of zeros: a few KiB on the wire, ``decoded_size`` bytes once inflated."""
    payload = gzip.compress(b"\0" * decoded_size, compresslevel=9)
    return respond(200, payload, {"Content-Encoding": "gzip"})


def gzipped(body: bytes) -> Route:
    return respond(200, gzip.compress(body), {"Content-Encoding": "gzip"})


def slow(body: bytes, seconds: float) -> Route:
    """Answer after ``seconds``: keeps requests in flight so concurrency can be counted."""

    def route(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        send(h, 200, body)

    return route


@contextmanager
def running() -> Iterator[ChaosServer]:
    """A started server, stopped on exit. In a test module: ``@pytest.fixture def chaos(): with running()
    as s: yield s`` (a fixture imported from here would trip ruff's redefinition check)."""
    server = ChaosServer().start()
    try:
        yield server
    finally:
        server.stop()
