"""Bytes → text for HTML pages, built for Arabic sites that still serve windows-1256 or ISO-8859-6,
lie in their Content-Type header, or ship UTF-8 that was once decoded as cp1252 ("Ø§Ù„").

Order: BOM, then the HTTP header, then <meta charset>/http-equiv anywhere in <head>, then a
detector. A declared single-byte charset is overruled when the bytes are valid UTF-8 with non-ASCII
content: legacy single-byte text almost never validates as UTF-8, while mislabelled UTF-8 is common.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_HEAD_END = re.compile(rb"</head\s*>|<body\b", re.I)
_HEAD_LIMIT = 512 * 1024  # no </head>: scan this much; a charset declared later is not one we trust
# WHATWG: pages labelled latin-1/ascii are decoded as windows-1252 by every browser.
_ALIASES = {"latin1": "cp1252", "iso8859_1": "cp1252", "ascii": "cp1252", "iso8859_6": "iso8859_6"}
_NAMES = {"utf_8": "utf-8", "cp1256": "windows-1256", "iso8859_6": "iso-8859-6", "cp1252": "windows-1252"}
_SINGLE_BYTE_ARABIC = ("cp1256", "iso8859_6")

# Mojibake: UTF-8 Arabic (lead bytes D8-DB) read as cp1252/latin-1 shows as Ø Ù Ú Û followed by a
# character from the continuation range 0x80-0xBF as cp1252/latin-1 renders it.
_CP1252_HIGH = bytes(range(0x80, 0xA0)).decode("cp1252", errors="replace")
_CONT = "\u0080-\u00bf" + "".join(c for c in _CP1252_HIGH if c != "\ufffd")
_MOJIBAKE_RUN = re.compile(f"(?:[\u00d8-\u00db][{_CONT}]|[\u00c2-\u00df][{_CONT}]|[\u00e0-\u00ef][{_CONT}]{{2}})+")
# The hint: Ø or Ù (lead bytes of most Arabic letters) followed by a continuation character.
_CONT_CHARS = frozenset(chr(c) for c in range(0x80, 0xC0)) | frozenset(c for c in _CP1252_HIGH if c != "\ufffd")
_TO_BYTE = {ord(c): i + 0x80 for i, c in enumerate(_CP1252_HIGH) if c != "\ufffd"}
_ARABIC = re.compile("[\u0600-\u06ff]")


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode an HTML page; returns (text, encoding used)."""
    if not body:
        return "", "utf-8"
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(name, errors="replace"), name
    declared = _codec(_header_charset(content_type)) or _codec(_meta_charset(body))
    if declared in ("utf_16_le", "utf_16_be", "utf_16"):
        declared = None  # a UTF-16 label on ASCII-compatible bytes is wrong (WHATWG says so too)
    # The common case (UTF-8, declared or not) is decoded once and that text kept; the checks below
    # used to decode the whole page strictly and then again with errors="replace".
    text = _strict_utf8(body) if declared == "utf_8" or not body.isascii() else None
    if text is not None or (declared != "utf_8" and _is_utf8(body)):
        codec = "utf_8"
    elif declared and _decodes(body, declared):
        codec = declared
    else:
        codec = _detect(body)
    if text is None:
        text = body.decode(codec, errors="replace")
    if has_mojibake(text):
        text, _ = repair_mojibake(text)
    return text, _NAMES.get(codec, codec.replace("_", "-"))


def has_mojibake(text: str) -> bool:
    """Whether ``text`` may hold UTF-8 Arabic decoded as cp1252/latin-1 (then repair_mojibake is worth
    its cost). str.find runs in C: a regex search for the same pair took 8 ms on a 550 kB page."""
    if text.isascii():  # O(1): CPython records it when the string is built
        return False
    for lead in ("\u00d8", "\u00d9"):
        i = text.find(lead)
        while i != -1:
            if text[i + 1 : i + 2] in _CONT_CHARS:
                return True
            i = text.find(lead, i + 1)
    return False


def repair_mojibake(text: str) -> tuple[str, bool]:
    """Undo UTF-8 Arabic that was decoded as cp1252/latin-1. Returns (text, whether anything changed).

    Only runs that decode as strict UTF-8 *and* yield Arabic are replaced, so genuine Latin-1 text
    such as "Øresund" or "café" is left alone."""
    changed = False

    def fix(m: re.Match[str]) -> str:
        nonlocal changed
        run = m.group(0)
        try:
            fixed = bytes(_TO_BYTE.get(ord(c), ord(c)) for c in run).decode("utf-8")
        except (UnicodeDecodeError, ValueError):
            return run
        if not _ARABIC.search(fixed):
            return run
        changed = True
        return fixed

    repaired = _MOJIBAKE_RUN.sub(fix, text)
    return repaired, changed


def _header_charset(content_type: str | None) -> str | None:
    m = _HEADER_CHARSET.search(content_type or "")
    return m.group(1) if m else None


def _meta_charset(body: bytes) -> str | None:
    end = _HEAD_END.search(body, 0, _HEAD_LIMIT)
    m = _META_CHARSET.search(body, 0, end.start() if end else _HEAD_LIMIT)
    return m.group(1).decode("ascii", "ignore") if m else None


def _codec(label: str | None) -> str | None:
    """A label from a page → Python codec name, or None if unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name.replace("-", "_")
    except LookupError:
        return None
    return _ALIASES.get(name, name)


def _strict_utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _is_utf8(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A page truncated mid-character, or with a stray byte deep in a script, is still UTF-8.
        return exc.start >= len(body) - 3 or _mostly_utf8(body)
    return True


def _mostly_utf8(body: bytes) -> bool:
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    return bad <= 8 and bad * 50 < sum(1 for c in text if ord(c) > 127)


def _decodes(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return codec not in _SINGLE_BYTE_ARABIC and codec != "utf_8"  # those get a second opinion
    return True


def _detect(body: bytes) -> str:
    """Undeclared or wrongly declared legacy bytes: try the Arabic code pages first (our domain),
    pick the one whose high bytes come out as Arabic letters, else ask charset-normalizer."""
    high = [b for b in body if b > 127][:4000]
    best, best_ratio = "", 0.0
    for codec in _SINGLE_BYTE_ARABIC:
        try:
            chars = bytes(high).decode(codec)
        except UnicodeDecodeError:
            continue  # ISO-8859-6 leaves many bytes unassigned, so windows-1256 text fails here
        ratio = len(_ARABIC.findall(chars)) / max(1, len(chars))
        if ratio > best_ratio:
            best, best_ratio = codec, ratio
    if best and best_ratio >= 0.8:
        return best
    guess = from_bytes(body[:200_000]).best()
    return _codec(guess.encoding) if guess else "utf_8"
