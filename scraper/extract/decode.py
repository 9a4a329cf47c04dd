"""Bytes → text for HTML pages, built for Arabic sites that still serve windows-1256 or ISO-8859-6,
lie in their Content-Type header, or ship UTF-8 that was once decoded as cp1252 ("Ø§Ù„").

Order: BOM, then the HTTP header, then <meta charset>/http-equiv anywhere in <head>, then a
detector. A declared single-byte charset is overruled when the bytes are valid UTF-8 with non-ASCII
content: legacy single-byte text almost never validates as UTF-8, while mislabelled UTF-8 is common.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter

from charset_normalizer import from_bytes

from scraper.extract import native

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_HEAD_END = re.compile(rb"</head\s*>|<body\b", re.I)
# Both at once, the first of either: the declaration sits near the top of most pages, so this rarely
# scans to the head's end. '<' is factored out so that sre searches for it as a literal prefix.
_HEAD_END_OR_META = re.compile(rb"<(?:/head\s*>|body\b|meta\b[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+))", re.I)
_HEAD_END_START = re.compile(rb"</head|<body", re.I)  # what every _HEAD_END match starts with
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
_C3_CHECKS = 16  # C3 bytes (Latin-1 letters) utf8_has_mojibake looks at one by one before it reads the text
MOJIBAKE_FIX = "mojibake:cp1252"
_INVALID, _ASCII, _UTF8 = 0, 1, 2  # _scan's verdicts on a body
_scan_utf8 = native.scanner()
DETECT_MIN_ARABIC_SHARE = 0.8  # of the high bytes, decoded, that are Arabic letters: this charset it is
FIX_MIN_ARABIC_SHARE = 0.5  # ... lower for a charset this source is known to use
HIGH_RUN_SHARE = 0.7  # of the non-ASCII bytes that sit next to another one: words, not accents
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_ASCII_BYTES = bytes(range(128))
# In valid UTF-8, U+0600-U+06FF (what _ARABIC matches) are exactly the characters with lead byte D8-DB.
_ARABIC_LEADS = (b"\xd8", b"\xd9", b"\xda", b"\xdb")
# Stateless codecs that decode every ASCII byte as itself: an ASCII page decoded with one of them is its
# own strict UTF-8 decoding.
_ASCII_SUPERSETS = frozenset({"utf_8", "cp1252", "cp1256", "iso8859_6"})


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode an HTML page; returns (text, encoding used)."""
    page = decode_page(body, content_type)
    return page.text, page.encoding


class DecodedPage:
    """A page's text and how it was decoded. The text of valid UTF-8 is built only when read: the
    extractor parses those bytes as they are (``utf8``), so the daemon never needs it for most pages."""

    __slots__ = ("_text", "clean", "encoding", "fix", "refused", "utf8")

    def __init__(self, text: str | None, encoding: str, fix: str | None, clean: bool, refused: str | None = None,
                 utf8: bytes | None = None) -> None:
        if text is None and utf8 is None:
            raise ValueError("a DecodedPage needs its text or the UTF-8 bytes it is the decoding of")
        self._text = text
        self.encoding = encoding
        # The repair this page needed, to remember for its source: "mojibake:cp1252" (UTF-8 Arabic that was
        # decoded as cp1252 somewhere upstream) or "charset:<name>" (the declared charset, or none, was wrong
        # and the bytes are this legacy charset). None: plain decoding was right.
        self.fix = fix
        # Arabic text decoded with no repair: evidence that a remembered fix is no longer needed.
        self.clean = clean
        # A remembered fix was tried and refused (it would have made the page worse).
        self.refused = refused
        # The bytes ``text`` is the strict UTF-8 decoding of (the body without a BOM), or None: what an HTML
        # parser can take as they are instead of re-encoding the text.
        self.utf8 = utf8

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.utf8.decode()  # type: ignore[union-attr]  # __init__ has one or the other
        return self._text

    def _key(self) -> tuple[str, str, str | None, bool, str | None]:
        return self.text, self.encoding, self.fix, self.clean, self.refused

    def __eq__(self, other: object) -> bool:  # the findings; ``utf8`` is derived from the body
        return isinstance(other, DecodedPage) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # mutable cache of the text: not hashable, like the dataclass

    def __repr__(self) -> str:
        return (f"DecodedPage(encoding={self.encoding!r}, fix={self.fix!r}, clean={self.clean!r}, "
                f"refused={self.refused!r}, text={self.text[:60]!r})")


