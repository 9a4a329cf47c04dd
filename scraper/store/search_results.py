"""What a search returns: results, pages and opaque keyset cursors.

A date-sorted cursor is the (date, id) of the last result shown, so the next page starts strictly
after it whatever was stored meanwhile. A relevance cursor is an offset into the ranked pool
(relevance is computed in Python from the matcher's hits, so both databases rank alike).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime

from scraper.store.tables import as_utc

SORTS = ("date", "relevance")


@dataclass
class SearchResult:
    id: int
    url: str
    title: str | None
    source: str
    published_at: str | None
    fetched_at: str
    story_id: int | None
    terms: list[str]
    snippet: str  # original text, hits wrapped in [[ ]]
    language: str | None = None
    outlets: int | None = None  # with stories=True: how many outlets carried the story
    score: float | None = None  # with sort="relevance"


@dataclass
class SearchPage:
    results: list[SearchResult] = field(default_factory=list)
    next_cursor: str | None = None


@dataclass(frozen=True)
class Cursor:
    sort: str
    date: datetime | None = None
    id: int = 0
    offset: int = 0


def iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


def encode_cursor(c: Cursor) -> str:
    data = {"s": c.sort, "d": iso(c.date), "i": c.id, "o": c.offset}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(text: str, sort: str) -> Cursor:
    """Parse a cursor made by :func:`encode_cursor`; ValueError if it is garbage or for another sort."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
        date = datetime.fromisoformat(data["d"].replace("Z", "+00:00")) if data["d"] else None
        c = Cursor(str(data["s"]), as_utc(date), int(data["i"]), int(data["o"]))
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise ValueError("invalid cursor") from exc
    if c.sort != sort or c.offset < 0:
        raise ValueError(f"cursor was made for sort={c.sort!r}, not {sort!r}")
    return c
