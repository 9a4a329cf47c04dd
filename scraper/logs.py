"""Structured logs: one event per line, JSON when not on a terminal, key=value text on one.

Use ``log_event("fetch.error", source=..., url=..., error_class=...)``; every event names what
happened and carries the source and URL it concerns."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

LOGGER = logging.getLogger("scraper")


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        fields = " ".join(f"{k}={_quote(v)}" for k, v in getattr(record, "fields", {}).items())
        line = f"{ts} {record.levelname:<7} {record.getMessage()} {fields}".rstrip()
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


def log_event(event: str, level: int = logging.INFO, exc_info: bool = False, **fields: Any) -> None:
    LOGGER.log(level, event, extra={"fields": fields}, exc_info=exc_info)
