"""Plain-text snippets with hits wrapped in ``[[`` and ``]]``.

The email and web layers escape the text and then turn the markers into ``<mark>``, so this module
never produces HTML. Offsets are in the original (not normalized) text.
"""

from __future__ import annotations

from collections.abc import Iterable

OPEN, CLOSE = "[[", "]]"
ELLIPSIS = "…"
SNIPPET_CHARS = 200


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans (overlapping terms such as روسيا inside "روسيا البيضاء")."""
    return _merge_sorted(sorted(spans))


def _merge_sorted(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def highlight_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with each span wrapped in ``[[`` ``]]`` (overlapping spans are merged)."""
    return _wrap(text, merge_spans(spans))


def _wrap(text: str, spans: list[tuple[int, int]]) -> str:
    parts: list[str] = []
    pos = 0
    for s, e in spans:
        parts += [text[pos:s], OPEN, text[s:e], CLOSE]
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


def make_snippet(text: str, spans: list[tuple[int, int]], width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around the first span, spans inside it marked.

    The window opens a third of its width before the first hit so the reader sees its context,
    and is trimmed to whole words.
    """
    spans = _merge_sorted(spans) if spans == sorted(spans) else merge_spans(spans)
    if not spans:
        return _cut(text, 0, min(len(text), width), [])
    first_s, first_e = spans[0]
    start = max(0, first_s - width // 3)
    end = min(len(text), max(start + width, first_e))
    if end - start < width:
        start = max(0, end - width)
    return _cut(text, start, end, spans, keep=(first_s, first_e))


def _cut(text: str, start: int, end: int, spans: list[tuple[int, int]], keep: tuple[int, int] = (0, 0)) -> str:
    if start > 0:
        space = text.find(" ", start, keep[0] if spans else end)
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", max(start, keep[1]), end)
        end = space if space != -1 else end
    inside = [(s - start, e - start) for s, e in spans if start <= s and e <= end]
    body = _wrap(text[start:end], inside).strip()
    return (ELLIPSIS if start > 0 else "") + body + (ELLIPSIS if end < len(text) else "")