def decode_page(body: bytes, content_type: str | None = None, fix: str | None = None) -> DecodedPage:
    """decode_html, plus what the page needed; ``fix`` (a source's remembered repair) is tried first and
    kept only when the page passes a check that it was right (see _apply_fix)."""
    if fix:
        page = _apply_fix(body, content_type, fix)
        if page is not None:
            return page
    text, codec, needed, utf8, _ = _decode(body, content_type)
    name = _NAMES.get(codec, codec.replace("_", "-"))
    clean = needed is None and _has_arabic(text, utf8)
    return DecodedPage(text, name, needed, clean, refused=fix or None, utf8=utf8)


def decode_for_parse(body: bytes, content_type: str | None = None) -> tuple[str | bytes, int | None]:
    """What an HTML parser should take for these bytes (``body`` itself, without a BOM, when it is the page's
    plain UTF-8, else the decoded text), and the count of '<' in it when the first
    scan gave it (the C scan does; the nesting guard needs it)."""
    text, _, _, utf8, tags = _decode(body, content_type)
    if utf8 is not None:
        return utf8, tags if utf8 is body else None
    return text, None  # type: ignore[return-value]  # _decode gives the text when it gives no bytes


def _decode(body: bytes, content_type: str | None) -> tuple[str | None, str, str | None, bytes | None, int | None]:
    """(text, codec, the repair it needed or None, the bytes ``text`` is the strict UTF-8 decoding of or None,
    the count of '<' in the body when known). ``text`` is None when those bytes are given: it is their
    plain decoding, built only if somebody reads it."""
    if not body:
        return "", "utf_8", None, body, 0
    for bom, name in _BOMS:
        if body.startswith(bom):
            return (*_decode_bom(body[len(bom):], name), None)
    # Valid UTF-8 with non-ASCII content is UTF-8 whatever the header or <meta> say (see above): the common
    # case needs neither read, nor the text.
    kind, tags, lead = _scan(body)
    if kind == _UTF8:
        return (*_repaired(None, "utf_8", None, body, lead), tags)
    is_ascii = kind == _ASCII
    declared = _codec(_header_charset(content_type)) or _codec(_meta_charset(body))
    if declared in ("utf_16_le", "utf_16_be", "utf_16"):
        declared = None  # a UTF-16 label on ASCII-compatible bytes is wrong (WHATWG says so too)
    if declared is None and is_ascii and b"\x00" not in body:
        # Undeclared ASCII reads the same in every ASCII-compatible charset: nothing to detect (the detector
        # said "ascii", i.e. windows-1252, after ~5 ms, or a UTF-7/EBCDIC guess no browser makes for HTML) and
        # nothing to repair (its guess used to be remembered as one). NUL bytes may be UTF-16: detect those.
        return None, "cp1252", None, body, tags
    needed = None
    if (is_ascii and declared == "utf_8") or _is_utf8(body):  # declared UTF-8 with a stray byte is still UTF-8
        codec = "utf_8"
    elif declared == "cp1252" and _high_bytes_in_words(body) and (arabic := _arabic_codec(body)):
        # "ISO-8859-1" is many servers' default label (Apache's AddDefaultCharset), stamped on pages
        # that are windows-1256 or ISO-8859-6: every Arabic byte then "decodes" as a Latin letter.
        codec, needed = arabic, f"charset:{_NAMES.get(arabic, arabic)}"
    elif declared and _decodes(body, declared):
        codec = declared
    else:
        codec = _detect(body)
        if codec != "utf_8":
            needed = f"charset:{_NAMES.get(codec, codec.replace('_', '-'))}"
    if is_ascii and codec in _ASCII_SUPERSETS:  # ASCII declared as another charset reads the same
        return (*_repaired(None, codec, needed, body), tags)
    return (*_repaired(body.decode(codec, errors="replace"), codec, needed, None), tags)


