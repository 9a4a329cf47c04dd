"""Warm lexbor parse time of the 181 English benchmark pages, for the installed selectolax and for others.

    .venv/bin/python bench/parse_speed.py [--corpus ../shared/corpus] [--rounds 3] [--build NAME=DIR ...]

Each ``--build`` is a directory holding an unpacked selectolax wheel (``python -m zipfile -e WHEEL DIR``),
e.g. PyPI's (``pip download --only-binary :all: --no-deps selectolax==1.0.2``) or one built without the
patch; "installed" is always timed too, and is the anchor the others are compared with. Each build runs in
its own process (one selectolax per process), the builds alternating round by round so that a slow spell of
the machine hits them all; the figure is the median over rounds of the mean ms per page (8 passes over the
pages, after one untimed pass). Prints each build's version, figure and ratio to the installed one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run in the child: the pages as extraction.py loads them, one untimed pass, then 8 timed.
CHILD = """
import sys, time, importlib.metadata
sys.path.insert(0, {bench!r}); sys.path.insert(1, {repo!r})
from pathlib import Path
from extraction import english_pages
from selectolax.lexbor import LexborHTMLParser
pages = [html for html, _, _ in english_pages(Path({corpus!r}))]
for html in pages:
    LexborHTMLParser(html)
start = time.process_time()
for _ in range(8):
    for html in pages:
        LexborHTMLParser(html)
print(importlib.metadata.version("selectolax"), (time.process_time() - start) * 1000 / 8 / len(pages))
"""


def time_build(site: str | None, corpus: str) -> tuple[str, float]:
    env = dict(os.environ)
    if site:
        env["PYTHONPATH"] = site
    code = CHILD.format(bench=str(REPO / "bench"), repo=str(REPO), corpus=corpus)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    version, ms = out.stdout.split()
    return version, float(ms)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="/work/shared/corpus")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--build", action="append", default=[], help="NAME=DIR of an unpacked selectolax wheel")
    args = ap.parse_args()
    builds: dict[str, str | None] = {"installed": None}
    builds.update(dict(spec.split("=", 1) for spec in args.build))
    times: dict[str, list[float]] = {name: [] for name in builds}
    versions: dict[str, str] = {}
    for _ in range(args.rounds):
        for name, site in builds.items():
            versions[name], ms = time_build(site, args.corpus)
            times[name].append(ms)
    anchor = statistics.median(times["installed"])
    print(f"command: .venv/bin/python bench/parse_speed.py --corpus {args.corpus} --rounds {args.rounds} "
          + " ".join(f"--build {spec}" for spec in args.build))
    for name in builds:
        median = statistics.median(times[name])
        print(f"{name} (selectolax {versions[name]}): {median:.3f} ms/page warm, CPU, 181 English pages "
              f"= {median / anchor:.2f}x the installed build's")


if __name__ == "__main__":
    main()
