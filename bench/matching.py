"""Throughput of the rule matcher on ~1,000-word Arabic articles, 10 and 10,000 rules.

Articles recombine real paragraphs from the team corpus (/work/shared/corpus/articles, HTML
stripped with selectolax); rules are generated from the same corpus vocabulary (words, phrases,
OR-groups, AND, NEAR, NOT, title:, prefixes, paragraph/sentence scope, except phrases), with the
most frequent words left out as users do not alert on stop words. Because rule terms are drawn from
the very text being matched, many rules are candidates on every article: a pessimistic load.

A naive ``re`` alternation of the same terms over normalized text runs in the same process as the
anchor. MB is 10**6 bytes of UTF-8 (title + paragraphs); per core = one process, one thread, CPU
time (``time.process_time``), wall time printed too (the machine is shared).

    .venv/bin/python bench/matching.py [--corpus /work/shared/corpus] [--write bench/RESULTS.matching.md]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from scraper.match.matcher import RuleIndex, RuleSpec
from scraper.match.query import parse_query, query_terms
from scraper.match.termindex import MATCH_TOKEN_RE
from scraper.normalize.text import TOKEN_RE, is_arabic, normalize_text

MATCH_SPLIT = re.compile(f"({MATCH_TOKEN_RE.pattern})").split

SEED = 20240601
WORDS_PER_ARTICLE = 1000
STOPWORDS_SKIPPED = 150


def load_paragraphs(corpus: Path) -> list[str]:
    paras: dict[str, None] = {}
    for page in sorted((corpus / "articles").glob("*/*.html")):
        tree = LexborHTMLParser(page.read_bytes().decode("utf-8", "replace"))
        for node in tree.css("script, style, noscript"):
            node.decompose()
        text = tree.body.text(separator="\n") if tree.body else ""
        for line in text.splitlines():
            line = " ".join(line.split())
            if len(line) >= 60 and is_arabic(line):
                paras[line] = None
    return list(paras)


def make_articles(paras: list[str], n: int, rng: random.Random) -> list[tuple[str, list[str]]]:
    articles = []
    for _ in range(n):
        body: list[str] = []
        words = 0
        while words < WORDS_PER_ARTICLE:
            p = rng.choice(paras)
            body.append(p)
            words += len(p.split())
        title = " ".join(rng.choice(paras).split()[:10])
        articles.append((title, body))
    return articles


class Vocabulary:
    """Rule words: a corpus word with probability ``p_corpus``, else a made-up name.

    A real 10,000-rule deployment watches names and topics from an open vocabulary, and one
    article holds a tiny share of it. Our corpus has only ~3,000 content words and every
    recombined article holds ~10% of them, so drawing all rule terms from it (``p_corpus`` = 1,
    the worst case) makes thousands of rules fire on every article. ``p_corpus`` = 0.01 and 0.05
    give about 25 and 125 rules fired per article. Made-up names splice halves of two corpus
    words, so their letters look like real tokens. Phrases pair a word drawn the same way with a
    made-up second word, or (with ``p_corpus``) are real corpus bigrams.
    """

    def __init__(self, paras: list[str], rng: random.Random, p_corpus: float) -> None:
        self.rng = rng
        self.p_corpus = p_corpus
        toks = [t for p in paras for t in TOKEN_RE.findall(p) if is_arabic(t, 1.0)]
        counts = Counter(normalize_text(t) for t in toks)
        stop = {w for w, _ in counts.most_common(STOPWORDS_SKIPPED)}
        toks = [t for t in toks if len(t) >= 3]
        self.known = set(counts)
        self.words = sorted({t for t in toks if normalize_text(t) not in stop})
        self.bigrams = sorted(
            {
                f"{a} {b}"
                for p in paras
                for a, b in zip(p.split(), p.split()[1:], strict=False)
                if TOKEN_RE.fullmatch(a) and TOKEN_RE.fullmatch(b) and normalize_text(a) not in stop
            }
        )

    def made_up(self) -> str:
        while True:
            a, b = self.rng.choice(self.words), self.rng.choice(self.words)
            name = a[: max(2, len(a) // 2)] + b[len(b) // 2 :]
            if len(name) >= 4 and normalize_text(name) not in self.known:
                return name

    def word(self) -> str:
        return self.rng.choice(self.words) if self.rng.random() < self.p_corpus else self.made_up()

    def phrase(self) -> str:
        if self.rng.random() < self.p_corpus:
            return f'"{self.rng.choice(self.bigrams)}"'
        # Same odds per word as single terms; when the first word is a corpus word the
        # continuation check runs and usually fails.
        return f'"{self.word()} {self.made_up()}"'

    def operand(self) -> str:
        return self.phrase() if self.rng.random() < 0.25 else self.word()


def make_rules(vocab: Vocabulary, n: int) -> list[RuleSpec]:
    rng, w, o = vocab.rng, vocab.word, vocab.operand
    shapes = [
        (30, lambda: w()),
        (15, lambda: vocab.phrase()),
        (20, lambda: "(" + " OR ".join(o() for _ in range(rng.randint(2, 4))) + ")"),
        (12, lambda: f"{o()} AND {o()}"),
        (8, lambda: f"({w()} OR {w()}) NEAR/5 {o()}"),
        (3, lambda: f"{w()} NEAR/8 {w()} NEAR/8 {w()}"),
        (5, lambda: f"{o()} NOT {w()}"),
        (4, lambda: f"title:{w()} OR ({o()} AND {o()})"),
        (3, lambda: _prefix(rng, w)),
    ]
    weights = [s[0] for s in shapes]
    rules = []
    for i in range(n):
        make = rng.choices(shapes, weights)[0][1]
        r = rng.random()
        scope = "paragraph" if r < 0.10 else "sentence" if r < 0.15 else "document"
        excepts = (vocab.phrase().strip('"'),) if rng.random() < 0.05 else ()
        rules.append(RuleSpec(f"rule-{i}", make(), scope, excepts))
    return rules


def _prefix(rng: random.Random, w) -> str:  # type: ignore[no-untyped-def]
    """A stem prefix such as صاروخ* (no clitic or article in front, as users write them)."""
    while True:
        word = normalize_text(w())
        if len(word) >= 6 and word[0] not in "اوفبكل":
            return word[:4] + "*"


def article_bytes(articles: list[tuple[str, list[str]]]) -> int:
    return sum(len(t.encode()) + sum(len(p.encode()) for p in ps) for t, ps in articles)


def timed(fn) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - c0, time.perf_counter() - w0, out


def run_matcher(index: RuleIndex, articles: list[tuple[str, list[str]]]) -> tuple[int, int]:
    """Match and read each fired rule's hits (RuleMatch computes its fields when first read)."""
    fired = hits = 0
    for title, paras in articles:
        for m in index.match(title, paras):
            fired += 1
            hits += len(m.hits)
    return fired, hits


