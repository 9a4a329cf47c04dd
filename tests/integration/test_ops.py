"""Operations: /healthz and /metrics on a real database, the one-scheduler lock across two real
processes (SQLite file lock and PostgreSQL advisory lock), ``scraper doctor`` against real services."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from scraper import metrics
from scraper.cli_ops import register
from scraper.ops.lock import data_dir_of
from scraper.store.db import make_engine
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, Article, Story, utcnow
from scraper.web import ops
from tests.conftest import SMTPSink, free_port

# --- /healthz and /metrics -------------------------------------------------------------------------


def make_client(db_url: str, beat: list) -> Iterator[TestClient]:  # type: ignore[type-arg]
    engine = make_engine(db_url)
    app = FastAPI()
    app.state.ops = ops.Ops(engine=engine, heartbeat=lambda: beat[0], heartbeat_max_age=60)
    app.include_router(ops.router)
    try:
        yield TestClient(app)
    finally:
        engine.dispose()


def add_alert(db_url: str, due_ago: timedelta, attempts: int = 0, status: str = "pending") -> None:
    engine = make_engine(db_url)
    now = utcnow()
    with open_session(engine) as s:
        story = Story(first_source="s", title="t")
        s.add(story)
        s.flush()
        art = Article(url_hash=f"h{now.timestamp()}{attempts}{status}", url="http://x/a", canonical_url="http://x/a",
                      source="s", story_id=story.id, content_hash="c", published_at=now - timedelta(minutes=5))
        s.add(art)
        s.flush()
        s.add(Alert(key=f"k{art.id}", rule="r", channel="c", story_id=story.id or 0, article_id=art.id or 0,
                    status=status, attempts=attempts, next_attempt_at=now - due_ago))
        s.commit()
    engine.dispose()


def test_healthz_ok_then_unhealthy_on_stale_heartbeat(db_url: str) -> None:
    beat = [utcnow()]
    client = next(make_client(db_url, beat))
    r = client.get("/healthz")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok"
    assert set(r.json()["checks"]) == {"database", "scheduler", "outbox"}
    beat[0] = utcnow() - timedelta(minutes=5)
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["failing"] == ["scheduler"]
    assert "last scheduler tick" in r.json()["checks"]["scheduler"]["detail"]
    beat[0] = None
    assert client.get("/healthz").json()["checks"]["scheduler"]["ok"] is False


def test_healthz_outbox_stuck_only_when_never_attempted(sqlite_url: str) -> None:
    beat = [utcnow()]
    client = next(make_client(sqlite_url, beat))
    add_alert(sqlite_url, due_ago=timedelta(hours=1), attempts=3)  # retrying: the outbox is working
    add_alert(sqlite_url, due_ago=timedelta(minutes=1))  # fresh: not stuck yet
    assert client.get("/healthz").status_code == 200
    add_alert(sqlite_url, due_ago=timedelta(hours=1))  # due an hour, never tried: stuck
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["failing"] == ["outbox"]
    assert "without a delivery attempt" in r.json()["checks"]["outbox"]["detail"]


def test_healthz_database_down() -> None:
    port = free_port()  # nothing listens there
    client = next(make_client(f"postgresql+psycopg://postgres@127.0.0.1:{port}/nope?connect_timeout=2",
                              [utcnow()]))
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["failing"] == ["database"]
    assert "outbox" not in r.json()["checks"]


def parse_metrics(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_metrics_counters_and_outbox_gauges_from_the_database(sqlite_url: str) -> None:
    client = next(make_client(sqlite_url, [utcnow()]))
    before = parse_metrics(client.get("/metrics").text)
    metrics.observe_fetch("aljazeera", "error", "timeout", 2.0)
    metrics.observe_articles("aljazeera", new=3, updated=1)
    metrics.observe_match("iran-russia", 2)
    metrics.observe_alert("ops", "sent", published_at=utcnow() - timedelta(seconds=90))
    metrics.observe_tick(0.01)
    add_alert(sqlite_url, due_ago=timedelta(minutes=1))
    add_alert(sqlite_url, due_ago=timedelta(minutes=1), status="sent")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    after = parse_metrics(r.text)

    def delta(key: str) -> float:
        return after[key] - before.get(key, 0.0)

    assert delta('scraper_fetches_total{error_class="timeout",outcome="error",source="aljazeera"}') == 1
    assert delta('scraper_articles_total{kind="new",source="aljazeera"}') == 3
    assert delta('scraper_articles_total{kind="updated",source="aljazeera"}') == 1
    assert delta('scraper_matches_total{rule="iran-russia"}') == 2
    assert delta('scraper_alerts_total{channel="ops",status="sent"}') == 1
    assert delta('scraper_alert_latency_seconds_bucket{le="60.0"}') == 0
    assert delta('scraper_alert_latency_seconds_bucket{le="120.0"}') == 1
    assert delta("scraper_tick_duration_seconds_count") == 1
    assert after["scraper_outbox_pending"] == 1  # the sent one is not pending
    assert 0 < after["scraper_outbox_oldest_pending_seconds"] < 60


# --- one scheduler per data directory --------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from scraper.ops.lock import scheduler_lock
    with scheduler_lock(sys.argv[1]) as where:
        print("locked", where, flush=True)
        time.sleep(120)
""")
TRY = textwrap.dedent("""
    import sys
    from scraper.ops.lock import SchedulerLocked, scheduler_lock
    try:
        with scheduler_lock(sys.argv[1]):
            print("acquired", flush=True)
    except SchedulerLocked as exc:
        print(exc, flush=True)
        sys.exit(3)
""")


