"""Feed parsing: fastfeedparser vs feedparser agreement on the conformance corpora, and throughput.

    .venv/bin/python bench/feeds.py [--corpus /work/shared/corpus] [--quick]

Prints, in one run: (1) per-corpus agreement of the two parsers on item links and titles, through the
same field normalization (scraper.parse.feeds' adapters), and how often parse_feed's fallback fires;
(2) MB/s of parse_feed, raw fastfeedparser and raw feedparser (the anchor) on the real feeds and on
synthesized large Arabic RSS; (3) peak memory of a 100,000-item feed in a fresh process.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import fastfeedparser
import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scraper.errors import ParseError
from scraper.parse import feeds
from scraper.parse.feeds import parse_feed

FEED_SUFFIXES = {".xml", ".rss", ".atom", ".json", ".rdf"}
BASE = "http://127.0.0.1:8097/"


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in FEED_SUFFIXES and "output" not in p.parts)


def items_of(parse: Callable[[], feeds.ParsedFeed]) -> tuple[str, list[tuple[str, str | None]]]:
    """('ok' | 'raised', [(link, title)])."""
    try:
        return "ok", [(i.url, i.title) for i in parse().items]
    except Exception:  # the bench counts failures of either library, whatever they raise
        return "raised", []


def compare(path: Path) -> str:
    """Classify one file: how the fast adapter's items relate to feedparser's."""
    url = BASE + path.name
    try:
        body = feeds._checked_body(path.read_bytes())
    except ParseError as exc:
        return "refused: " + str(exc).split(":")[0]
    fast_state, fast = items_of(lambda: feeds._parse_fast(body, url))
    _, slow = items_of(lambda: feeds._parse_slow(body, url, None, None))
    if fast == slow:
        return "agree (both items)" if fast else "agree (both no items)"
    if fast_state == "raised":
        return "fast raised, slow has items" if slow else "fast raised, slow no items"
    if not fast:
        return "fast no items, slow has items"
    if not slow:
        return "fast has items, slow none"
    if [u for u, _ in fast] != [u for u, _ in slow]:
        return "differ: links"
    return "differ: titles only"


def final_vs_feedparser(path: Path) -> str:
    """Does parse_feed (with its fallback) give the links and titles raw feedparser finds?"""
    url = BASE + path.name
    raw = feedparser.parse(io.BytesIO(path.read_bytes()), response_headers={"content-location": url})
    fp_has_items = any(e.get("link") or e.get("id") for e in raw.entries)
    try:
        got = parse_feed(path.read_bytes(), url)
    except ParseError as exc:
        cause = str(exc).split(":")[0]
        return f"refused ({cause}); feedparser " + ("found items" if fp_has_items else "found no items")
    try:
        _, slow = items_of(lambda: feeds._parse_slow(feeds._checked_body(path.read_bytes()), url, None, None))
    except ParseError:
        slow = []
    mine = [(i.url, i.title) for i in got.items]
    tag = "via fallback" if got.parser == "feedparser" else "via fast path"
    return ("same as feedparser " if mine == slow else "differs from feedparser ") + tag


def agreement(root: Path, quick: bool) -> None:
    for sub in ("feedparser-conformance", "feed-conformance-extra"):
        files = corpus_files(root / sub)
        if quick:
            files = files[::10]
        kinds = Counter(compare(p) for p in files)
        finals = Counter(final_vs_feedparser(p) for p in files)
        print(f"\n## {sub}: {len(files)} files")
        for kind, n in kinds.most_common():
            print(f"  {n:5d}  {kind}")
        print("  parse_feed vs feedparser:")
        for kind, n in finals.most_common():
            print(f"  {n:5d}  {kind}")


def real_feeds(root: Path) -> None:
    """Item counts per real publisher feed: does the fast path hold on real-world input?"""
    files = sorted((root / "feed-conformance-extra" / "rss-parser" / "input").glob("*"))
    files += sorted((root / "feeds").rglob("*.xml"))
    print(f"\n## real feeds (rss-parser inputs + feeds/): {len(files)} files")
    tally: Counter[str] = Counter()
    for path in files:
        url = BASE + path.name
        try:
            body = feeds._checked_body(path.read_bytes())
        except ParseError as exc:
            tally["refused"] += 1
            print(f"  {path.name:30s} refused: {exc}")
            continue
        fast = items_of(lambda b=body, u=url: feeds._parse_fast(b, u))
        slow = items_of(lambda b=body, u=url: feeds._parse_slow(b, u, None, None))
        used = parse_feed(path.read_bytes(), url).parser
        tally[f"parse_feed via {used}"] += 1
        tally["fast raised" if fast[0] == "raised" else "fast ok"] += 1
        tally["same links+titles" if fast == slow else "different links/titles"] += 1
        print(f"  {path.name:30s} fast={len(fast[1]):3d} feedparser={len(slow[1]):3d} parse_feed via {used}")
    print("  " + ", ".join(f"{k}: {n}" for k, n in sorted(tally.items())))


def synth_arabic_rss(n_items: int) -> bytes:
    heads = ["محادثات إيرانية روسية في موسكو حول الملف النووي", "لافروف يستقبل عراقجي لبحث التعاون الاستراتيجي",
             "أسعار النفط ترتفع بعد قرار أوبك+ خفض الإنتاج", "قمة الرياض تدعو إلى التهدئة في المنطقة"]
    item = ("<item><title><![CDATA[{h} ({i})]]></title><link>https://news.example.ae/world/{i}</link>"
            "<description><![CDATA[<p>{h}. وقال مصدر دبلوماسي إن الجانبين ناقشا ملفات الطاقة والنقل "
            "والتعاون العسكري، وسط متابعة دولية.</p>]]></description>"
            "<pubDate>Tue, 03 Jun 2025 10:{m:02d}:00 +0300</pubDate><guid isPermaLink=\"false\">id-{i}</guid>"
            "<dc:creator>قسم الأخبار</dc:creator></item>")
    body = "".join(item.format(h=heads[i % 4], i=i, m=i % 60) for i in range(n_items))
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<channel><title>شبكة الخليج</title><ttl>10</ttl>{body}</channel></rss>").encode()


def best_cpu_seconds(fns: dict[str, Callable[[], object]], min_seconds: float) -> dict[str, float]:
    """Best CPU time of each function, run round-robin: the machine is shared, and interleaving makes
    the load (and CPU time, rather than wall time) hit every parser alike, so the ratios hold."""
    best = dict.fromkeys(fns, float("inf"))
    spent, rounds = 0.0, 0
    while spent < min_seconds or rounds < 3:
        for name, fn in fns.items():
            t0 = time.process_time()
            fn()
            dt = time.process_time() - t0
            best[name], spent = min(best[name], dt), spent + dt
        rounds += 1
    return best


def throughput(root: Path, quick: bool) -> None:
    inputs = [(p.name, p.read_bytes()) for p in sorted((root / "feeds").rglob("*.xml"))]
    inputs += [(f"synth-arabic-{n}-items", synth_arabic_rss(n)) for n in (200, 5000)]
    secs = 0.5 if quick else 4.0
    print("\n## throughput (MB/s of input bytes = size / best CPU time, parsers interleaved)")
    print(f"  {'input':30s} {'KB':>6s} {'parse_feed':>11s} {'fastfeedparser':>15s} {'feedparser':>11s} {'ours/fp':>8s}")
    for name, body in inputs:
        best = best_cpu_seconds({
            "ours": lambda b=body: parse_feed(b, "https://news.example.ae/rss"),
            "fast": lambda b=body: fastfeedparser.parse(b),
            "anchor": lambda b=body: feedparser.parse(io.BytesIO(b)),
        }, secs)
        rate = {k: len(body) / max(v, 1e-9) / 1e6 for k, v in best.items()}
        print(f"  {name:30s} {len(body) / 1024:6.0f} {rate['ours']:11.2f} {rate['fast']:15.2f} "
              f"{rate['anchor']:11.2f} {rate['ours'] / rate['anchor']:7.1f}x")


# VmHWM, not ru_maxrss: Linux carries the parent's high-water mark into ru_maxrss across fork+exec.
MEMORY_PROBE = """
import re, sys
sys.path.insert(0, {root!r})
from scraper.parse.feeds import parse_feed
def hwm():
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
body = open({path!r}, "rb").read()
before = hwm()
parsed = parse_feed(body, "https://news.example.ae/rss")
print(len(body) / 1e6, len(parsed.items), parsed.parser, before, hwm())
"""


def memory() -> None:
    """Peak RSS of parse_feed on a 100,000-item feed, in a fresh process that only reads and parses."""
    root = str(Path(__file__).resolve().parent.parent)
    with tempfile.NamedTemporaryFile(suffix=".xml") as tmp:
        tmp.write(synth_arabic_rss(100_000))
        tmp.flush()
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", MEMORY_PROBE.format(root=root, path=tmp.name)],
                             capture_output=True, text=True, check=True).stdout.split()
    mb, n, parser, before, after = float(out[0]), int(out[1]), out[2], float(out[3]), float(out[4])
    print(f"\n## 100,000-item Arabic feed ({mb:.0f} MB): {n} items via {parser}; peak RSS {before:.0f} MB "
          f"after reading the file, {after:.0f} MB after parsing; {time.perf_counter() - t0:.1f} s wall")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=Path("/work/shared/corpus"))
    ap.add_argument("--quick", action="store_true", help="every 10th corpus file, short timings")
    args = ap.parse_args()
    agreement(args.corpus, args.quick)
    real_feeds(args.corpus)
    throughput(args.corpus, args.quick)
    memory()


if __name__ == "__main__":
    main()
