"""Scale-out on PostgreSQL: three `scraper worker` processes against a loopback news site of 30 sources on
three hosts (127.0.0.1-3), one worker killed with SIGKILL in the middle of a job. Also the single-node
daemon: `scraper run` answers /healthz, refuses a second scheduler, stops with exit 0 on SIGTERM.

The site counts requests in flight per host on the server side, so the politeness cap is measured where
it matters, not trusted from the client."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from scraper.demo.articles import DemoArticle
from scraper.demo.receiver import WebhookReceiver
from scraper.demo.site import render_feed, render_page
from scraper.ops.lock import libpq_url
from scraper.schedule.queue import HOST_CAP, cron_every, pick_due
from tests.conftest import free_port

PER_HOST_CONCURRENCY = 2  # the Fetcher's default per-host limit inside one worker
WORDS = ("الاقتصاد", "الزراعة", "المياه", "التعليم", "الصحة", "النقل", "الطاقة", "السياحة", "الثقافة", "الرياضة",
         "الموازنة", "الضرائب", "الاستثمار", "الصناعة", "التجارة", "الموانئ", "المطارات", "الطرق", "الجسور", "الكهرباء",
         "الاتصالات", "المصارف", "البورصة", "العقارات", "الإسكان", "البلديات", "الشباب", "المرأة", "الأطفال", "المسنين",
         "الجامعات", "المدارس", "المستشفيات", "الأدوية", "اللقاحات", "البيئة", "المناخ", "الغابات", "الصحراء", "البحار",
         "الأسماك", "القمح", "الشعير", "النخيل", "الزيتون", "الحدود", "الجمارك", "الشرطة", "القضاء", "البرلمان")


def make_article(source: int, index: int) -> DemoArticle:
    """A distinct article (words drawn per article, so near-duplicate detection keeps them apart); every
    fourth one is about Tehran and Moscow, the rule's topic."""
    rng = random.Random(source * 1000 + index)
    words = rng.sample(WORDS, 24)
    lead = (f"بحث وفد من طهران في موسكو ملفات {words[0]} و{words[1]}" if index % 4 == 0
            else f"ناقش المجلس في دورته قضايا {words[0]} و{words[1]}")
    paragraphs = tuple(f"وتناول النقاش {' و'.join(words[i:i + 6])} بحسب مصادر مطلعة." for i in range(2, 24, 6))
    return DemoArticle(outlet=f"s{source}", slug=f"a{index}", title=f"{lead} ({source}-{index})",
                       author="محرر", published="2026-11-28T10:00:00+03:00", paragraphs=(f"{lead}.", *paragraphs))


