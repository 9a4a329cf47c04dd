"""Repairs applied to feed bytes before parsing, so that both parsers see the same, well-formed text.

Measured on the conformance corpora (bench/feeds.py): lxml in recover mode silently *drops* what it
cannot read, where feedparser keeps it. Three habits of real feeds cause this:
  * HTML named entities (``&nbsp;``, ``&uuml;``) outside CDATA, undefined in XML;
  * bare ``&`` in links (``?a=1&b=2``), which lxml turns into ``?a=1=2``;
  * no encoding declaration on a body that is not UTF-8 (legacy windows-1256 / ISO-8859-x feeds).
"""

from __future__ import annotations

import re
from html.entities import html5

from charset_normalizer import from_bytes

# Anything that is not an XML-safe reference: a bare "&" or a named entity other than the five XML ones.
_SUSPECT_AMP = re.compile(rb"&(?!#[0-9]{1,7};|#x[0-9a-fA-F]{1,6};|amp;|lt;|gt;|quot;|apos;)")
_CDATA_OR_AMP = re.compile(
    rb"<!\[CDATA\[.*?(?:\]\]>|\Z)|&(#[0-9]{1,7};|#x[0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};)?", re.S
)
_XML_NAMED = {b"amp;", b"lt;", b"gt;", b"quot;", b"apos;"}
_XML_DECL_ENCODING = re.compile(rb"<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)", re.IGNORECASE)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.IGNORECASE)


def repair_entities(body: bytes) -> bytes:
    """Named HTML entities → numeric references; bare ``&`` → ``&amp;``. CDATA is left untouched."""
    if _SUSPECT_AMP.search(body) is None:
        return body  # the usual case: one fast scan, no rewrite
    return _CDATA_OR_AMP.sub(_fix_reference, body)


def _fix_reference(m: re.Match[bytes]) -> bytes:
    whole, ref = m.group(0), m.group(1)
    if whole.startswith(b"<"):
        return whole
    if ref is None:
        return b"&amp;"
    if ref.startswith(b"#") or ref in _XML_NAMED:
        return whole
    chars = html5.get(ref.decode("ascii"))
    if chars is None:
        return b"&amp;" + ref  # not an entity we know: keep the text visible
    return "".join(f"&#{ord(c)};" for c in chars).encode("ascii")


def declared_encoding(body: bytes) -> str | None:
    m = _XML_DECL_ENCODING.match(body.lstrip()[:200])
    return m.group(1).decode("ascii").lower() if m else None


def transcode_undeclared(body: bytes, content_type: str | None) -> bytes:
    """A body with no BOM and no encoding declaration that is not UTF-8 → UTF-8.

    XML parsers then assume UTF-8 and produce U+FFFD for every Arabic letter of a windows-1256 feed.
    The HTTP charset is used when given, else a guess (charset_normalizer)."""
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or body[:3] == b"\xef\xbb\xbf" or b"\x00" in body[:4]:
        return body
    if declared_encoding(body) is not None:
        return body
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return body
    charset = _http_charset(content_type)
    if charset is None:
        best = from_bytes(body[:65536]).best()
        charset = best.encoding if best is not None else "windows-1252"
    try:
        return body.decode(charset, errors="replace").encode("utf-8")
    except LookupError:  # an unknown charset name in a header
        return body.decode("windows-1252", errors="replace").encode("utf-8")


def _http_charset(content_type: str | None) -> str | None:
    m = _HTTP_CHARSET.search(content_type or "")
    if m is None or m.group(1).lower() in ("utf-8", "utf8"):
        return None
    return m.group(1)
