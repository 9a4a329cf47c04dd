"""Checks that run on raw bytes before any XML parser sees them.

Feed and sitemap bodies come from servers we do not control. The parsers we use are configured not to
fetch external entities (lxml: ``resolve_entities=False``, no network; feedparser: sax with
``feature_external_ges`` off), but entity *expansion* (billion laughs) and parser quirks are a moving
target across library versions. So we refuse, up front, every document whose prolog declares entities:
no news feed needs them, and refusing is cheaper and surer than trusting each parser's defences.
"""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass

from scraper.errors import ParseError

GZIP_MAGIC = b"\x1f\x8b"
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024  # sitemaps.org caps an uncompressed sitemap at 50 MB

_WS = b" \t\r\n"
_NAME = re.compile(rb"[A-Za-z_:][-\w.:]*")
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+([^\s\[>]+)[^\[>]*", re.IGNORECASE)
_SUBSET_END = re.compile(rb"\]\s*>")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_ENCODING_DECL = re.compile(rb"\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})")


@dataclass(frozen=True)
class Prolog:
    """What precedes the root element: enough to tell a feed from an HTML page or hostile XML."""

    root: str | None  # local name of the first element, lower-cased; None if none was found
    doctype: str | None  # the DOCTYPE's root name, lower-cased
    declares_entities: bool
    first_char: str  # first non-space character of the document ("" if empty)
    hidden_encoding: str | None = None  # a declared encoding (UTF-7, EBCDIC) in which "<!ENTITY" is not ASCII


def _hidden_encoding(data: bytes) -> str | None:
    """UTF-7 writes "<" as "+ADw-": a byte scan would miss a DOCTYPE that a parser later decodes."""
    m = _ENCODING_DECL.match(data)
    if m is None:
        return None
    name = m.group(1).decode("ascii")
    try:
        probe = "<!ENTITY".encode(name)
    except (LookupError, UnicodeError):
        return None  # a name Python does not know; parsers will not know it either and fall back
    canonical = codecs.lookup(name).name
    if canonical.startswith(("utf-16", "utf-32")):
        return None  # transcoded by _as_utf8_for_scan before we got here
    # UTF-7 may write "<" directly or as "+ADw-", so an ASCII probe does not reveal it.
    return name if canonical == "utf-7" or probe != b"<!ENTITY" else None


def gunzip_capped(body: bytes, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """Decompress a gzip body, refusing to inflate past ``limit`` bytes (a gzip bomb)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ParseError(f"corrupt gzip body: {exc}") from exc
    if len(out) > limit:
        raise ParseError(f"gzip body inflates past {limit} bytes; refused as a possible gzip bomb")
    if not inflater.eof:
        raise ParseError("truncated gzip body")
    return out


def maybe_gunzip(body: bytes) -> bytes:
    return gunzip_capped(body) if body.startswith(GZIP_MAGIC) else body


def _as_utf8_for_scan(body: bytes) -> bytes:
    """UTF-16/32 documents hide ``<!ENTITY`` from a byte scan; transcode them so the scan sees it."""
    head = body[:4]
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
    )
    for bom, enc in boms:
        if head.startswith(bom):
            return body.decode(enc, errors="replace").encode("utf-8")
    unmarked = {b"\x00\x00\x00<": "utf-32-be", b"<\x00\x00\x00": "utf-32-le",
                b"\x00<\x00?": "utf-16-be", b"<\x00?\x00": "utf-16-le"}
    if head in unmarked:
        return body.decode(unmarked[head], errors="replace").encode("utf-8")
    return body[3:] if body.startswith(codecs.BOM_UTF8) else body


def _skip_ws(data: bytes, pos: int) -> int:
    n = len(data)
    while pos < n and data[pos] in _WS:
        pos += 1
    return pos


def _skip_past(data: bytes, pos: int, end_marker: bytes) -> int:
    end = data.find(end_marker, pos)
    return len(data) if end < 0 else end + len(end_marker)


def inspect_prolog(body: bytes) -> Prolog:
    """Walk the XML declaration, comments, processing instructions and DOCTYPE up to the root element."""
    data = _as_utf8_for_scan(body)
    pos = _skip_ws(data, 0)
    first = data[pos:pos + 1].decode("latin-1")
    hidden = _hidden_encoding(data)
    doctype, entities = None, False
    while pos < len(data):
        pos = _skip_ws(data, pos)
        if data.startswith(b"<?", pos):
            pos = _skip_past(data, pos, b"?>")
        elif data.startswith(b"<!--", pos):
            pos = _skip_past(data, pos, b"-->")
        elif data[pos:pos + 9].upper() == b"<!DOCTYPE":
            pos, doctype, entities = _read_doctype(data, pos)
        elif data.startswith(b"<", pos):
            m = _NAME.match(data, pos + 1)
            root = m.group(0).decode("latin-1").split(":")[-1].lower() if m else None
            return Prolog(root, doctype, entities, first, hidden)
        else:
            break  # text before any element: JSON, binary, or plain garbage
    return Prolog(None, doctype, entities, first, hidden)


def _read_doctype(data: bytes, pos: int) -> tuple[int, str, bool]:
    m = _DOCTYPE.match(data, pos)
    if m is None:
        return _skip_past(data, pos, b">"), "", False
    name = m.group(1).decode("latin-1").lower()
    end = m.end()
    if data.startswith(b"[", end):
        close = _SUBSET_END.search(data, end)
        stop = len(data) if close is None else close.end()
        # Any ENTITY declaration, general or parameter (%), is refused: see the module docstring.
        return stop, name, _ENTITY_DECL.search(data, end, stop) is not None
    return _skip_past(data, end, b">"), name, False


def refuse_entities(prolog: Prolog, what: str) -> None:
    """ParseError if the prolog declares entities, or if its declared encoding could hide them."""
    if prolog.hidden_encoding:
        raise ParseError(
            f"{what} refused: declared encoding {prolog.hidden_encoding!r} is not ASCII-compatible, "
            "so markup in it cannot be checked before parsing"
        )
    if prolog.declares_entities:
        raise ParseError(
            f"{what} refused: its DOCTYPE declares ENTITY definitions "
            "(possible XXE or entity-expansion attack)"
        )
