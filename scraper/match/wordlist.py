"""The default word-frequency list for the collision check (collisions.py).

``wordlist.txt.gz`` holds ``word<TAB>count`` lines of normalized Arabic tokens counted in the Arabic
text of the team's test corpus (/work/shared/corpus: the Arabic news pages under ``articles/`` and
the Arabic Wikipedia text under ``legacy-encodings/windows-1256/``, see that corpus's SOURCES.md for the
publishers and repositories). It is small (tens of thousands of words of news), so it catches the
common collisions only; pass a bigger list to ``collision_report`` when one is available.

Rebuild with::

    .venv/bin/python -m scraper.match.wordlist /work/shared/corpus scraper/match/wordlist.txt.gz
"""

from __future__ import annotations

import gzip
import sys
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from scraper.normalize.text import is_arabic, tokenize

WORDLIST_PATH = Path(__file__).with_name("wordlist.txt.gz")


@lru_cache(maxsize=1)
def default_wordlist() -> tuple[tuple[str, int], ...]:
    """(normalized word, count) pairs, most frequent first."""
    with gzip.open(WORDLIST_PATH, "rt", encoding="utf-8") as f:
        rows = (line.rstrip("\n").split("\t") for line in f if line.strip())
        return tuple((w, int(n)) for w, n in rows)


def count_words(texts: Iterable[str]) -> Counter[str]:
    """Counts of the normalized Arabic tokens (Latin and digits skipped) in ``texts``."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(t for t in tokenize(text) if is_arabic(t, threshold=1.0))
    return counts


def corpus_texts(corpus: Path) -> Iterable[str]:
    """Arabic text lines of the corpus pages (HTML stripped with selectolax)."""
    from selectolax.lexbor import LexborHTMLParser

    for page in sorted((corpus / "articles").glob("*/*.html")):
        tree = LexborHTMLParser(page.read_bytes().decode("utf-8", "replace"))
        for node in tree.css("script, style, noscript"):
            node.decompose()
        text = tree.body.text(separator="\n") if tree.body else ""
        yield from (line for line in text.splitlines() if is_arabic(line))
    # The same Wikipedia text is stored in two encodings; count it once.
    wiki = corpus / "legacy-encodings" / "windows-1256" / "ude-arabic-wikipedia.windows-1256.txt"
    if wiki.exists():
        yield wiki.read_bytes().decode("cp1256", "replace")


def write_wordlist(counts: Counter[str], out: Path) -> None:
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    # mtime=0 keeps the gzip byte-identical across rebuilds.
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write("".join(f"{w}\t{n}\n" for w, n in rows).encode("utf-8"))


if __name__ == "__main__":
    corpus_dir, out_path = Path(sys.argv[1]), Path(sys.argv[2])
    word_counts = count_words(corpus_texts(corpus_dir))
    write_wordlist(word_counts, out_path)
    print(f"{len(word_counts)} words, {sum(word_counts.values())} tokens -> {out_path}")