@dataclass
class MultiHostSite:
    """One news site served on several loopback addresses (same port), ``sources`` feeds spread over
    them, ``per_feed`` articles per feed plus one article also listed by a neighbour on the same host."""

    hosts: tuple[str, ...] = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
    sources: int = 30
    per_feed: int = 5
    delay: float = 0.2
    port: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    active: Counter[str] = field(default_factory=Counter)
    max_active: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    servers: list[ThreadingHTTPServer] = field(default_factory=list)

    def host_of(self, source: int) -> str:
        return self.hosts[source % len(self.hosts)]

    def base(self, source: int) -> str:
        return f"http://{self.host_of(source)}:{self.port}"

    def feed_url(self, source: int) -> str:
        return f"{self.base(source)}/s{source}/rss.xml"

    def unique_article_urls(self) -> int:
        return self.sources * self.per_feed

    def feed_articles(self, source: int) -> list[DemoArticle]:
        own = [make_article(source, j) for j in range(self.per_feed)]
        neighbour = (source + len(self.hosts)) % self.sources  # same host: the same URL in two feeds
        return [*own, make_article(neighbour, 1)]

    def respond(self, path: str) -> tuple[int, str, bytes]:
        parts = path.strip("/").split("/")
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nAllow: /\n"
        if len(parts) == 2 and parts[0].startswith("s") and parts[0][1:].isdigit():
            source = int(parts[0][1:])
            if parts[1] == "rss.xml":
                return 200, "application/rss+xml; charset=utf-8", render_feed(
                    self.base(source), f"s{source}", self.feed_articles(source)).encode()
            if parts[1].startswith("a") and parts[1].endswith(".html"):
                art = make_article(source, int(parts[1][1:-5]))
                return 200, "text/html; charset=utf-8", render_page(self.base(source), art).encode()
        return 404, "text/plain", b"not found"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = str(self.server.server_address[0])
                with site.lock:
                    site.hits[self.path] += 1
                    site.active[host] += 1
                    site.max_active[host] = max(site.max_active[host], site.active[host])
                try:
                    time.sleep(site.delay)  # the page takes a while to serve, so requests overlap
                    status, ctype, body = site.respond(self.path)
                finally:
                    # Counted out before the answer is written: once the client has the answer it may
                    # start its next request, which must not overlap this one in the count.
                    with site.lock:
                        site.active[host] -= 1
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                return

        return Handler

    def __enter__(self) -> MultiHostSite:
        for _attempt in range(20):
            try:
                first = ThreadingHTTPServer((self.hosts[0], 0), self._handler())
                self.port = first.server_address[1]
                self.servers = [first] + [ThreadingHTTPServer((h, self.port), self._handler()) for h in self.hosts[1:]]
                break
            except OSError:
                for srv in self.servers:
                    srv.server_close()
                self.servers = []
        assert self.servers, "could not bind the same port on every loopback host"
        for srv in self.servers:
            threading.Thread(target=srv.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()

    def write_config(self, path: Path, hook_url: str) -> Path:
        sources = "".join(f"  - {{name: s{i}, url: '{self.feed_url(i)}', interval: 1h}}\n" for i in range(self.sources))
        path.write_text(f"channels:\n  ops: {{type: webhook, url: '{hook_url}', secret: k}}\n"
                        "rules:\n  - {name: tehran-moscow, query: 'طهران AND موسكو', channels: [ops]}\n"
                        f"sources:\n{sources}", encoding="utf-8")
        return path


def scraper_env(db_url: str, config: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": db_url, "SCRAPER_CONFIG": str(config), "SCRAPER_ALLOW_PRIVATE_NETWORKS": "1",
            "SCRAPER_LOG_FORMAT": "json", **extra}


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "scraper", "worker", "--concurrency", "4", "--heartbeat", "0.5",
                             "--stalled-after", "3"], env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("wb"))


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for p in procs:
            assert p.poll() is None or p.returncode == -signal.SIGKILL, f"a worker exited with {p.returncode}"
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class DB:
    def __init__(self, db_url: str) -> None:
        self.conninfo = libpq_url(db_url)

    def rows(self, sql: str, *params: object) -> list[tuple]:  # type: ignore[type-arg]
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def value(self, sql: str, *params: object) -> object:
        return self.rows(sql, *params)[0][0]


Q = "procrastinate.procrastinate_jobs"


@dataclass
class ScaleRun:
    db: DB
    site: MultiHostSite
    hook: WebhookReceiver
    killed_jobs: list[int]
    elapsed: float
    exit_codes: list[int]
    logs: list[Path]


def all_done(db: DB, sources: int) -> bool:
    fetched = db.value("SELECT count(*) FROM sources WHERE last_success_at IS NOT NULL")
    busy = db.value(f"SELECT count(*) FROM {Q} WHERE task_name IN ('scraper.refresh', 'scraper.deliver') "
                    "AND status IN ('todo', 'doing')")
    pending = db.value("SELECT count(*) FROM alerts WHERE status = 'pending'")
    return fetched == sources and busy == 0 and pending == 0


