"""Canonical article URLs, URL hashes and content hashes.

The canonical form is the identity key of an article (unique index on ``url_hash``), so two spellings
of the same page must map to one string: Arabic slugs raw or percent-encoded in either hex case,
tracking parameters, AMP and mobile variants, fragments, default ports, IDN hosts. The function is
pure and deterministic; it never fetches anything.
"""

from __future__ import annotations

import hashlib
import html
import re
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import idna

from scraper.normalize.text import tokenize

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Parameters that identify a click or a campaign, never the page. Matched on the decoded,
# lower-cased key. Prefixes cover families (utm_source, utm_medium ...; AT Internet's at_medium,
# at_campaign, at_custom1 ... used by BBC and other broadcasters).
_TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "__hs", "_hs")
_TRACKING_KEYS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid",
        "yclid", "_ga", "_gl", "igshid", "igsh", "ref_src", "ref_url", "twclid", "ttclid",
        "li_fat_id", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "wickedid", "rb_clickid",
        "s_cid", "ocid", "cmpid", "__twitter_impression", "__tn__", "amp",
    }
)
# ?amp=1 and ?outputType=amp only select the AMP rendering of the same page; other outputType values
# (xml, json) are a different resource and stay.

# RFC 3986 unreserved characters are always written literally; any other ASCII byte keeps the form
# it arrived in when it is legal in the component (so %2F inside a slug stays distinct from "/").
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = frozenset(b"!$&'()*+,;=:@/")
_QUERY_PART_SAFE = frozenset(b"!$'()*,;:@/?")  # '&', '=', '+' stay encoded inside keys and values
_PCT = re.compile(rb"%([0-9A-Fa-f]{2})")
_TAG = re.compile(r"<[^>]{0,200}>")
_MULTI_SLASH = re.compile(r"/{2,}")
_HOST_CHARS = re.compile(r"[a-z0-9_.-]+")  # after IDNA: letters, digits, hyphen (underscore seen in the wild)
_HOST_PREFIXES = ("m.", "amp.")  # never "www.": sites serve different things on both


def canonical_url(url: str, base: str | None = None) -> str:
    """Return the canonical form of ``url`` (resolved against ``base`` when relative).

    Raises ValueError for anything that is not an absolute http(s) URL with a host.
    """
    url = url.strip()
    if base:
        url = urljoin(base.strip(), url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # bad port or malformed IPv6 literal
        raise ValueError(f"invalid URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = _canonical_host(parts)
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _canonical_path(parts.path)
    query = _canonical_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def url_hash(url: str) -> str:
    """Hex SHA-256 (64 characters) of the canonical form of ``url``."""
    return hashlib.sha256(canonical_url(url).encode("ascii")).hexdigest()


def content_hash(title: str | None, paragraphs: list[str]) -> str:
    """Hex SHA-256 of the normalized body tokens, so re-wrapping, diacritics or markup are no change.

    The title is hashed only when the body has no tokens: editors retouch headlines without
    touching the story, and a headline-only item still needs a stable hash.
    """
    tokens = [tok for p in paragraphs for tok in tokenize(_plain(p))]
    if not tokens:
        tokens = tokenize(_plain(title or ""))
    return hashlib.sha256(" ".join(tokens).encode("utf-8")).hexdigest()


def _plain(text: str) -> str:
    """Strip leftover tags and entities an extractor may pass through (<b>, &nbsp;, &quot;)."""
    return html.unescape(_TAG.sub(" ", text)) if "<" in text or "&" in text else text


def _canonical_host(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError(f"URL has no host: {urlunsplit(parts)!r}")
    if ":" in host:  # IPv6 literal; urlsplit already removed the brackets
        return f"[{host.lower()}]"
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"invalid international host {host!r}: {exc}") from exc
    host = host.lower()
    if not _HOST_CHARS.fullmatch(host):  # NUL, spaces, '%' ...: no resolver would take it, so no article has it
        raise ValueError(f"invalid host {host!r}")
    # Only strip when a registrable name remains (m.example.com, not m.com); repeat so that the result is a
    # fixed point ("amp.amp.amp.example" came down one prefix per call, found by atheris).
    while host.count(".") >= 2 and (prefix := next((p for p in _HOST_PREFIXES if host.startswith(p)), None)):
        host = host[len(prefix):]
    return host


def _canonical_path(path: str) -> str:
    path = _normalize_percent(path, _PATH_SAFE)
    path = _MULTI_SLASH.sub("/", path)
    path = _remove_dot_segments(path)
    # Until no AMP marker is left, or canonical_url is not idempotent: "/a.amp.amp", and stripping can leave a
    # dot segment ("/..amp" → "/.") (found by atheris). One strip and one dot pass for the usual URL.
    while (stripped := _strip_amp(path)) != path:
        path = _remove_dot_segments(stripped)
    return path or "/"


def _strip_amp(path: str) -> str:
    """Drop a leading or trailing ``amp`` segment and an ``.amp`` extension."""
    segments = path.split("/")  # "/a/b/" → ["", "a", "b", ""]
    trailing = segments[-1] == ""
    inner = [s for s in segments[1:] if s] if len(segments) > 1 else []
    while inner and inner[-1].lower() == "amp":  # all of them: canonical_url must be idempotent
        inner.pop()
    while inner and inner[0].lower() == "amp":
        inner.pop(0)
    if inner:
        last = inner[-1]
        low = last.lower()
        if low.endswith(".amp"):
            inner[-1] = last[:-4]
        elif low.endswith(".amp.html"):
            inner[-1] = last[:-9] + last[-5:]
    if not inner:
        return "/"
    return "/" + "/".join(inner) + ("/" if trailing else "")


def _remove_dot_segments(path: str) -> str:
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    result = "/".join(out)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def _canonical_query(query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for part in query.split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key_norm = _normalize_percent(key, _QUERY_PART_SAFE)
        value_norm = _normalize_percent(value, _QUERY_PART_SAFE)
        if _is_tracking(_unquote_lower(key_norm), _unquote_lower(value_norm)):
            continue
        pairs.append((key_norm, f"{key_norm}{sep}{value_norm}"))
    pairs.sort()
    return "&".join(p for _, p in pairs)


def _is_tracking(key: str, value: str) -> bool:
    if key == "outputtype":
        return value == "amp"
    return key in _TRACKING_KEYS or key.startswith(_TRACKING_PREFIXES)


def _unquote_lower(text: str) -> str:
    decoded = _PCT.sub(lambda m: bytes([int(m.group(1), 16)]), text.encode("ascii"))
    return decoded.decode("utf-8", "replace").lower()


def _normalize_percent(text: str, safe: frozenset[int]) -> str:
    """Decode what needs no encoding, then encode the rest one way (UTF-8, upper-case hex).

    Every non-ASCII byte ends up percent-encoded, so a raw Arabic slug and its %d8%a7 or %D8%A7
    spellings give the same string. Reserved ASCII keeps its arrival form: literal if it was
    literal (and legal here), encoded if it was encoded, because the two can mean different things.
    """
    out: list[str] = []
    raw = text.encode("utf-8", "surrogatepass")
    i = 0
    while i < len(raw):
        byte = raw[i]
        encoded = False
        if byte == 0x25:  # '%'
            m = _PCT.match(raw, i)
            if m:
                byte, encoded, i = int(m.group(1), 16), True, i + 3
            else:
                i += 1  # a stray '%' is data: encode it as %25
                encoded = True
        else:
            i += 1
        if byte in _UNRESERVED or (not encoded and byte in safe):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)
