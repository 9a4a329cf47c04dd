"""The web application: JSON API, HTML pages, feeds out and the ops endpoints, in one FastAPI app.

Access: open on loopback; when the server listens beyond it, every request except ``/healthz``
needs ``SCRAPER_API_TOKEN``, as a bearer token (API clients) or as the password of HTTP Basic
(browsers and feed readers can send that, not a bearer header). Refusing to build a public app
without a token is deliberate: a stored-news archive with alert rules is not for everyone.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException

from scraper.config import Config, Settings
from scraper.errors import ConfigError, QuerySyntaxError
from scraper.web import api, feeds, ops, pages

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
OPEN_PATHS = frozenset({"/healthz"})
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _presented_token(request: Request) -> bytes | None:
    """The token as raw bytes (headers arrive decoded as latin-1; tokens may be any UTF-8)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip().encode("latin-1", "replace")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip(), validate=True).partition(b":")[2]
        except binascii.Error:
            return None
    return None


def _error(request: Request, status: int, error: str, message: str, **extra: object) -> Response:
    if request.url.path.startswith(("/api", "/feeds")) or request.url.path in OPEN_PATHS:
        return JSONResponse({"error": error, "message": message, **extra}, status_code=status)
    return pages.error_page(request, status, message)


def _install_error_handlers(app: FastAPI) -> None:
    async def syntax(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, QuerySyntaxError)
        return _error(request, 400, "query_syntax", exc.message, position=exc.position)

    async def bad_value(request: Request, exc: Exception) -> Response:
        return _error(request, 400, "bad_request", str(exc))

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return _error(request, 422, "invalid_request", "invalid request parameters", detail=detail)

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        resp = _error(request, exc.status_code, "http_error", str(exc.detail))
        resp.headers.update(exc.headers or {})
        return resp

    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return _error(request, 500, "internal", "internal server error")

    app.add_exception_handler(QuerySyntaxError, syntax)
    app.add_exception_handler(ValueError, bad_value)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(Exception, crash)


def _install_guard(app: FastAPI, token: str | None) -> None:
    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if token is not None and request.url.path not in OPEN_PATHS:
            given = _presented_token(request)
            if given is None or not hmac.compare_digest(given, token.encode()):
                resp = _error(request, 401, "unauthorized", "a valid token is required")
                resp.headers["WWW-Authenticate"] = 'Bearer realm="scraper", Basic realm="scraper"'
                response = resp
            else:
                response = await call_next(request)
        else:
            response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response


def create_app(settings: Settings, config: Config, engine: Engine, *, host: str = "127.0.0.1",
               api_token: str | None = None,
               heartbeat: Callable[[], datetime | None] | None = None) -> FastAPI:
    """The app for a server bound to ``host``; ``api_token`` defaults to $SCRAPER_API_TOKEN and is
    required (ConfigError otherwise) unless ``host`` is a loopback address."""
    token = api_token if api_token is not None else (os.environ.get("SCRAPER_API_TOKEN") or None)
    if not is_loopback(host) and not token:
        raise ConfigError(f"listening on {host} needs SCRAPER_API_TOKEN (readers then send it as a bearer token)")
    app = FastAPI(title="scraper", summary="Stored Arabic news: search, stories, rules, alerts, sources.",
                  openapi_url="/api/openapi.json", docs_url="/api/docs", redoc_url=None)
    app.state.settings, app.state.config, app.state.engine = settings, config, engine
    app.state.ops = ops.Ops(engine=engine, heartbeat=heartbeat,
                            heartbeat_max_age=ops.heartbeat_max_age(settings.tick_seconds))
    _install_error_handlers(app)
    _install_guard(app, None if is_loopback(host) else token)
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(ops.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside someone else's event loop: the daemon owns the signal handlers."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None

    def capture_signals(self):  # type: ignore[no-untyped-def]  # uvicorn >= 0.29
        import contextlib

        return contextlib.nullcontext()


async def serve_web(app: FastAPI, host: str, port: int, stop_event: asyncio.Event) -> None:
    """Serve ``app`` until ``stop_event`` is set (for the daemon's event loop); then shut down cleanly."""
    server = _EmbeddedServer(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                                            lifespan="off"))
    task = asyncio.create_task(server.serve())
    stopper = asyncio.create_task(stop_event.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopper.cancel()
    await task  # re-raises if the server failed (port in use...)


def run_web(app: FastAPI, host: str, port: int) -> None:
    """Serve ``app`` in the foreground (``scraper web``)."""
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


__all__ = ["create_app", "is_loopback", "run_web", "serve_web"]
