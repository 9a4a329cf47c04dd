"""The JSON API over a real database: search and filters, pages, limits, errors, access control,
and the embedded server the daemon runs (real uvicorn on a free port)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from scraper.config import Config, Settings
from scraper.errors import ConfigError
from scraper.store.db import make_engine, session
from scraper.store.tables import Alert, RuleMatch, SourceState
from scraper.web.app import create_app, serve_web
from tests.conftest import free_port
from tests.integration.test_search import brute_force, load_articles

CONFIG = Config.model_validate({
    "rules": [{"name": "iran", "query": "إيران"}, {"name": "oil", "query": "نفط*"}],
    "sources": [{"name": n, "url": f"https://{n}.example/feed"} for n in ("alpha", "beta", "gamma")],
})


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def ids(engine: Engine) -> list[int]:
    ids = load_articles(engine)
    with session(engine) as s:
        m = RuleMatch(rule="iran", article_id=ids[0], story_id=1, terms='["إيران"]', snippet="قالت [[وإيران]] اليوم")
        s.add(m)
        s.flush()
        s.add(Alert(key="k1", rule="iran", channel="ops", story_id=1, article_id=ids[0], match_id=m.id, status="sent"))
        s.add(SourceState(name="alpha", url="https://alpha.example/feed", kind="feed"))
        s.commit()
    return ids


@pytest.fixture
def client(engine: Engine, ids: list[int]) -> TestClient:
    return TestClient(create_app(Settings(), CONFIG, engine), raise_server_exceptions=False)


def test_search_endpoint_filters_and_pages(client: TestClient, ids: list[int]) -> None:
    r = client.get("/api/articles", params={"q": "إيران", "source": "alpha"})
    assert r.status_code == 200
    assert [a["id"] for a in r.json()["results"]] == [ids[0]]
    assert r.json()["results"][0]["snippet"] == "قالت [[وإيران]] اليوم إن المفاوضات مستمرة."
    seen, cursor = [], None
    while True:
        body = client.get("/api/articles", params={"limit": 4, **({"cursor": cursor} if cursor else {})}).json()
        seen += [a["id"] for a in body["results"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)
    dated = client.get("/api/articles", params={"from": "2025-03-01", "to": "2025-03-01", "lang": "ar"}).json()
    assert {a["id"] for a in dated["results"]} == set(ids[:11]) - {ids[6]}
    assert client.get("/api/articles", params={"rule": "iran"}).json()["results"][0]["id"] == ids[0]
    grouped = client.get("/api/articles", params={"q": "إيران OR إيراني", "stories": "true"}).json()["results"]
    assert max(a["outlets"] for a in grouped) == 3


def test_limits_and_errors_are_json_without_traces(client: TestClient) -> None:
    r = client.get("/api/articles", params={"q": "إيران AND (روسيا"})
    assert r.status_code == 400
    assert r.json() == {"error": "query_syntax", "message": "unbalanced '('", "position": 10}
    assert client.get("/api/articles", params={"limit": 201}).status_code == 422
    assert client.get("/api/articles", params={"q": "ا" * 1001}).status_code == 422
    bad = client.get("/api/articles", params={"cursor": "garbage"})
    assert bad.status_code == 400 and bad.json()["error"] == "bad_request"
    missing = client.get("/api/articles/999999")
    assert missing.status_code == 404 and missing.json()["error"] == "http_error"
    assert client.get("/api/rules/nope/matches").status_code == 404
    for resp in (r, bad, missing):
        assert "Traceback" not in resp.text and "File \"" not in resp.text


def test_article_story_rules_sources_alerts(client: TestClient, ids: list[int]) -> None:
    art = client.get(f"/api/articles/{ids[0]}").json()
    assert art["paragraphs"][0] == "قالت وإيران اليوم إن المفاوضات مستمرة."
    assert "body_norm" not in art and "title_norm" not in art and "fingerprint" not in art
    assert {s["id"] for s in art["siblings"]} == {ids[1], ids[8]}
    assert art["matches"][0]["rule"] == "iran"
    story = client.get(f"/api/stories/{art['story_id']}").json()
    assert story["outlets"] == 3 and len(story["articles"]) == 3
    assert len(client.get("/api/stories").json()["results"]) == 3
    rules = {r["name"]: r for r in client.get("/api/rules").json()["results"]}
    assert rules["iran"]["matches"] == 1 and rules["oil"]["matches"] == 0
    matches = client.get("/api/rules/iran/matches").json()["results"]
    assert matches[0]["article"]["id"] == ids[0] and matches[0]["terms"] == ["إيران"]
    sources = client.get("/api/sources").json()["results"]
    assert [s["name"] for s in sources] == ["alpha"] and sources[0]["status"] == "never-checked"
    alerts = client.get("/api/alerts", params={"status": "sent"}).json()["results"]
    assert alerts[0]["rule"] == "iran" and alerts[0]["article"]["id"] == ids[0]
    assert client.get("/api/alerts", params={"status": "pending"}).json()["results"] == []


def test_openapi_and_security_headers(client: TestClient) -> None:
    r = client.get("/api/openapi.json")
    paths = set(r.json()["paths"])
    assert {"/api/articles", "/api/articles/{article_id}", "/api/stories", "/api/stories/{story_id}", "/api/rules",
            "/api/rules/{name}/matches", "/api/sources", "/api/alerts"} <= paths
    assert "script-src" not in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_beyond_loopback_needs_a_token(engine: Engine, ids: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCRAPER_API_TOKEN", raising=False)
    with pytest.raises(ConfigError):
        create_app(Settings(), CONFIG, engine, host="0.0.0.0")
    monkeypatch.setenv("SCRAPER_API_TOKEN", "s3cret-ﺱ")
    c = TestClient(create_app(Settings(), CONFIG, engine, host="0.0.0.0"), raise_server_exceptions=False)
    denied = c.get("/api/articles")
    assert denied.status_code == 401 and denied.json()["error"] == "unauthorized"
    assert "Bearer" in denied.headers["www-authenticate"]
    assert c.get("/api/articles", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/feeds/rules/iran.atom").status_code == 401
    assert c.get("/api/articles", headers={"Authorization": "Bearer s3cret-ﺱ".encode()}).status_code == 200
    basic = base64.b64encode("reader:s3cret-ﺱ".encode()).decode()
    assert c.get("/rules", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert c.get("/healthz").status_code == 200  # probes carry no token
    local = TestClient(create_app(Settings(), CONFIG, engine, host="::1"))
    assert local.get("/api/articles").status_code == 200


def test_serve_web_runs_in_the_callers_loop(engine: Engine, ids: list[int]) -> None:
    app = create_app(Settings(), CONFIG, engine)
    port = free_port()

    async def scenario() -> tuple[int, list[int]]:
        stop = asyncio.Event()
        server = asyncio.create_task(serve_web(app, "127.0.0.1", port, stop))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(100):
                try:
                    r = await http.get("/api/articles", params={"q": "الكرملين"})
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(server, 10)
        return r.status_code, [a["id"] for a in r.json()["results"]]

    assert asyncio.run(scenario()) == (200, [ids[2]])


def test_export_command(sqlite_url: str, ids: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    from scraper.cli_web import register

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    app = typer.Typer()
    register(app)
    out = tmp_path / "x.jsonl"
    r = CliRunner().invoke(app, ["export", "نفط*", "--format", "jsonl", "-o", str(out)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == brute_force("نفط*", ids) == [ids[11], ids[7], ids[5], ids[3]]
    bad = CliRunner().invoke(app, ["export", "(نفط"])
    assert bad.exit_code == 2


@pytest.mark.parametrize("path", ["/articles/{id}", "/stories/{id}", "/api/articles/{id}", "/api/stories/{id}"])
def test_ids_past_32_bits_are_refused_not_a_server_error_on_postgresql(pg_url: str, path: str) -> None:
    """Ids are 32-bit columns on PostgreSQL: 2**31 made it raise "integer out of range" (a 500) before the
    routes bounded them (schemathesis found it in the API; the web pages had the same bound of 2**63)."""
    eng = make_engine(pg_url)
    try:
        client = TestClient(create_app(Settings(), CONFIG, eng), raise_server_exceptions=False)
        assert client.get(path.format(id=2**31)).status_code == 422
        assert client.get(path.format(id=2**31 - 1)).status_code == 404
    finally:
        eng.dispose()
