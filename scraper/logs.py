"""Structured logs: one event per line, JSON when not on a terminal, key=value text on one.

Use ``log_event("fetch.error", source=..., url=..., error_class=...)``; every event names what
happened and carries the source and URL it concerns. Libraries that log on their own (APScheduler) go
through the same handler, so the stream stays one JSON object per line."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

LOGGER = logging.getLogger("scraper")
# Loggers of libraries routed through our handler, and the level below which their records are dropped
# (APScheduler logs every job run at INFO: with a sub-second tick that would drown the real events).
# uvicorn runs with log_config=None and asyncio reports lost task exceptions: both would otherwise reach
# Python's last-resort handler and print plain text into the JSON stream.
LIBRARY_LOGGERS = {"apscheduler": logging.WARNING, "uvicorn": logging.WARNING, "asyncio": logging.WARNING}
# Library messages worth an event name of their own: format string → (event, names of its arguments).
_LIBRARY_EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    'Execution of job "%s" skipped: maximum number of running instances reached (%d)':
        ("scheduler.job_skipped", ("job", "max_instances")),
    'Run time of job "%s" was missed by %s': ("scheduler.job_missed", ("job", "late_by")),
    'Job "%s" raised an exception': ("scheduler.job_error", ("job",)),
    "Error running job %s": ("scheduler.job_error", ("job",)),
}


def _event_of(record: logging.LogRecord) -> tuple[str, dict[str, Any]]:
    """(event, fields) of a record: ours carry both; a library's record is named from its message."""
    if record.name == LOGGER.name or record.name.startswith(LOGGER.name + "."):
        return record.getMessage(), dict(getattr(record, "fields", {}))
    known = _LIBRARY_EVENTS.get(str(record.msg))
    args = record.args if isinstance(record.args, tuple) else ()
    if known is not None and len(args) == len(known[1]):
        # A job argument is APScheduler's Job; its id ("tick", "deliver") is what names it.
        return known[0], {k: getattr(v, "id", v) for k, v in zip(known[1], args, strict=True)}
    return "library.log", {"logger": record.name, "message": record.getMessage()}


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event, fields = _event_of(record)
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": event,
        }
        out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        event, values = _event_of(record)
        fields = " ".join(f"{k}={_quote(v)}" for k, v in values.items())
        line = f"{ts} {record.levelname:<7} {event} {fields}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _quote(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


def setup_logging(level: str | None = None, json_lines: bool | None = None) -> None:
    """Configure the root handler once. SCRAPER_LOG_LEVEL and SCRAPER_LOG_FORMAT=json|text override."""
    level = level or os.environ.get("SCRAPER_LOG_LEVEL", "INFO")
    fmt = os.environ.get("SCRAPER_LOG_FORMAT")
    if json_lines is None:
        json_lines = fmt == "json" or (fmt != "text" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JSONFormatter() if json_lines else _TextFormatter())
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(level.upper())
    LOGGER.propagate = False
    for name, floor in LIBRARY_LOGGERS.items():
        library = logging.getLogger(name)
        library.handlers[:] = [handler]
        library.setLevel(max(floor, LOGGER.level))
        library.propagate = False  # else Python's last-resort handler prints it again, as plain text


def log_event(event: str, level: int = logging.INFO, exc_info: bool | BaseException = False, **fields: Any) -> None:
    LOGGER.log(level, event, extra={"fields": fields}, exc_info=exc_info)
