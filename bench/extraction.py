"""Body-extraction benchmark: token F1 and median ms/page, our extract_article vs trafilatura.extract.

    .venv/bin/python bench/extraction.py [--corpus /work/shared/corpus] [--write bench/RESULTS.extraction.md]

Sets: (a) Arabic pages with body ground truth (CNN Arabic x2, LBC: full text; assabah: must/must-not
snippets), (b) the 181-page scrapinghub English benchmark. Also: the 8 date-labelled Arabic pages, and
how far the tabular Hijri calendar (our fallback outside the Umm al-Qura table) is from Umm al-Qura.
Needs trafilatura in the venv (pip install trafilatura); everything else is the project's own code.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scraper.extract import boilerplate, generic
from scraper.extract.article import extract_article
from scraper.extract.hijri import tabular_hijri_to_gregorian

_TOKEN = re.compile(r"\w+")
# The 3 Arabic pages are timed in this many rounds (each page single shot after trafilatura's call, as the
# English ones): a median of 27 calls instead of 3, which was one page's one call and swung 14-26x.
ARABIC_ROUNDS = 9
NOTES = """
## Notes

* Speed: ours = the whole `extract_article` (decoding, metadata, dates and body), trafilatura =
  `trafilatura.extract` (body only), both given the same page. Each set is timed twice: given the page as
  stored (bytes: what a fetch gives, and what the daemon passes on) and given it decoded to str first (how
  the benchmark fed both sides until 2026-11-29). Pages are timed one at a time, ours then trafilatura on
  the same page before the next, so a burst of load hits both sides. Each call is timed once (`--repeat
  N`: best of N in a row, warmer caches); the verdict is on CPU medians (`time.process_time`): wall time
  under load flatters the faster side, as a 20 ms call is preempted far more often than a 1 ms one.
* The "same fields" lines are a separate pass against `trafilatura.extract(..., with_metadata=True)`, which
  extracts what ours always does (title, author, date, URL). They are for context; the target is stated
  against the body-only call, and the verdicts above are on that.
* Warm-up: before any timing both extractors go once over the 8 date-labelled Arabic pages (other outlets
  than the timed pages), as bytes and as str, so first-use costs (trafilatura loads its settings and models
  on its first call, ~150 ms; regular expressions compiled on first use; code paths one page does not take)
  land on no timed page, as in a daemon that has run a while. No timed page is among them, so no per-page
  cache (class-name weights) is primed. Before 2026-11-29 there was no warm-up, and trafilatura's first call
  was the median of the 3 Arabic pages: the "55-80x" Arabic ratio reported then was that artefact.
* Interleaving costs us more than it costs trafilatura: each of our calls starts with caches that 14 ms
  of trafilatura just evicted. Ours alone, warm, English median: ~0.5 ms; single shot here: ~0.75 ms. The
  cold part is mostly fixed per page: a lexbor document allocates ~1 MB even when empty (8.6 us warm,
  37 us after a trafilatura call), so small pages pay most (CNN Arabic, 29 kB: 0.29 ms warm, 0.6-0.8 ms
  single shot).
