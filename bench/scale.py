"""Scale-out benchmark: articles per second end to end with 1, 2 and 3 `scraper worker` processes, and
the single-node daemon's steady memory with 1,000 sources.

    .venv/bin/python bench/scale.py [--sources 60] [--hosts 30] [--per-feed 5] [--memory-sources 1000]
                                    [--write bench/RESULTS.scale.md]

Needs PostgreSQL on 127.0.0.1 (SCRAPER_TEST_PG, as the tests) and the loopback addresses 127.0.0.x.
Each run gets a fresh database; sources are made due only once every worker has registered, so process
start-up is not counted. Politeness stays on (per host: 2 requests at once, 0.5 s between starts), so
hosts are spread over many loopback addresses as real sources are spread over many sites.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scraper.config import load_config  # noqa: E402
from scraper.ops.lock import libpq_url  # noqa: E402
from scraper.store import repo  # noqa: E402
from scraper.store.db import make_engine, upgrade  # noqa: E402
from scraper.store.db import session as open_session  # noqa: E402
from tests.integration.test_scale import MultiHostSite  # noqa: E402

PG_ADMIN = os.environ.get("SCRAPER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def fresh_database() -> tuple[str, str]:
    name = f"scraper_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    upgrade(url)
    return name, url


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def value(db_url: str, sql: str) -> int:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0


def env_for(db_url: str, config: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": db_url, "SCRAPER_CONFIG": str(config), "SCRAPER_ALLOW_PRIVATE_NETWORKS": "1",
            "SCRAPER_LOG_FORMAT": "json", "SCRAPER_LOG_LEVEL": "WARNING", "SCRAPER_TICK_SECONDS": "1"}


def run_workers(n: int, site: MultiHostSite, tmp: Path, timeout: float) -> tuple[float, int]:
    """(seconds, articles) for ``n`` workers to store every article of the site."""
    name, db_url = fresh_database()
    config = site.write_config(tmp / f"sources{n}.yaml", "http://127.0.0.1:9/hook")
    engine = make_engine(db_url)
    with open_session(engine) as s:  # sources exist but are not due until the clock starts
        repo.sync_sources(s, load_config(config))
    engine.dispose()
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("UPDATE sources SET next_check_at = now() + interval '1 day'")
    procs = [subprocess.Popen([sys.executable, "-m", "scraper", "worker", "--concurrency", "4"],
                              env=env_for(db_url, config), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(n)]
    try:
        deadline = time.monotonic() + 120
        while value(db_url, "SELECT count(*) FROM procrastinate.procrastinate_workers") < n:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit("workers did not start; is `scraper worker` wired into the CLI?")
            time.sleep(0.2)
        with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
            conn.execute("UPDATE sources SET next_check_at = now()")
        started = time.monotonic()
        want = site.unique_article_urls()
        while value(db_url, "SELECT count(*) FROM articles") < want and time.monotonic() - started < timeout:
            if value(db_url, "SELECT count(*) FROM procrastinate.procrastinate_jobs WHERE status = 'failed'"):
                with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
                    err = conn.execute("SELECT last_error FROM sources WHERE last_error IS NOT NULL LIMIT 1").fetchone()
                raise SystemExit(f"a job failed; the pipeline is broken: {err[0] if err else 'see worker logs'}")
            time.sleep(0.1)
        return time.monotonic() - started, value(db_url, "SELECT count(*) FROM articles")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        drop_database(name)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def daemon_memory(sources: int, hosts: int, tmp: Path, settle: float, timeout: float) -> dict[str, float]:
    """Resident memory of `scraper run` (SQLite) with ``sources`` sources, once every source has been
    polled once and again ``settle`` seconds later."""
    addresses = tuple(f"127.0.0.{i}" for i in range(1, hosts + 1))
    with MultiHostSite(hosts=addresses, sources=sources, per_feed=1, delay=0.0) as site:
        config = site.write_config(tmp / "mem.yaml", "http://127.0.0.1:9/hook")
        db_url = f"sqlite:///{tmp / 'mem' / 'scraper.db'}"
        upgrade(db_url)
        proc = subprocess.Popen([sys.executable, "-m", "scraper", "run"], env=env_for(db_url, config),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            started = time.monotonic()
            done = 0
            while time.monotonic() - started < timeout:
                done = sum(1 for i in range(sources) if site.hits[f"/s{i}/rss.xml"])
                if done == sources:
                    break
                time.sleep(1)
            first_pass = time.monotonic() - started
            after_pass = rss_kib(proc.pid)
            time.sleep(settle)
            return {"polled": done, "first_pass_s": first_pass, "rss_after_pass_mib": after_pass / 1024,
                    "rss_steady_mib": rss_kib(proc.pid) / 1024}
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=60)
    ap.add_argument("--hosts", type=int, default=30)
    ap.add_argument("--per-feed", type=int, default=5)
    ap.add_argument("--memory-sources", type=int, default=1000)
    ap.add_argument("--memory-hosts", type=int, default=100)
    ap.add_argument("--write", type=Path)
    args = ap.parse_args()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"scraper-bench-{uuid.uuid4().hex[:6]}"
    tmp.mkdir(parents=True)
    hosts = tuple(f"127.0.0.{i}" for i in range(1, args.hosts + 1))
    rows = []
    with MultiHostSite(hosts=hosts, sources=args.sources, per_feed=args.per_feed, delay=0.02) as site:
        for n in (1, 2, 3):
            seconds, articles = run_workers(n, site, tmp, timeout=600)
            rows.append((n, seconds, articles, articles / seconds))
            print(f"{n} worker(s): {articles} articles in {seconds:.1f}s = {articles / seconds:.1f}/s", flush=True)
    mem = daemon_memory(args.memory_sources, args.memory_hosts, tmp, settle=30, timeout=900)
    print(f"daemon, {args.memory_sources} sources: {mem}", flush=True)
    report = render(args, rows, mem)
    print(report)
    if args.write:
        args.write.write_text(report, encoding="utf-8")


def render(args: argparse.Namespace, rows: list[tuple[int, float, int, float]], mem: dict[str, float]) -> str:
    base = rows[0][3]
    lines = [
        "# Scale-out benchmark", "",
        f"Command: `.venv/bin/python bench/scale.py --sources {args.sources} --hosts {args.hosts} "
        f"--per-feed {args.per_feed} --memory-sources {args.memory_sources} --write bench/RESULTS.scale.md`", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s) shared with other work, Python "
        f"{platform.python_version()}, PostgreSQL on 127.0.0.1. Loopback news site, {args.sources} feeds on "
        f"{args.hosts} loopback hosts, {args.per_feed} articles per feed, 20 ms per response. Politeness on "
        "(per host and worker: 2 requests at once, 0.5 s between starts; at most 2 sources in flight per host "
        "across workers). Each worker runs 4 jobs at once. Time from the moment sources become due "
        "(every worker registered) to the last article stored.", "",
        "| workers | articles | seconds | articles/s | × one worker |", "|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {n} | {a} | {s:.1f} | {r:.1f} | {r / base:.2f} |" for n, s, a, r in rows]
    lines += [
        "", f"Single-node daemon (`scraper run`, SQLite), {args.memory_sources} sources on {args.memory_hosts} "
        "loopback hosts, one article per feed:", "",
        f"- sources polled: {mem['polled']:.0f} of {args.memory_sources} in {mem['first_pass_s']:.0f} s",
        f"- resident memory after the first pass: {mem['rss_after_pass_mib']:.0f} MiB",
        f"- resident memory 30 s later (steady): {mem['rss_steady_mib']:.0f} MiB", "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