def run_matcher_all_fields(index: RuleIndex, articles: list[tuple[str, list[str]]]) -> int:
    """Match and read every field of every fired rule, snippet included, as pipeline.py stores them."""
    n = 0
    for title, paras in articles:
        for m in index.match(title, paras):
            n += len(m.terms) + len(m.hits) + len(m.snippet)
    return n


def regex_anchor(rules: list[RuleSpec]) -> re.Pattern[str]:
    """The naive approach: one alternation of every term's normalized text, word-bounded."""
    terms = {
        " ".join(normalize_text(t.text.strip('"*')).split()) for r in rules for t in query_terms(parse_query(r.query))
    }
    alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")


def run_regex(pattern: re.Pattern[str], articles: list[tuple[str, list[str]]]) -> int:
    n = 0
    for title, paras in articles:
        for text in (title, *paras):
            n += sum(1 for _ in pattern.finditer(normalize_text(text)))
    return n


def tokenize_only(articles: list[tuple[str, list[str]]]) -> None:
    """A fixed reference workload: a regex split of the text into tokens (what the matcher's scan
    did before it split on whitespace). Printed alongside so readers can tell a slow machine (other
    jobs running) from a slow matcher."""
    for title, paras in articles:
        for text in (title, *paras):
            MATCH_SPLIT(text)


def scan_only(index: RuleIndex, articles: list[tuple[str, list[str]]]) -> None:
    """The part whose cost does not depend on the rule count: tokenize, look up, verify phrases."""
    for title, paras in articles:
        index.terms.scan_many([title, *paras])