def _repaired(
    text: str | None, codec: str, needed: str | None, utf8: bytes | None, lead: bool | None = None
) -> tuple[str | None, str, str | None, bytes | None]:
    """_decode's result, with mojibake repaired; ``utf8``: the bytes ``text`` is the strict UTF-8 decoding of
    (``text`` None: not built yet), or None (a repaired text is not: None then too). ``lead``: whether
    ``utf8`` holds an Ø or a Ù, when the scan said (False: no mojibake to look for)."""
    if lead is False:
        return text, codec, needed, utf8
    if utf8_has_mojibake(utf8) if utf8 is not None else has_mojibake(text):  # type: ignore[arg-type]
        text, changed = repair_mojibake(text if text is not None else utf8.decode())  # type: ignore[union-attr]
        if changed:
            return text, codec, MOJIBAKE_FIX, None
    return text, codec, needed, utf8


def _decode_bom(rest: bytes, name: str) -> tuple[str, str, None, bytes | None]:
    """A page that starts with a BOM: that encoding, no repair."""
    if name == "utf-8" and (text := _strict_utf8(rest)) is not None:
        return text, "utf_8", None, rest
    return rest.decode(name, errors="replace"), name.replace("-", "_"), None, None


def _has_arabic(text: str | None, utf8: bytes | None) -> bool:
    """Whether ``text`` holds an Arabic letter; ``utf8``, when given, the bytes it is the UTF-8 of: four
    memchr scans of those beat a regex scan of the text 20-fold on an English page."""
    if utf8 is not None:
        return any(lead in utf8 for lead in _ARABIC_LEADS)
    return text is not None and not text.isascii() and _ARABIC.search(text) is not None


def _apply_fix(body: bytes, content_type: str | None, fix: str) -> DecodedPage | None:
    """The page decoded with a source's remembered repair, or None when the repair does not fit it.

    A charset is refused when the bytes are UTF-8 (the site moved on) or do not come out as Arabic;
    the mojibake repair when the page has no mojibake, so the page is decoded as if nothing were
    remembered, and a clean page then clears the memory."""
    kind, _, value = fix.partition(":")
    if kind == "charset":
        codec = _codec(value)
        if codec is None or codec == "utf_8" or not body or _is_utf8(body):
            return None
        if not _high_bytes_in_words(body) or _arabic_share(body, codec) < FIX_MIN_ARABIC_SHARE:
            return None
        text = body.decode(codec, errors="replace")  # only unassigned bytes past the sampled ones
        declared = _codec(_header_charset(content_type)) or _codec(_meta_charset(body))
        needed = None if declared == codec else fix  # the page now says so itself: no need to remember
        return DecodedPage(text, _NAMES.get(codec, codec.replace("_", "-")), needed, needed is None)
    if fix == MOJIBAKE_FIX:
        text, codec, needed, _, _ = _decode(body, content_type)
        if needed != MOJIBAKE_FIX:
            return None
        return DecodedPage(text, _NAMES.get(codec, codec.replace("_", "-")), needed, False)
    return None  # a fix this version does not know


def settle_fix(remembered: str | None, pages: list[DecodedPage]) -> str | None:
    """What a source should remember after a pass: the repair most of its pages needed; none when a
    page came out as clean Arabic and none needed a repair; else unchanged. A refused repair alone is
    no evidence (an empty or English page refuses it too): the page decoded without it decides."""
    needed = Counter(p.fix for p in pages if p.fix)
    if needed:
        return needed.most_common(1)[0][0]
    if any(p.clean for p in pages):
        return None
    return remembered


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