* 2026-11-29, in order (bytes, single shot, English): 8.9x in the morning -> 13.1-13.6x with the tree walk
  in C (`scraper/extract/_lexwalk.c`: lexbor's structs read directly instead of a selectolax wrapper per
  node) -> 13.8x with UTF-8 validated in one SSE2 pass instead of decoded to a str -> 16.5-16.9x with every
  step after the walk in C (units, votes, best container, siblings, widgets, lines, trim; the regular
  expressions are still Python, called from C) -> 18.2-19.4x with selectolax compiled here with link-time
  optimisation (lexbor's parse 296 -> 249 us warm; see the Makefile), lengths measured on UTF-8 bytes,
  <meta> values and the JSON-LD walk in C, the date sources from one walk. The Python steps stay the
  reference and the fallback: the output is byte-identical on 424 page/input pairs, the tests compare both
  on every fixture, and `bench/fuzz_atheris.py --targets native` on mutated pages.
* Where the time goes now (warm medians per English page, ours alone, ms): lexbor parse 0.25 (of which
  creating and freeing the document ~0.02), body extraction 0.065 (C, plus ~0.015 in the Python regular
  expressions it calls), <meta> + JSON-LD 0.045 (C walk 0.02, json 0.02), decoding 0.01, title, author,
  date, language ~0.03. 20x at trafilatura's 13-15 ms means 0.65-0.75 ms single shot; we are at 0.65-0.78.
  Single shot, by a sampling profile of our calls only (perf with a control fifo, call graphs, 2 x 181
  pages): lexbor's parse 51%, Python 19% (JSON-LD ~6%, the field pickers, the glue), the body's C steps
  10% and the Python they call 7%, <meta>/JSON-LD C walk 4.5%, the UTF-8 scan 2%. Within the parse, tag
  and attribute name lookups in lexbor's static tables are 12%, script and style bodies 13%.
* 2026-11-29, later: ~6% off the English single shot given bytes, 9.4% given str, ~6% off the Arabic one,
  by an in-process A/B of the whole extract_article against the code of that afternoon (each page:
  trafilatura, then one of the two, the order flipping each round; median of the per-page ratios): in the
  C walk an inline whitespace test (CPython's is a call per non-ASCII character, i.e. per Arabic letter),
  block and link text measured and lines normalised 16 ASCII characters at a time; a substring check
  before the case-blind comment-policy search (~4 us a line), boilerplate lines checked from C without a
  Python frame, only the <meta> keys the pickers read turned into str (~7 of ~27 a page), the JSON-LD
  wrapper regex only for blocks that do not start as JSON, site names only for a split title, the
  widget-word regex built as a trie of its words (half the cost of a search); for str input, 16 ASCII
  characters encoded at once (45-71 -> 31-49 us warm), with mojibake's hint (an Ø or a Ù) noted on the
  way. ~2,180 bytecodes a page instead of ~2,770. Runs of the whole benchmark swing by about as much from
  one to the next on this machine (ours 0.58-0.78 ms).
* Tried and dropped (measured): cutting `<script>` bodies out before parsing, in Python (the parse of the
  stripped page plus the scan cost what the full parse did) and then in C, exactly: a scan by the
  tokenizer's rules for script data and RAWTEXT, each cut body replaced by a marker byte, and the parsed
  tree checked (each marker the whole text of an HTML <script> or a <style>, else the page parsed whole).
  Output identical on 428 page/input pairs, no page fell back; but single shot the scan and the copy cost
  41 us and the check 18 us against a parse 17 us shorter (31 us when every non-JSON-LD script went):
  3-4% slower in all. Reusing one lexbor parser or document across pages (through the symbols this build
  exports, past selectolax) saved 1-4% of the parse; -march=native nothing. Also: one CSS query for the
  junk tags or the text blocks (lexbor's selector engine is slower than the walk), malloc tuning (no
  change; no page faults inside our calls), profile-guided optimisation of lexbor (gcc 12 with LTO: parse
  309 us against 249 without it), mypyc on fields, metadata and dates (the same Python compiled to C:
  +1% single shot, its larger code as cold as the interpreter's). Not taken: orjson or msgspec for
  JSON-LD (7-12 us a page cold, but both refuse the raw control characters `strict=False` reads, in 2 of
  189 blocks here: json stays anyway, as the fallback, for ~1.5%). Not done: a pre-filter in C before the
  boilerplate-line regex (its ~14 calls a page cost ~6 us warm; a second copy of its rules is not worth
  that; the calls skip the Python frame since 2026-11-29). Pausing the garbage collector is no gain to
  claim: no collection runs inside our calls here (gc.callbacks over 181 pages).
* 2026-11-29, evening: lexbor patched (`scripts/build_selectolax.py`, run by the Makefile and the Dockerfile;
  the version reads `1.0.2+scraper1`, printed above). Its tokenizer already found the next byte that matters
  8 bytes at a time (SWAR) in text and double-quoted values, but walked `<script>` and `<style>` bodies,
  comments, `<title>`/`<textarea>` and single-quoted values a byte at a time: 20% of a warm parse of the
  English pages (perf). The patch adds the seek to those five states and an SSE2 16-byte step in front of the
  SWAR loop: parse 0.309 -> 0.254 ms warm (-18%), the same serialised tree on all 9,238 parses of the corpus
  and the fixtures (bytes and str), English single shot 19.8-20.7x unpatched against 21.5-22.8x patched in
  alternated runs. With it: class/id label weights by substring for ASCII labels (the case-blind regexes
  only for the others: ~7 -> ~1 us a new label), the UTF-8 scan noting an Ø or a Ù, so pages without one
  skip the mojibake check's second scan (1.9% of a single shot), and parse_date's character clean-up and
  Arabic folding by str.replace of the characters present instead of str.translate (20.8 -> 15.9 us warm
  on CNN Arabic's date line). The output is unchanged: the same ArticleDraft on 420 page/input pairs
  (corpus articles, fixtures, legacy encodings; bytes and str) from the code of that morning (pure-Python
  walk, unpatched selectolax) and from this code with the C walk and without it.
* Why a call after trafilatura costs ~60% more than a warm one (ours alone, English medians: 400 us warm, 640
  after trafilatura): a sweep of 64 MB of memory before each call instead of trafilatura gives 617 us (16 MB:
  529, 4 MB: 452). It is cache misses, code and data, spread over every step (parse 219 -> 300 us, body
  52 -> 89, <meta> + JSON-LD 38 -> 91, decoding 13 -> 24, date 8 -> 22), not something particular to
  trafilatura. Tried against it and dropped, measured: a 32-bit modulo in lexbor's static name hash (no
  change), a thread-local cache of recent tag and attribute names in front of it (4% slower: thread-local
  storage in a shared library costs a call), lexbor at -O2 (single shot the same, warm +6%) and -Os (parse
  +20%), glibc malloc tunables (trim threshold, top pad, mmap threshold, mxfast=0, hugetlb: within noise).
* Hijri: `scraper/extract/hijri.py` converts with the Umm al-Qura calendar (hijridate's tables, 1343-1500 AH)
  since 2026-11-29, and with the tabular calendar (civil epoch) outside them; the line above says how far the
  tabular one is from Umm al-Qura, which is why it is only the fallback now (it was the converter before:
  Eid al-Adha 1444 came out a day late).
* Arabic F1 covers 3 pages only (CNN Arabic twice, LBC); assabah has snippets, not full text. Until the
  evening of 2026-11-29 the Arabic speed median was one page's one call (a 29 kB CNN page), and it swung
  between 14x and 26x from run to run. Since then the 3 pages are timed in 9 rounds, each page single shot
  after trafilatura's call as before, each round starting with our class-label caches emptied (a later
  round finds nothing an earlier one primed; trafilatura's caches are left as they are): a median of 27
  calls, 22.5-23.3x over three runs. The English line, 181 pages in one round, stays the main verdict.
"""


def token_f1(predicted: str, truth: str) -> float:
    """Bag-of-tokens F1 (the scrapinghub benchmark's measure): 0 for an empty prediction."""
    p, t = Counter(_TOKEN.findall(predicted.lower())), Counter(_TOKEN.findall(truth.lower()))
    common = sum((p & t).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(t.values())
    return 2 * precision * recall / (precision + recall)


def ours(html: str | bytes, url: str) -> str:
    return extract_article(html, url).body


def trafilatura_body(html: str | bytes, url: str) -> str:
    import trafilatura

    return trafilatura.extract(html, url=url) or ""


def trafilatura_with_metadata(html: str | bytes, url: str) -> str:
    """The same fields as ours (title, author, date, URL besides the body): informational, not the target."""
    import trafilatura

    return trafilatura.extract(html, url=url, with_metadata=True) or ""


@dataclass
class Side:
    """One extractor's results over a set: F1, wall ms and CPU ms per page."""

    f1: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


Page = tuple[bytes, str, str]  # the page as stored (the bytes a fetch gives), its URL, the ground-truth body


def run(extractors: tuple[Callable[[str | bytes, str], str], ...], pages: list[tuple[str | bytes, str, str]],
        repeat: int = 1, rounds: int = 1) -> list[Side]:
    """Each page goes through every extractor in turn before the next page, so a burst of load on the
    shared machine hits all sides alike (timing one extractor over the whole set and then the other
    let a burst land on one side only). With ``repeat`` > 1 a page's time is the best of that many
    runs in a row (less noise, but warm caches). With ``rounds`` > 1 the whole set is timed that many times
    over, single shot each time (more samples for a small set). Exceptions count as an empty body: a crash
    is a miss."""
    sides = [Side() for _ in extractors]
    # One untimed call each first: trafilatura's first call loads its models and settings (~150 ms),
    # which landed on the first Arabic page and, with 3 pages, in the median (until 2026-11-29).
    for extractor in extractors:
        extractor(pages[0][0], pages[0][1])
    for _ in range(rounds):
        _forget_label_weights()
        _time_pages(extractors, sides, pages, repeat)
    return sides


def _forget_label_weights() -> None:
    """A round starts with our class-label caches empty, as on a page of a site not seen before (a later
    round must not find them primed by an earlier one). trafilatura's own caches are left as they are."""
    generic._label_weight.cache_clear()
    boilerplate.label_is_widget.cache_clear()


def _time_pages(extractors: tuple[Callable[[str | bytes, str], str], ...], sides: list[Side],
                pages: list[tuple[str | bytes, str, str]], repeat: int) -> None:
    for html, url, truth in pages:
        for extractor, side in zip(extractors, sides, strict=True):
            wall = cpu = float("inf")
            for _ in range(repeat):
                w0, c0 = time.perf_counter(), time.process_time()
                try:
                    body = extractor(html, url)
                except Exception:  # the benchmark must finish; a failing page scores 0
                    body = ""
                wall = min(wall, (time.perf_counter() - w0) * 1000)
                cpu = min(cpu, (time.process_time() - c0) * 1000)
            side.wall.append(wall)
            side.cpu.append(cpu)
            side.f1.append(token_f1(body, truth))


def anchor(pages: list[tuple[str | bytes, str, str]]) -> float:
    """Median ms of a bare selectolax parse + body text: the floor any selectolax extractor pays."""
    from selectolax.lexbor import LexborHTMLParser

    times = []
    for html, _, _ in pages:
        start = time.perf_counter()
        tree = LexborHTMLParser(html)
        if tree.body is not None:
            tree.body.text()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def arabic_pages(corpus: Path) -> list[Page]:
    art = corpus / "articles"
    cnn_truth = (art / "arabic.cnn.com/cnn-arabic-2013-syria-clashes.txt").read_text()
    cnn_url = "http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html"
    lbc_url = json.loads((art / "lbcgroup.tv/lbcgroup-2026-01-08.meta.json").read_text())["url"]
    return [
        ((art / "arabic.cnn.com/cnn-arabic-2013-syria-clashes.html").read_bytes(), cnn_url, cnn_truth),
        ((art / "arabic.cnn.com/cnn-arabic-2013-syria-clashes.goose3.html").read_bytes(), cnn_url, cnn_truth),
        ((art / "lbcgroup.tv/lbcgroup-2026-01-08.html").read_bytes(), lbc_url,
         (art / "lbcgroup.tv/lbcgroup-2026-01-08.txt").read_text()),
    ]


def english_pages(corpus: Path) -> list[Page]:
    base = corpus / "articles/_benchmark-scrapinghub-en"
    truth = json.loads((base / "ground-truth.json").read_text())
    pages = []
    for key, item in sorted(truth.items()):
        html = gzip.decompress((base / "html" / f"{key}.html.gz").read_bytes())
        pages.append((html, item["url"], item["articleBody"]))
    return pages


def as_text(pages: list[Page]) -> list[tuple[str | bytes, str, str]]:
    """The pages decoded first (UTF-8, bad bytes replaced): how the benchmark fed both sides until
    2026-11-29, kept as a second line for comparison."""
    return [(html.decode("utf-8", "replace"), url, truth) for html, url, truth in pages]


def snippet_check(corpus: Path, extractor: Callable[[str | bytes, str], str]) -> str:
    art = corpus / "articles/assabah.com.tn"
    gt = json.loads((art / "assabah-sudan-interview.json").read_text())
    body = extractor((art / "assabah-sudan-interview.html").read_text(), gt["url"])
    hits = sum(s in body for s in gt["with"])
    leaks = sum(s in body for s in gt["without"])
    return f"{hits}/{len(gt['with'])} must-have snippets, {leaks}/{len(gt['without'])} boilerplate leaks"


def date_check(corpus: Path) -> str:
    ok, lines = 0, []
    for truth_file in sorted((corpus / "articles").glob("*/*.json")):
        truth = json.loads(truth_file.read_text())
        if "publication_date" not in truth:
            continue
        html = truth_file.with_suffix(".html").read_bytes()
        raw = extract_article(html, truth["url"])
        got = raw.published_at
        good = got is not None and truth["publication_date"] in _local_dates(got)
        ok += good
        lines.append(f"  {truth_file.parent.name}: truth {truth['publication_date']}, got {got} "
                     f"({raw.method.get('published_at')}) {'ok' if good else 'WRONG'}")
    return "\n".join([f"dates: {ok}/{len(lines)} calendar dates right (UTC or UTC+1..+4 local)", *lines])


def _local_dates(utc: object) -> set[str]:
    # The ground truth is the page's local calendar date; Arab sites sit at UTC+1..+4.
    return {(utc + timedelta(hours=h)).date().isoformat() for h in range(5)}  # type: ignore[operator]


def hijri_check() -> str:
    """How far the tabular calendar (hijri.py's fallback outside the Umm al-Qura table) is from Umm al-Qura."""
    from hijridate import Hijri

    diffs: Counter[int] = Counter()
    for year in range(1400, 1451):
        for month in range(1, 13):
            for day in (1, 10, 20, 29):
                ours_d = tabular_hijri_to_gregorian(year, month, day)
                theirs = Hijri(year, month, day).to_gregorian()
                diffs[(ours_d - date(theirs.year, theirs.month, theirs.day)).days] += 1
    total = sum(diffs.values())
    shares = ", ".join(f"{d:+d} day: {n / total:.1%}" for d, n in sorted(diffs.items()))
    return (f"hijri: Umm al-Qura (hijridate) within 1343-1500 AH; the tabular fallback outside it, vs Umm al-Qura "
            f"over 1400-1450 AH ({total} dates): {shares}")


def warm_up(corpus: Path) -> None:
    """Both extractors go once, untimed, over the 8 date-labelled Arabic pages (other outlets than the timed
    ones), as bytes and as str: first-use costs (lazy imports, regular expressions compiled on first use,
    code paths a single warm-up page does not take) then land on no timed page, as they would not in a
    daemon that has run for a while. The timed pages are not among them, so no per-page cache is primed."""
    for truth_file in sorted((corpus / "articles").glob("*/*.json")):
        truth = json.loads(truth_file.read_text())
        if "publication_date" not in truth:
            continue
        html = truth_file.with_suffix(".html").read_bytes()
        for extractor in (ours, trafilatura_body):
            for given in (html, html.decode("utf-8", "replace")):
                extractor(given, truth["url"])


def compare(name: str, pages: list[tuple[str | bytes, str, str]], repeat: int, rounds: int) -> str:
    """One line: F1, then speed. The 20x verdict is on CPU medians: wall time under load flatters the
    faster side (see NOTES)."""
    mine, theirs = run((ours, trafilatura_body), pages, repeat, rounds)
    o_ms, t_ms = statistics.median(mine.wall), statistics.median(theirs.wall)
    o_cpu, t_cpu = statistics.median(mine.cpu), statistics.median(theirs.cpu)
    o_f1, t_f1 = statistics.mean(mine.f1), statistics.mean(theirs.f1)
    return (
        f"{name}: {len(pages)} pages | F1 ours {o_f1:.4f} vs trafilatura {t_f1:.4f} "
        f"[{'met' if o_f1 >= t_f1 else 'NOT met'}] | CPU ms ours {o_cpu:.2f} vs trafilatura {t_cpu:.2f} "
        f"= {t_cpu / o_cpu:.1f}x faster [20x target {'met' if t_cpu >= 20 * o_cpu else 'NOT met'}] | "
        f"wall ms {o_ms:.2f} vs {t_ms:.2f} = {t_ms / o_ms:.1f}x | "
        f"anchor (selectolax parse + text) {anchor(pages):.2f} ms | load average {os.getloadavg()[0]:.2f}"
    )


def compare_same_fields(name: str, pages: list[tuple[str | bytes, str, str]], rounds: int) -> str:
    """A second, separate pass: trafilatura asked for the metadata ours always extracts. Informational: the
    target is stated against trafilatura.extract as called above (body only)."""
    mine, theirs = run((ours, trafilatura_with_metadata), pages, 1, rounds)
    o_cpu, t_cpu = statistics.median(mine.cpu), statistics.median(theirs.cpu)
    return (f"{name}, same fields (trafilatura.extract(..., with_metadata=True), informational): CPU ms ours "
            f"{o_cpu:.2f} vs trafilatura {t_cpu:.2f} = {t_cpu / o_cpu:.1f}x")


def selectolax_build() -> str:
    version = importlib.metadata.version("selectolax")
    if "+scraper" in version:
        return f"{version} (lexbor's scans patched: scripts/build_selectolax.py)"
    return f"{version} (unpatched: the Makefile's patched build did not install; see the README)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="/work/shared/corpus")
    ap.add_argument("--write", default="")
    ap.add_argument("--repeat", type=int, default=1, help="time each page as the best of N runs in a row")
    args = ap.parse_args()
    corpus = Path(args.corpus)
    repeat = f" --repeat {args.repeat}" if args.repeat > 1 else ""
    out = [f"command: .venv/bin/python bench/extraction.py --corpus {corpus}{repeat} --write {args.write or '-'}",
           f"selectolax {selectolax_build()}"]
    sets = ((f"arabic (CNN x2, LBC; {ARABIC_ROUNDS} rounds)", arabic_pages(corpus), ARABIC_ROUNDS),
            ("scrapinghub-en", english_pages(corpus), 1))
    warm_up(corpus)
    for name, pages, rounds in sets:
        for form, given in (("bytes", list(pages)), ("str", as_text(pages))):
            out.append(compare(f"{name}, given {form}", given, args.repeat, rounds))
        out.append(compare_same_fields(f"{name}, given bytes", list(pages), rounds))
    out.append(f"assabah: ours {snippet_check(corpus, ours)}; trafilatura {snippet_check(corpus, trafilatura_body)}")
    out.append(date_check(corpus))
    out.append(hijri_check())
    report = "\n".join(out)
    print(report)
    if args.write:
        Path(args.write).write_text(f"# Extraction benchmark\n\n```\n{report}\n```\n{NOTES}", encoding="utf-8")


if __name__ == "__main__":
    main()
