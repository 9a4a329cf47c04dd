"""Arabic normalization for matching and search.

One function, applied identically to rule terms, stored text and search queries, so an alert and a
search agree (see ARABIC_MATCHING.md). The original text is always kept for display; this form is
only for comparison.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

# Characters deleted outright: harakat, tanwin, shadda, sukun, dagger alef, Quranic marks,
# tatweel, zero-width joiners, bidi controls, BOM and soft hyphen.
_DELETE = (
    [chr(c) for c in range(0x064B, 0x0660)]
    + ["\u0670"]
    + [chr(c) for c in range(0x0610, 0x061B)]
    + [chr(c) for c in range(0x06D6, 0x06EE)]
    + ["\u0640", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\ufeff", "\u00ad"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)

_FOLD = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",
    "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي",
    "ی": "ي", "ک": "ك", "ە": "ه", "ۀ": "ه", "ھ": "ه",
}
_DIGITS = {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}

_TABLE = str.maketrans({**{c: None for c in _DELETE}, **_FOLD, **_DIGITS})
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]")

# A token is a run of Arabic letters (marks, tatweel and invisible joiners ride along and are
# deleted later) or a run of Latin letters and digits. Arabic punctuation and digits next to
# Arabic letters are boundaries.
_ARABIC_RUN = (
    "[\u0621-\u063a\u0641-\u064a\u0671-\u06d3\u06d5\u06fa-\u06ff\u0750-\u077f\u08a0-\u08ff"
    "\u064b-\u065f\u0670\u0610-\u061a\u06d6-\u06ed\u0640\u200c\u200d]+"
)
_OTHER_RUN = "[0-9A-Za-z\u00c0-\u024f\u0660-\u0669\u06f0-\u06f9]+"
TOKEN_RE = re.compile(f"{_ARABIC_RUN}|{_OTHER_RUN}")
SENTENCE_END_RE = re.compile(r"[.!?؟۔\n]+")


class Token(NamedTuple):
    """One token: its normalized form and its span in the original text."""

    norm: str
    start: int
    end: int


def normalize_text(text: str) -> str:
    """Return the matching form of ``text``: folded, unmarked, lower-case."""
    if _PRESENTATION_FORMS.search(text):
        text = unicodedata.normalize("NFKC", text)
    return text.translate(_TABLE).lower()


# A daemon that runs for days sees an open vocabulary, so this LRU fills and stays full: its size is
# steady-state memory. ~290 bytes an entry with its token (bench/soak.py --cache-caps): 200,000 held
# 53 MiB, 65,536 hold 19 MiB. A token that fell out costs one normalization again (~7 µs against ~1
# µs for a hit, loaded machine); the matcher keeps its own memo on top of this one.
NORMALIZE_CACHE = 65_536


@lru_cache(maxsize=NORMALIZE_CACHE)
def normalize_token(token: str) -> str:
    """Normalize one token; memoized because news text repeats its words heavily."""
    return normalize_text(token)


def iter_tokens(text: str) -> Iterator[Token]:
    """Yield the tokens of ``text`` with their normalized form and original offsets."""
    if _PRESENTATION_FORMS.search(text):
        # Presentation forms change length under NFKC; normalize first so spans stay valid.
        text = unicodedata.normalize("NFKC", text)
    for m in TOKEN_RE.finditer(text):
        norm = normalize_token(m.group())
        if norm:
            yield Token(norm, m.start(), m.end())


def tokenize(text: str) -> list[str]:
    """The normalized tokens of ``text``, in order."""
    return [t.norm for t in iter_tokens(text)]


def normalize_document(paragraphs: list[str]) -> str:
    """Normalized, space-joined tokens per paragraph, one paragraph per line (for search indexes)."""
    return "\n".join(" ".join(tokenize(p)) for p in paragraphs)


def is_arabic(text: str, threshold: float = 0.3) -> bool:
    """True when at least ``threshold`` of the letters in ``text`` are Arabic."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    arabic = sum(1 for c in letters if "\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u08ff")
    return arabic / len(letters) >= threshold