def utf8_has_mojibake(utf8: bytes) -> bool:
    """has_mojibake of the strict UTF-8 decoding of ``utf8``, where Ø and Ù are C3 98 and C3 99: one memchr
    scan of the bytes for C3 costs a quarter of has_mojibake's two of a text stored two bytes a character,
    and needs no text. Only a page with either, or with many Latin letters (C3 + another byte), is decoded."""
    i = utf8.find(b"\xc3")
    for _ in range(_C3_CHECKS):
        if i == -1:
            return False
        if utf8[i + 1] in (0x98, 0x99):  # valid UTF-8: a continuation byte follows every C3
            break
        i = utf8.find(b"\xc3", i + 2)
    return has_mojibake(utf8.decode())


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
    """The charset of the first <meta> declaration in <head> (or the first 512 kB without a head end)."""
    m = _HEAD_END_OR_META.search(body, 0, _HEAD_LIMIT)
    if m is None or m.group(1) is None:  # none at all, or the head ends first
        return None
    # A head end that starts inside the declaration (`<meta content="<body" charset=...>`) cuts it short.
    cut = _HEAD_END_START.search(body, m.start(), m.end() + 5)
    if cut is not None and cut.start() < m.end():
        return _meta_charset_in_head(body)
    return m.group(1).decode("ascii", "ignore")


def _meta_charset_in_head(body: bytes) -> str | None:
    """_meta_charset by its definition: two scans, the second up to the head's end."""
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


def _scan(body: bytes) -> tuple[int, int | None, bool | None]:
    """(_INVALID, _ASCII or _UTF8, the count of '<' or None, whether valid UTF-8 holds an Ø or a Ù or None):
    one C pass over the bytes when the extension is built (it never builds the text), else the strict
    decoder's verdict."""
    if _scan_utf8 is not None:
        kind, tags, lead = _scan_utf8(body)
        return kind, tags, bool(lead)
    text = _strict_utf8(body)
    return (_INVALID if text is None else _ASCII if text.isascii() else _UTF8), None, None


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
    return bad <= 8 and bad * 50 < len(text) - len(text.encode("ascii", "ignore"))  # non-ASCII chars, in C


def _decodes(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return codec not in _SINGLE_BYTE_ARABIC and codec != "utf_8"  # those get a second opinion
    return True


def _detect(body: bytes) -> str:
    """Undeclared or wrongly declared legacy bytes: try the Arabic code pages first (our domain),
    pick the one whose high bytes come out as Arabic letters, else ask charset-normalizer."""
    best = _arabic_codec(body)
    if best:
        return best
    guess = from_bytes(body[:200_000]).best()
    return _codec(guess.encoding) if guess else "utf_8"


def _arabic_codec(body: bytes) -> str | None:
    """The Arabic code page whose high bytes come out as Arabic letters, if one clearly does."""
    best, best_ratio = None, 0.0
    for codec in _SINGLE_BYTE_ARABIC:
        ratio = _arabic_share(body, codec)
        if ratio > best_ratio:
            best, best_ratio = codec, ratio
    return best if best_ratio >= DETECT_MIN_ARABIC_SHARE else None


def _high_bytes_in_words(body: bytes) -> bool:
    """Whether the non-ASCII bytes come in runs, as the letters of Arabic words in a single-byte code
    page do. Latin text has an accent here and there between ASCII letters ("Café crème"), and ISO-8859-6
    maps most of those bytes to Arabic letters too, so the Arabic share alone would take it for Arabic."""
    runs = _HIGH_RUN.findall(body, 0, 200_000)
    total = sum(map(len, runs))
    return total > 0 and sum(len(r) for r in runs if len(r) > 1) >= HIGH_RUN_SHARE * total


def _arabic_share(body: bytes, codec: str) -> float:
    """Share of Arabic letters among the (first 4,000) non-ASCII bytes of ``body`` read as ``codec``;
    0 when they do not decode (ISO-8859-6 leaves many bytes unassigned: windows-1256 text fails)."""
    high = body.translate(None, _ASCII_BYTES)[:4000]  # the non-ASCII bytes, in C
    try:
        chars = high.decode(codec)
    except UnicodeDecodeError:
        return 0.0
    return len(_ARABIC.findall(chars)) / len(chars) if chars else 0.0
