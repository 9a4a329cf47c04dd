"""The C walk of the generic extractor (_lexwalk.c), when it was built and fits this selectolax.

It reads lexbor's structs directly, so it is only as right as its copy of their layout: generic.py
compares it with the Python walk on a test page before using it. ``SCRAPER_PURE_PYTHON_EXTRACT=1``
turns it off (for comparing the two)."""

from __future__ import annotations

import logging
import os
from types import ModuleType
from typing import Any

from scraper.logs import log_event

OFF_SWITCH = "SCRAPER_PURE_PYTHON_EXTRACT"
# What _lexwalk.attrs reads: the attributes boilerplate.is_widget and generic._class_weight look at.
ATTRIBUTES = frozenset({"class", "id", "style", "role", "hidden", "aria-hidden"})
# The _lexwalk.c VERSION this Python side expects (the shapes of arguments and results).
VERSION = 3
# What the Python side calls: a build that lacks one is refused as a whole.
FUNCTIONS = ("configure", "configure_rules", "walk", "paragraphs", "text", "text_with_breaks", "stripped_len",
             "direct_text", "own_text", "attrs", "vote", "widget_candidates", "head_data", "json_dicts",
             "date_sources", "author_element", "first_element", "scan_utf8", "encode_utf8")


def load(**tables: Any) -> ModuleType | None:
    """The configured extension, or None (then the Python walk runs: same output, ~2x slower)."""
    if os.environ.get(OFF_SWITCH) == "1":
        return None
    try:
        from scraper.extract import _lexwalk  # type: ignore[attr-defined]
    except ImportError as exc:  # installed without a C compiler
        log_event("extract.native_missing", level=logging.WARNING, error=str(exc))
        return None
    if (stale := _stale(_lexwalk)) is not None:  # left over from an older checkout (pip keeps the old file
        log_event("extract.native_refused", level=logging.WARNING, error=stale)  # when a rebuild fails)
        return None
    try:
        _lexwalk.configure(**tables)
    except (TypeError, ValueError) as exc:
        log_event("extract.native_refused", level=logging.WARNING, error=str(exc))
        return None
    return _lexwalk


def _stale(module: ModuleType) -> str | None:
    """Why a build does not fit this Python side, or None."""
    missing = sorted(name for name in FUNCTIONS if not hasattr(module, name))
    if missing:
        return f"stale build, lacks {', '.join(missing)}"
    if getattr(module, "VERSION", None) != VERSION:
        return f"stale build, version {getattr(module, 'VERSION', None)} where {VERSION} is expected"
    return None


def scanner() -> Any:
    """_lexwalk.scan_utf8 (decode.py's first pass over a page), or None. It reads no lexbor struct, so it
    needs neither configure() nor the walk's self-check; the off switch turns it off too."""
    return _plain("scan_utf8")


def encoder() -> Any:
    """_lexwalk.encode_utf8 (article.py's str input as the UTF-8 selectolax would make of it, with the '<'
    count and whether an Ø or a Ù is in it), or None; like scanner()."""
    return _plain("encode_utf8")


def _plain(name: str) -> Any:
    if os.environ.get(OFF_SWITCH) == "1":
        return None
    try:
        from scraper.extract import _lexwalk  # type: ignore[attr-defined]
    except ImportError:  # load() logs it
        return None
    return None if _stale(_lexwalk) is not None else getattr(_lexwalk, name, None)  # load() logs a stale one


def refuse(reason: str) -> None:
    """The extension disagreed with the Python walk on the self-check page."""
    log_event("extract.native_refused", level=logging.WARNING, error=reason)