def run_three_workers(db_url: str, tmp_path: Path) -> Iterator[ScaleRun]:
    db = DB(db_url)
    with MultiHostSite() as site, WebhookReceiver("k") as hook:
        config = site.write_config(tmp_path / "sources.yaml", hook.url)
        env = scraper_env(db_url, config, SCRAPER_TICK_SECONDS="1")
        procs: list[subprocess.Popen[bytes]] = []
        ids: list[int] = []
        logs = [tmp_path / f"worker{i}.log" for i in range(3)]
        started = time.monotonic()
        try:
            for i in range(3):  # one at a time, to learn each process's Procrastinate worker id
                procs.append(start_worker(env, logs[i]))
                wait_for(lambda n=i: len(db.rows("SELECT id FROM procrastinate.procrastinate_workers")) > n,
                         60, f"worker {i} to register", procs)
                ids.append(int(db.value("SELECT max(id) FROM procrastinate.procrastinate_workers")))  # type: ignore[arg-type]

            def victim_busy() -> bool:
                return bool(db.rows(f"SELECT 1 FROM {Q} WHERE task_name = 'scraper.refresh' AND status = 'doing' "
                                    "AND worker_id = %s", ids[0]))

            wait_for(victim_busy, 60, "the first worker to be running a refresh", procs)
            procs[0].send_signal(signal.SIGKILL)  # mid-job, no chance to clean up
            procs[0].wait(timeout=10)
            killed = [r[0] for r in db.rows(f"SELECT id FROM {Q} WHERE status = 'doing' AND worker_id = %s", ids[0])]
            wait_for(lambda: all_done(db, site.sources), 150, "every source, article and alert", procs)
            elapsed = time.monotonic() - started
            for p in procs[1:]:
                p.send_signal(signal.SIGTERM)
            codes = [p.wait(timeout=60) for p in procs[1:]]
            yield ScaleRun(db, site, hook, killed, elapsed, codes, logs)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()


@pytest.mark.slow
def test_three_workers_one_killed(pg_url: str, tmp_path: Path) -> None:
    run = next(run_three_workers(pg_url, tmp_path))
    db, site = run.db, run.site
    tails = "\n".join(p.read_text(errors="replace")[-1500:] for p in run.logs[1:])
    assert run.exit_codes == [0, 0], tails

    # Every source fetched (server side and recorded), no refresh job failed.
    assert all(site.hits[f"/s{i}/rss.xml"] >= 1 for i in range(site.sources))
    assert db.value("SELECT count(*) FROM sources WHERE last_success_at IS NOT NULL") == site.sources
    statuses = dict(db.rows(f"SELECT status::text, count(*) FROM {Q} WHERE task_name = 'scraper.refresh' GROUP BY 1"))
    assert set(statuses) == {"succeeded"}, statuses

    # The tick ran once per period: three periodic deferrers (one killed), never two ticks doing the work
    # of one period, and most periods had their tick.
    stamps = [e["timestamp"] for e in events(run.logs, "queue.tick")]
    assert len(stamps) == len(set(stamps)), Counter(stamps).most_common(3)
    assert len(stamps) >= run.elapsed * 0.5, (len(stamps), run.elapsed)

    # Politeness across workers, counted by the server.
    assert max(site.max_active.values()) <= HOST_CAP * PER_HOST_CONCURRENCY, site.max_active
    assert max(site.max_active.values()) >= 2, "requests never overlapped: the test did not exercise the cap"

    # Idempotent writes: one article per unique URL, whichever worker (or retry) stored it.
    assert db.value("SELECT count(*) FROM articles") == site.unique_article_urls()

    # Every alert the matches called for was sent, and none twice but the one the kill may have caught
    # between its send and its record (delivery is at-least-once: a worker sends one message at a time, and
    # that one goes out again when its lease runs out; a clean-clone run on 2026-11-29 caught exactly that).
    ids = [d.payload["id"] for d in run.hook.deliveries]
    repeats = {i: n for i, n in Counter(ids).items() if n > 1}
    assert ids and len(repeats) <= 1 and set(repeats.values()) <= {2}, repeats
    assert all(d.signature_ok for d in run.hook.deliveries)
    alerts = dict(db.rows("SELECT status, count(*) FROM alerts GROUP BY 1"))
    assert alerts == {"sent": len(set(ids))}
    stories = db.value("SELECT count(DISTINCT story_id) FROM matches WHERE rule = 'tehran-moscow'")
    assert stories == len(set(ids))

    # The killed worker's job went back to the queue and finished elsewhere; nothing is left running.
    assert run.killed_jobs
    for job in run.killed_jobs:
        assert db.value(f"SELECT status::text FROM {Q} WHERE id = %s", job) in {"succeeded", "failed"}
        kinds = {r[0] for r in db.rows("SELECT type::text FROM procrastinate.procrastinate_events "
                                        "WHERE job_id = %s", job)}
        assert "deferred_for_retry" in kinds or "failed" in kinds, kinds
    assert db.value(f"SELECT count(*) FROM {Q} WHERE status = 'doing'") == 0