def run_try(db_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", TRY, db_url], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_second_scheduler_is_refused_until_the_first_dies(backend: str, tmp_path: Path,
                                                          request: pytest.FixtureRequest) -> None:
    db_url = (f"sqlite:///{tmp_path / 'data' / 'scraper.db'}" if backend == "sqlite"
              else request.getfixturevalue("pg_url"))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().startswith("locked")
        second = run_try(db_url)
        assert second.returncode == 3, second.stdout + second.stderr
        assert "another scheduler" in second.stdout
        if backend == "sqlite":
            assert f"pid {holder.pid}" in second.stdout
            assert str(tmp_path / "data" / "scraper.lock") in second.stdout
        holder.send_signal(signal.SIGKILL)  # the kernel (or PostgreSQL) releases the lock of a dead process
        holder.wait(timeout=10)
        third = run_try(db_url)
        assert third.returncode == 0, third.stdout + third.stderr
        assert third.stdout.strip() == "acquired"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_data_dir_of() -> None:
    assert data_dir_of("sqlite:////data/scraper.db") == Path("/data")
    assert data_dir_of("sqlite:///:memory:") == Path.cwd()


# --- scraper doctor --------------------------------------------------------------------------------


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def write_config(path: Path, hosts: list[str]) -> Path:
    sources = "".join(f"  - {{name: s{i}, url: 'http://{h}/rss.xml'}}\n" for i, h in enumerate(hosts))
    path.write_text("channels:\n  mail: {type: email, to: [a@example.org]}\n"
                    "rules:\n  - {name: r, query: 'طهران', channels: [mail]}\n"
                    f"sources:\n{sources}", encoding="utf-8")
    return path


def doctor(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> tuple[int, list[dict[str, str]]]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli(), ["doctor", "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_doctor_all_ok(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str,
                       smtp_server: SMTPSink) -> None:
    config = write_config(tmp_path / "sources.yaml", ["127.0.0.1:8080", "localhost"])
    code, findings = doctor(monkeypatch, {"DATABASE_URL": sqlite_url, "SCRAPER_CONFIG": str(config),
                                          "SMTP_HOST": smtp_server.host, "SMTP_PORT": str(smtp_server.port)})
    assert code == 0, findings
    assert Counter(f["status"] for f in findings) == {"ok": 6}
    assert [f["check"] for f in findings] == ["settings", "config", "database", "migrations", "smtp", "sources"]


def test_doctor_names_every_broken_thing_with_a_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    empty_pg_url: str) -> None:
    config = write_config(tmp_path / "sources.yaml", ["127.0.0.1", "no-such-host.invalid"])
    code, findings = doctor(monkeypatch, {"DATABASE_URL": empty_pg_url, "SCRAPER_CONFIG": str(config),
                                          "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(free_port())})
    assert code == 1
    by_check = {f["check"]: f for f in findings}
    assert by_check["database"]["status"] == "ok"
    assert by_check["migrations"]["status"] == "fail"
    assert "scraper db upgrade" in by_check["migrations"]["fix"]
    assert by_check["smtp"]["status"] == "fail" and "SMTP_HOST" in by_check["smtp"]["fix"]
    assert by_check["source s1"]["status"] == "fail"
    assert "no-such-host.invalid" in by_check["source s1"]["detail"]
    assert "sources" not in by_check  # the resolvable host is not reported as a problem


def test_doctor_bad_config_and_unreachable_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - {name: x, url: 'ftp://nope'}\n", encoding="utf-8")
    code, findings = doctor(monkeypatch, {
        "SCRAPER_CONFIG": str(bad),
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x?connect_timeout=2"})
    assert code == 1
    by_check = {f["check"]: f for f in findings}
    assert by_check["config"]["status"] == "fail" and "sources.yaml:2" in by_check["config"]["detail"]
    assert by_check["database"]["status"] == "fail" and "DATABASE_URL" in by_check["database"]["fix"]
    assert by_check["migrations"]["status"] == "fail"
    assert "smtp" not in by_check  # needs a valid config


def test_doctor_table_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path / "sources.yaml", ["127.0.0.1"])
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SCRAPER_CONFIG", str(config))
    monkeypatch.setenv("SMTP_PORT", str(free_port()))
    result = CliRunner().invoke(cli(), ["doctor"])
    assert result.exit_code == 1
    assert "smtp" in result.stdout and "fail" in result.stdout and "SMTP_HOST" in result.stdout
