"""Near-duplicate story detection, measured: test set, precision/recall, lookup cost at 1M, storage.

    .venv/bin/python bench/stories.py build      # regenerate tests/fixtures/stories/syndication.json.gz
    .venv/bin/python bench/stories.py quality    # sweep shingle size / bins / thresholds on the test set
    .venv/bin/python bench/stories.py scale      # 1M-signature index: lookup cost, memory; SQLite size

Base articles: paragraphs of the Arabic pages in /work/shared/corpus/articles (HTML stripped with
selectolax) plus texts written for this test (tests/fixtures/stories/written_ar.json), several of them
hard negatives: different stories on one topic and day sharing names and phrases. Each base gets the
variants an editor makes; all variants of a base are one story, any two bases are different stories.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures" / "stories"
CORPUS = Path("/work/shared/corpus/articles")
SEED = 20240501

DATELINES = ["دمشق - سانا", "القاهرة - (أ ش أ) -", "بيروت - رويترز:", "الرياض - واس -", "طهران - إرنا"]
AGENCY_LINES = ["(وكالة الأنباء القطرية)", "(د ب أ)", "(أ ف ب)", "المصدر: وكالات", "(رويترز)"]
BOILER_BEFORE = ["الرئيسية / أخبار / عربي ودولي", "حجم الخط", "طباعة"]
BOILER_AFTER = [
    "شارك هذا الخبر فيسبوك تويتر واتساب تيليجرام نسخ الرابط",
    "تابعونا على تطبيق نبض وعلى قناتنا في تلغرام لمتابعة آخر الأخبار العاجلة",
    "جميع الحقوق محفوظة © 2024",
]
SYNONYMS = {"قال": "أكد", "وقال": "وأكد", "أعلن": "أفاد", "اليوم": "الیوم", "إن": "أن", "في": "فى"}
DATELINE_RE = re.compile(r"^[^،,:()\-]{2,30}[،,]?\s*[^()]{0,20}\((?:CNN|[^)]{1,25})\)\s*-+\s*")


def read_corpus_bases() -> list[dict]:
    """One base per distinct Arabic article page: <p> texts that are Arabic and longer than 60 chars."""
    from selectolax.lexbor import LexborHTMLParser

    from scraper.normalize.text import is_arabic

    bases = []
    seen: set[str] = set()
    for path in sorted(CORPUS.glob("*/*.html")):
        if path.parent.name.startswith("_") or ".goose3." in path.name:
            continue  # English benchmark pages; the second saved copy of the CNN page
        tree = LexborHTMLParser(path.read_bytes().decode("utf-8", "replace"))
        paras = [" ".join(p.text().split()) for p in tree.css("p")]
        paras = [p for p in paras if len(p) > 60 and is_arabic(p) and "رئيس التحرير" not in p]
        if not paras:
            txt = path.with_suffix(".txt")  # pages without <p>: use the shipped ground-truth body
            paras = [p.strip() for p in txt.read_text().split("\n") if p.strip()] if txt.exists() else []
        if len(paras) == 1:  # one long paragraph: split into sentences so trimming means something
            paras = [s.strip() + "." for s in re.split(r"[.!؟]\s+", paras[0]) if len(s.split()) > 3]
        if len(paras) < 2 or paras[0] in seen:
            continue
        seen.add(paras[0])
        bases.append({"id": f"c-{path.stem}", "topic": path.parent.name, "title": path.stem, "paragraphs": paras})
    return bases


def make_variants(base: dict, other_titles: list[str], rng: random.Random) -> list[dict]:
    """Versions of one story as other outlets or later edits publish it."""
    paras: list[str] = list(base["paragraphs"])
    title = base["title"]

    def v(name: str, ps: list[str], t: str = title) -> dict:
        return {"story": base["id"], "topic": base["topic"], "variant": name, "title": t, "paragraphs": ps}

    def dateline(ps: list[str]) -> list[str]:
        first = DATELINE_RE.sub("", ps[0])
        return [f"{rng.choice(DATELINES)} {first}", *ps[1:], rng.choice(AGENCY_LINES)]

    def boiler(ps: list[str]) -> list[str]:
        mid = max(1, len(ps) // 2)
        read_also = [f"اقرأ أيضا: {t}" for t in rng.sample(other_titles, 2)]
        return [*BOILER_BEFORE, *ps[:mid], *read_also, *ps[mid:], *BOILER_AFTER]

    def retouch(ps: list[str]) -> list[str]:
        out = []
        for p in ps:
            words = [SYNONYMS.get(w, w) if rng.random() < 0.5 else w for w in p.split()]
            text = " ".join(words).replace("،", ",").replace("ة ", "ةُ ")
            out.append(text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")))
        return out

    trim_first = paras[1:] if len(paras) >= 3 else [paras[0], *paras[1:]][: len(paras)]
    trim_last = paras[:-1] if len(paras) >= 3 else paras
    reordered = list(paras)
    if len(paras) >= 3:
        i = rng.randrange(1, len(paras) - 1)
        reordered[i], reordered[i + 1] = reordered[i + 1], reordered[i]
    lead = paras[: max(2, (len(paras) + 1) // 2)]
    return [
        v("original", paras),
        v("dateline", dateline(paras)),
        v("trim-first", trim_first),
        v("trim-last+agency", [*trim_last, rng.choice(AGENCY_LINES)]),
        v("reorder+headline", reordered, f"عاجل | {title} (تحديث)"),
        v("boilerplate", boiler(paras)),
        v("retouched", retouch(paras)),
        v("combo", retouch(boiler(dateline(trim_last)))),
        v("lead-only", lead, f"{title} - موجز"),
    ]


def build_testset() -> list[dict]:
    rng = random.Random(SEED)
    written = json.loads((FIXTURES / "written_ar.json").read_text())
    bases = read_corpus_bases() + written
    titles = [b["title"] for b in written]
    docs = []
    for base in bases:
        others = [t for t in titles if t != base["title"]]
        docs.extend(make_variants(base, others, rng))
    for i, d in enumerate(docs):
        d["id"] = i + 1
    return docs


def load_testset() -> list[dict]:
    with gzip.open(FIXTURES / "syndication.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


def cmd_build() -> None:
    docs = build_testset()
    data = json.dumps(docs, ensure_ascii=False, indent=0).encode("utf-8")
    (FIXTURES / "syndication.json.gz").write_bytes(gzip.compress(data, mtime=0))
    stories = {d["story"] for d in docs}
    print(f"{len(docs)} documents, {len(stories)} stories, {len(data) // 1024} KiB json")


def pair_scores(docs: list[dict], n: int, k: int) -> list[tuple[bool, str, float, float, float, float]]:
    """(same story, variant pair, exact J, exact C, estimated J, estimated C) for every pair."""
    from scraper.dedupe.fingerprint import (
        estimate_containment,
        estimate_jaccard,
        fingerprint,
        shingle_hashes,
    )
    from scraper.normalize.text import tokenize

    sets = [shingle_hashes([t for p in d["paragraphs"] for t in tokenize(p)], n) for d in docs]
    sigs = [fingerprint(d["paragraphs"], shingle_size=n, num_bins=k) for d in docs]
    out = []
    for i in range(len(docs)):
        for j in range(i + 1, len(docs)):
            a, b = sets[i], sets[j]
            inter = len(a & b)
            ej = estimate_jaccard(sigs[i], sigs[j])
            kind = "/".join(sorted((docs[i]["variant"], docs[j]["variant"])))
            out.append((
                docs[i]["story"] == docs[j]["story"], kind, inter / len(a | b), inter / min(len(a), len(b)),
                ej, estimate_containment(sigs[i], sigs[j], ej),
            ))
    return out


def precision_recall(pairs: list, rule) -> tuple[float, float]:
    tp = sum(1 for p in pairs if p[0] and rule(p))
    fp = sum(1 for p in pairs if not p[0] and rule(p))
    fn = sum(1 for p in pairs if p[0] and not rule(p))
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def cmd_quality() -> None:
    docs = load_testset()
    print(f"{len(docs)} docs, {len({d['story'] for d in docs})} stories, "
          f"{sum(1 for i, a in enumerate(docs) for b in docs[i + 1:] if a['story'] == b['story'])} same-story pairs")
    print("\n## Pair rule, no LSH: shingle size n × bins k × rule (P, R over all pairs)")
    rules = [(0.3, 9.0), (0.4, 9.0), (0.3, 0.6), (0.35, 0.7), (0.4, 0.7), (0.5, 0.8)]
    print("| n | k | max negative J / C (estimated) | mean abs J error | "
          + " | ".join(f"J≥{a} or C≥{c}" if c < 2 else f"J≥{a}" for a, c in rules) + " |")
    print("|---|---|---|---|" + "---|" * len(rules))
    for n in (1, 2, 3, 4, 5):
        for k in (64, 128):
            pairs = pair_scores(docs, n, k)
            neg = [p for p in pairs if not p[0]]
            err = sum(abs(p[4] - p[2]) for p in pairs) / len(pairs)
            cells = []
            for tj, tc in rules:
                pr = precision_recall(pairs, lambda p, tj=tj, tc=tc: p[4] >= tj or p[5] >= tc)
                cells.append(f"{pr[0]:.3f} / {pr[1]:.3f}")
            print(f"| {n} | {k} | {max(p[4] for p in neg):.3f} / {max(p[5] for p in neg):.3f} | {err:.4f} | "
                  + " | ".join(cells) + " |")
    print("\n## StoryIndex.assign, n=3 k=128, 20 shuffled arrival orders (pairwise P / R of clusters)")
    for bands, rows in ((42, 3), (32, 4), (64, 2), (25, 5)):
        for threshold in (0.25, 0.3, 0.35):
            p, r, worst = cluster_quality(docs, bands, rows, threshold)
            print(f"bands={bands} rows={rows} threshold={threshold}: P={p:.4f} R={r:.4f} (worst order R={worst:.4f})")


def cluster_quality(docs: list[dict], bands: int, rows: int, threshold: float, orders: int = 20):
    from datetime import UTC, datetime, timedelta

    from scraper.dedupe.fingerprint import fingerprint
    from scraper.dedupe.stories import StoryIndex

    sigs = {d["id"]: fingerprint(d["paragraphs"], d["title"]) for d in docs}
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    ps, rs = [], []
    for seed in range(orders):
        rng = random.Random(seed)
        order = list(docs)
        rng.shuffle(order)
        index = StoryIndex(bands=bands, rows=rows)
        cluster = {}
        for i, d in enumerate(order):
            story = index.assign(d["id"], sigs[d["id"]], t0 + timedelta(minutes=7 * i), threshold)
            cluster[d["id"]] = story if story is not None else d["id"]
        tp = fp = fn = 0
        for i, a in enumerate(docs):
            for b in docs[i + 1 :]:
                same, joined = a["story"] == b["story"], cluster[a["id"]] == cluster[b["id"]]
                tp += same and joined
                fp += joined and not same
                fn += same and not joined
        ps.append(tp / max(1, tp + fp))
        rs.append(tp / max(1, tp + fn))
    return sum(ps) / len(ps), sum(rs) / len(rs), min(rs)


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def _random_signature(rng: random.Random):
    from array import array

    from scraper.dedupe.fingerprint import NUM_BINS, Signature

    vals = array("I")
    vals.frombytes(rng.randbytes(4 * NUM_BINS))
    return Signature(tuple(vals), 150 + rng.randrange(400))


def cmd_scale(total: int = 1_000_000, queries: int = 2000) -> None:
    import time
    from datetime import UTC, datetime, timedelta

    from scraper.dedupe.fingerprint import Signature
    from scraper.dedupe.stories import StoryIndex

    rng = random.Random(SEED)
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    step = timedelta(days=7) / total  # the whole set inside one 7-day window
    rss0 = _rss_mib()
    index = StoryIndex()
    kept = []
    start = time.perf_counter()
    for i in range(total):
        sig = _random_signature(rng)
        index.add(i + 1, sig, t0 + step * i)
        if i % (total // 500) == 0:
            kept.append(sig)
    build = time.perf_counter() - start
    rss1 = _rss_mib()
    grown = rss1 - rss0
    print(f"index of {len(index):,} synthetic signatures: built in {build:.0f} s ({build / total * 1e6:.0f} µs/add), "
          f"RSS +{grown:.0f} MiB ({grown * 2**20 / total:.0f} B/article)")
    now = t0 + timedelta(days=7)
    # Half the queries are unseen texts, half are near copies (a quarter of the bins changed).
    probes = []
    for q in range(queries):
        if q % 2:
            base = list(rng.choice(kept).values)
            for j in rng.sample(range(len(base)), len(base) // 4):
                base[j] = rng.getrandbits(32)
            probes.append((True, Signature(tuple(base), 300)))
        else:
            probes.append((False, _random_signature(rng)))
    times, hits = [], 0
    for is_copy, sig in probes:
        t = time.perf_counter()
        found = index.find(sig, around=now)
        times.append(time.perf_counter() - t)
        hits += is_copy and bool(found) and found[0][1] >= 0.3
    times.sort()
    print(f"find() over {len(index):,}: mean {sum(times) / len(times) * 1e3:.3f} ms, "
          f"p50 {times[len(times) // 2] * 1e3:.3f} ms, p99 {times[int(len(times) * 0.99)] * 1e3:.3f} ms; "
          f"near copies found {hits}/{queries // 2}")
    del index
    sqlite_size(100_000)


def sqlite_size(n: int) -> None:
    import os
    import sqlite3
    import tempfile
    import time

    from scraper.dedupe.stories import BANDS, band_keys

    rng = random.Random(SEED + 1)
    with tempfile.TemporaryDirectory() as tmp:
        for layout, ddl in (
            ("rowid table + index(band_key)",
             "CREATE TABLE band (band_key BLOB NOT NULL, article_id INTEGER NOT NULL, published_at INTEGER NOT NULL);"
             "CREATE INDEX band_key_ix ON band(band_key);"),
            ("WITHOUT ROWID, PRIMARY KEY(band_key, article_id)",
             "CREATE TABLE band (band_key BLOB NOT NULL, article_id INTEGER NOT NULL, published_at INTEGER NOT NULL,"
             " PRIMARY KEY (band_key, article_id)) WITHOUT ROWID;"),
        ):
            path = os.path.join(tmp, f"{len(layout)}.db")
            db = sqlite3.connect(path)
            db.executescript(ddl)
            sigs = []
            for i in range(n):
                sig = _random_signature(rng)
                if i % 100 == 0:
                    sigs.append(sig)
                ts = 1_714_521_600 + i * 6
                db.executemany("INSERT INTO band VALUES (?, ?, ?)", [(k, i + 1, ts) for k in band_keys(sig)])
            db.commit()
            db.execute("VACUUM")
            size = os.path.getsize(path)
            marks = ",".join("?" * BANDS)
            t = time.perf_counter()
            for sig in sigs:
                db.execute(f"SELECT article_id FROM band WHERE band_key IN ({marks})", band_keys(sig)).fetchall()
            q = (time.perf_counter() - t) / len(sigs)
            db.close()
            print(f"SQLite {layout}: {n:,} articles × {BANDS} keys = {size / 2**20:.0f} MiB "
                  f"({size / n:.0f} B/article; 1M ≈ {size / n * 1e6 / 2**30:.2f} GiB); "
                  f"band_key IN (...) lookup {q * 1e3:.3f} ms")


if __name__ == "__main__":
    commands = {"build": cmd_build, "quality": cmd_quality, "scale": cmd_scale}
    commands[sys.argv[1] if len(sys.argv) > 1 else "build"]()