def events(logs: list[Path], name: str) -> list[dict]:  # type: ignore[type-arg]
    """The JSON log events called ``name`` in the workers' stderr files."""
    found = []
    for path in logs:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{") and f'"event": "{name}"' in line:
                found.append(json.loads(line))
    return found


def get_json(url: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow
def test_single_node_daemon_health_lock_and_clean_stop(tmp_path: Path) -> None:
    """`scraper run` with its web server: /healthz answers 200, a second `scraper run` on the same data
    directory is refused with a clear message, SIGTERM stops the first with exit status 0."""
    site = MultiHostSite(hosts=("127.0.0.1",), sources=3, delay=0.0)
    with site, WebhookReceiver("k") as hook:
        config = site.write_config(tmp_path / "sources.yaml", hook.url)
        port = free_port()
        env = scraper_env(f"sqlite:///{tmp_path / 'data' / 'scraper.db'}", config, SCRAPER_TICK_SECONDS="1",
                          SCRAPER_WEB_PORT=str(port))
        proc = subprocess.Popen([sys.executable, "-m", "scraper", "run"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            deadline, status, body = time.monotonic() + 60, 0, {"error": "/healthz never answered: does "
                                                                 "`scraper run` serve SCRAPER_WEB_PORT?"}
            while time.monotonic() < deadline and status != 200:
                assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
                try:
                    status, body = get_json(f"http://127.0.0.1:{port}/healthz")
                except OSError:
                    time.sleep(0.3)
            assert status == 200, body
            assert body["checks"]["scheduler"]["ok"] is True
            second = subprocess.run([sys.executable, "-m", "scraper", "run"], env=env, capture_output=True,
                                    text=True, timeout=60)
            assert second.returncode != 0
            assert "another scheduler" in second.stderr and "scraper.lock" in second.stderr
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=45)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err.decode()[-2000:]


@pytest.mark.parametrize(("due", "busy", "cap", "limit", "expected"), [
    ([("a", "h1"), ("b", "h1"), ("c", "h1")], {}, 2, 10, ["a", "b"]),
    ([("a", "h1"), ("b", "h1"), ("c", "h2")], {"h1": 1}, 2, 10, ["a", "c"]),
    ([("a", "h1"), ("b", "h2")], {"h1": 2, "h2": 2}, 2, 10, []),
    ([("a", "h1"), ("b", "h2"), ("c", "h3")], {}, 1, 2, ["a", "b"]),
    ([], {}, 2, 10, []),
])
def test_pick_due_caps_per_host_and_in_all(due: list[tuple[str, str]], busy: dict[str, int], cap: int,
                                           limit: int, expected: list[str]) -> None:
    assert [n for n, _h in pick_due(due, Counter(busy), cap, limit)] == expected


@pytest.mark.parametrize(("seconds", "cron"), [
    (0.4, "* * * * * */1"), (5, "* * * * * */5"), (7, "* * * * * */6"), (30, "* * * * * */30"),
    (59, "* * * * * */30"), (60, "*/1 * * * *"), (600, "*/10 * * * *"), (1800, "*/30 * * * *"), (7200, "0 * * * *"),
])
def test_cron_every(seconds: float, cron: str) -> None:
    assert cron_every(seconds) == cron