class Case:
    """One rule set: built, run once cold, then measured warm in rounds interleaved with the others."""

    def __init__(
        self, label: str, rules: list[RuleSpec], articles, anchor_articles, rounds: int, loops: int = 1
    ) -> None:  # type: ignore[no-untyped-def]
        self.label, self.rules, self.rounds = label, rules, rounds
        self.build_s, _, self.index = timed(lambda: RuleIndex.build(rules))
        cold_cpu, _, _ = timed(lambda: run_matcher(self.index, articles))  # type: ignore[arg-type]
        self.cold_mbs = article_bytes(articles) / 1e6 / cold_cpu
        # Warm rounds go over the articles ``loops`` times so that each timing lasts a few hundred
        # milliseconds: short timings on a shared machine are mostly scheduler noise.
        self.articles = articles * loops
        self.mb = article_bytes(self.articles) / 1e6
        pattern = regex_anchor(rules)
        re_cpu, _, _ = timed(lambda: run_regex(pattern, anchor_articles))
        self.regex_mbs = article_bytes(anchor_articles) / 1e6 / re_cpu
        self.warm: list[tuple[float, float]] = []  # (cpu, wall) per round
        self.full: list[float] = []  # cpu per round, all fields read
        self.scan: list[float] = []
        self.fired = 0

    def measure(self) -> None:
        if len(self.warm) >= self.rounds:
            return
        cpu, wall, (fired, _) = timed(lambda: run_matcher(self.index, self.articles))  # type: ignore[arg-type, misc]
        self.warm.append((cpu, wall))
        self.fired = fired
        full_cpu, _, _ = timed(lambda: run_matcher_all_fields(self.index, self.articles))  # type: ignore[arg-type]
        self.full.append(full_cpu)
        scan_cpu, _, _ = timed(lambda: scan_only(self.index, self.articles))  # type: ignore[arg-type]
        self.scan.append(scan_cpu)

    def result(self) -> dict:  # type: ignore[type-arg]
        cpu, wall = min(self.warm)
        out = {
            "label": self.label,
            "rules": len(self.rules),
            "build_s": self.build_s,
            "cold_mbs": self.cold_mbs,
            "warm_mbs": self.mb / cpu,
            "warm_wall_mbs": self.mb / wall,
            "full_mbs": self.mb / min(self.full),
            "scan_mbs": self.mb / min(self.scan),
            "articles_per_s": len(self.articles) / cpu,
            "fired_per_article": self.fired / len(self.articles),
            "regex_mbs": self.regex_mbs,
            "memo_tokens": len(self.index.terms._memo),
        }
        print(
            f"{self.label}: build {self.build_s:.2f} s; matcher cold {out['cold_mbs']:.1f} MB/s,"
            f" warm {out['warm_mbs']:.1f} MB/s CPU ({out['warm_wall_mbs']:.1f} wall,"
            f" {out['articles_per_s']:.0f} articles/s), all fields read {out['full_mbs']:.1f} MB/s,"
            f" scan alone {out['scan_mbs']:.1f} MB/s;"
            f" {out['fired_per_article']:.1f} rules fired/article; naive re {out['regex_mbs']:.2f} MB/s"
        )
        return out


def index_memory(rules: list[RuleSpec]) -> float:
    tracemalloc.start()
    index = RuleIndex.build(rules)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del index
    return current / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    ap.add_argument("--articles", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--write", type=Path)
    args = ap.parse_args()
    rng = random.Random(SEED)
    paras = load_paragraphs(args.corpus)
    articles = make_articles(paras, args.articles, rng)
    typical = Vocabulary(paras, rng, p_corpus=0.01)
    busy = Vocabulary(paras, rng, p_corpus=0.05)
    worst = Vocabulary(paras, rng, p_corpus=1.0)
    tokens = sum(len(TOKEN_RE.findall(" ".join([t, *ps]))) for t, ps in articles)
    size = article_bytes(articles) / len(articles)
    print(
        f"{len(paras)} corpus paragraphs, {len(typical.words)} corpus rule words, {len(articles)} articles,"
        f" {size / 1e3:.1f} kB and {tokens / len(articles):.0f} tokens each"
    )
    large = make_rules(typical, 10_000)
    r = args.repeats
    cases = [
        Case("10 rules, all terms from the corpus", make_rules(worst, 10), articles, articles, r, loops=5),
        Case("10,000 rules, 1% corpus terms", large, articles, articles[:6], r, loops=2),
        Case("10,000 rules, 5% corpus terms", make_rules(busy, 10_000), articles, articles[:6], r),
        Case(
            "10,000 rules, all terms from the corpus (worst case)",
            make_rules(worst, 10_000),
            articles[:10],
            articles[:3],
            1,
        ),
    ]
    # Rounds interleave every case with the tokenizing floor, so a burst of load from other jobs
    # hits all of them alike; each figure is its fastest round.
    floor_cpu = []
    for _ in range(r):
        for case in cases:
            case.measure()
        floor_cpu.append(timed(lambda: tokenize_only(articles))[0])
    results = [case.result() for case in cases]
    load = os.getloadavg()[0]
    print(f"load average (1 min) at the end: {load:.2f} on {os.cpu_count()} CPUs")
    mem = index_memory(large)
    print(f"index memory for 10,000 rules (tracemalloc, after build): {mem:.1f} MiB")
    floor = article_bytes(articles) / 1e6 / min(floor_cpu)
    print(f"regex tokenizing alone (shows the machine's current speed): {floor:.1f} MB/s")
    if args.write:
        write_results(args.write, results, mem, floor, len(articles), size, load)


def write_results(  # type: ignore[type-arg]
    path: Path, results: list[dict], mem: float, floor: float, n: int, size: float, load: float
) -> None:
    cmd = "cd /work/main && .venv/bin/python bench/matching.py --write bench/RESULTS.matching.md"
    rows = "\n".join(
        f"| {r['label']} | {r['build_s']:.2f} s | {r['cold_mbs']:.1f} | **{r['warm_mbs']:.1f}**"
        f" | {r['warm_wall_mbs']:.1f} | {r['full_mbs']:.1f} | {r['articles_per_s']:.0f} | {r['fired_per_article']:.1f}"
        f" | {r['scan_mbs']:.1f} | {r['regex_mbs']:.2f} |"
        for r in results
    )
    header = (
        "| rule set | build | cold MB/s | warm MB/s (CPU) | warm MB/s (wall) | all fields read MB/s | articles/s"
        " | rules fired/article | scan alone MB/s | naive `re` MB/s |"
    )
    r10, r10k = results[0], results[1]

    def met(ok: bool) -> str:
        return "met" if ok else "MISSED"

    busy = results[2]
    verdict = (
        f"10 rules {r10['warm_mbs']:.1f} MB/s ({met(r10['warm_mbs'] >= 10)});"
        f" 10,000 rules at ~{r10k['fired_per_article']:.0f} rules fired/article {r10k['warm_mbs']:.1f} MB/s"
        f" ({met(r10k['warm_mbs'] >= 5)}); at ~{busy['fired_per_article']:.0f} fired/article"
        f" {busy['warm_mbs']:.1f} MB/s ({met(busy['warm_mbs'] >= 5)}); index {mem:.1f} MiB ({met(mem <= 30)})."
    )
    costs = [
        (1 / r["articles_per_s"] - size / 1e6 / r["scan_mbs"]) / r["fired_per_article"] * 1e6 for r in results[1:3]
    ]
    per_rule = "-".join(f"{c:.0f}" for c in sorted(costs))
    path.write_text(
        f"""# Matching benchmark (written by bench/matching.py)

Command: `{cmd}`

Python {sys.version.split()[0]}, one process, one thread, on the shared 2-core machine (other engineers'
benchmarks were running: warm figures are the fastest of 5 rounds that interleave all rule sets and the
tokenizing floor, in CPU time). {n} articles of ~1,000
tokens ({size / 1e3:.1f} kB UTF-8 each) recombined from the Arabic paragraphs of
/work/shared/corpus/articles. MB/s = 10**6 bytes of UTF-8 per CPU second. "Cold" is the first pass
(token memo empty), "warm" a later pass (a daemon's steady state); both read each fired rule's hits.
"All fields read" also reads `terms` and `snippet` of every fired rule, as the pipeline does when it
stores matches (RuleMatch computes terms, hits and snippet when first read). "Scan alone" is
tokenizing, term lookup and phrase verification without evaluating rules or building RuleMatch
objects: the part whose cost does not grow with the rule count. Rules mix words, phrases, OR-groups,
AND, NEAR (chained too), NOT, title:, prefixes, paragraph/sentence scope and except phrases; see
`Vocabulary` for how many of their terms come from the corpus (that decides how many rules fire per
article). The worst case uses 10 articles. The naive `re` anchor is one word-bounded alternation of
the same terms over normalized text (no clitic handling at all), run on a subset of the articles.

{header}
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{rows}

A regex split of every paragraph into tokens (a fixed reference workload; the matcher itself splits on
whitespace and memoizes per chunk) ran at {floor:.1f} MB/s in this run: compare against it when the
machine is busier or quieter. Load average (1 min) when the run ended: {load:.2f}.

Index memory for 10,000 rules (tracemalloc, after build, token memo empty): **{mem:.1f} MiB**.
The token memo grows with the vocabulary seen ({results[1]["memo_tokens"]:,} distinct raw tokens after
this run) and is cleared when it reaches 300,000 entries.

Targets: >= 10 MB/s with 10 rules, >= 5 MB/s with 10,000 rules, index <= 30 MiB. In this run:
{verdict}

Cost model from these rows: the scan (tokenize, look up, verify phrases) runs at the "scan alone" rate
whatever the rule count; on top, each rule that fires costs about {per_rule} µs of CPU (evaluating the
candidates, building its RuleMatch and Hit objects; snippets are extra, see "all fields read"). So
10,000 rules stay above 5 MB/s only while a typical article fires a few dozen of them; the 5% and
worst-case rows show what happens when rule terms are common words of the articles. Figures vary by
+-30% between runs on this shared machine.
"""
    )


if __name__ == "__main__":
    main()
