"""The container setup without a Docker engine: the compose file and Dockerfile are checked as data,
`docker compose config` validates the compose file when the client has the compose plugin, the entry
point runs for real, and the image's install steps (editable install of a copy of the tree in a fresh
virtualenv outside the repository) are replayed to prove `scraper db upgrade` works from that layout."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#")))
    out = []
    for line in logical.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_compose_services_healthchecks_and_dependencies(compose: dict) -> None:  # type: ignore[type-arg]
    services = compose["services"]
    assert set(services) == {"scraper", "worker", "postgres", "mailpit"}
    assert services["postgres"]["image"].startswith("postgres:16")
    for name in ("scraper", "postgres", "mailpit"):
        assert services[name]["healthcheck"]["test"], name
    assert "/healthz" in " ".join(services["scraper"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["scraper"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["scraper"]["command"] == ["run"]
    assert services["scraper"]["environment"]["SMTP_HOST"].endswith(":-mailpit}")
    assert services["scraper"]["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in services["scraper"]["environment"]["DATABASE_URL"]


def test_compose_volumes_and_read_only_config(compose: dict) -> None:  # type: ignore[type-arg]
    services = compose["services"]
    assert {"pgdata", "scraper-data"} <= set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "scraper-data:/data" in services["scraper"]["volumes"]
    for name in ("scraper", "worker"):
        mounts = [v for v in services[name]["volumes"] if isinstance(v, dict)]
        config = [m for m in mounts if m["target"] == "/config/sources.yaml"]
        assert config and config[0]["read_only"] is True and config[0]["source"] == "./sources.yaml", name


def test_compose_scale_profile_runs_workers(compose: dict) -> None:  # type: ignore[type-arg]
    worker = compose["services"]["worker"]
    assert worker["profiles"] == ["scale"]
    assert worker["command"][0] == "worker"
    assert str(worker["deploy"]["replicas"]).startswith("${SCRAPER_WORKERS")
    # Workers start after the daemon has migrated the database.
    assert worker["depends_on"]["scraper"]["condition"] == "service_healthy"
    for name in ("scraper", "postgres", "mailpit"):
        assert "profiles" not in compose["services"][name], f"{name} must start without a profile"


def test_every_compose_variable_is_documented_in_env_example() -> None:
    used = set(VAR_RE.findall(COMPOSE.read_text(encoding="utf-8")))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert used, "the compose file uses no variables? the pattern is broken"
    assert used - documented == set(), f"document these in .env.example: {sorted(used - documented)}"
    # Required secrets are set (uncommented) in the example, so `cp .env.example .env` starts.
    required = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE.read_text(encoding="utf-8")))
    assert required == {"POSTGRES_PASSWORD", "WEBHOOK_SECRET"}
    for name in required:
        assert re.search(rf"^{name}=\S+", example, flags=re.MULTILINE), name


SERVICE_KEYS = {"build", "image", "restart", "environment", "volumes", "command", "ports", "depends_on",
                "healthcheck", "stop_grace_period", "profiles", "deploy"}


def check_structure(compose: dict) -> None:  # type: ignore[type-arg]
    """What `docker compose config` would reject that the tests above do not already cover: unknown
    top-level or service keys (typos), dependencies on services that do not exist."""
    assert set(compose) <= {"name", "services", "volumes", "x-scraper"}, set(compose)
    for name, svc in compose["services"].items():
        assert set(svc) <= SERVICE_KEYS, (name, set(svc) - SERVICE_KEYS)
        assert set(svc.get("depends_on", {})) <= set(compose["services"]), name
        for vol in svc.get("volumes", []):
            if isinstance(vol, str) and not vol.startswith("."):
                assert vol.split(":")[0] in compose["volumes"], vol


def test_docker_compose_config_validates(compose: dict) -> None:  # type: ignore[type-arg]
    """`docker compose config` needs no engine, only the compose plugin. Without the plugin the file is
    checked structurally and the reason is printed; SCRAPER_REQUIRE_DOCKER_COMPOSE=1 makes that a failure."""
    check_structure(compose)
    docker = shutil.which("docker")
    probe = (subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
             if docker else None)
    if probe is None or probe.returncode != 0:
        why = "no docker client" if probe is None else (probe.stderr or probe.stdout).strip().splitlines()[0]
        assert os.environ.get("SCRAPER_REQUIRE_DOCKER_COMPOSE") != "1", f"docker compose is required: {why}"
        print(f"docker compose is not available ({why}); validated the YAML structure only")
        return
    env = {**os.environ, "POSTGRES_PASSWORD": "x", "WEBHOOK_SECRET": "y"}
    for profile in ([], ["--profile", "scale"]):
        result = subprocess.run([docker, "compose", "-f", str(COMPOSE), *profile, "config", "-q"], cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr


def test_dockerfile_multi_stage_non_root_healthcheck() -> None:
    ins = dockerfile_instructions()
    froms = [args for word, args in ins if word == "FROM"]
    assert len(froms) >= 2 and all("AS " in f.upper() for f in froms)
    base = next(args for word, args in ins if word == "ARG" and args.startswith("PYTHON_IMAGE="))
    assert re.match(r"PYTHON_IMAGE=python:3\.11-slim", base)
    final = ins[max(i for i, (w, _a) in enumerate(ins) if w == "FROM"):]
    words = [w for w, _a in final]
    user = next(a for w, a in final if w == "USER")
    assert user not in {"root", "0"}
    assert any(w == "RUN" and "useradd" in a and user in a for w, a in final)
    health = next(a for w, a in final if w == "HEALTHCHECK")
    assert "/healthz" in health
    assert ("STOPSIGNAL", "SIGTERM") in final
    env = " ".join(a for w, a in final if w == "ENV")
    assert "DATABASE_URL=sqlite:////data/scraper.db" in env
    assert any(w == "VOLUME" and "/data" in a for w, a in final)
    assert "pip" not in " ".join(a for w, a in final if w == "RUN"), "install in the build stage only"
    assert words.index("USER") > words.index("RUN")
    entry = next(a for w, a in final if w == "ENTRYPOINT")
    assert "/app/docker/entrypoint.sh" in entry


def copied_paths() -> list[str]:
    """Paths the Dockerfile COPYs from the build context (the first stage)."""
    paths: list[str] = []
    for word, args in dockerfile_instructions():
        if word == "COPY" and not args.startswith("--from"):
            paths += args.split()[:-1]
    return paths


def test_dockerignore_keeps_secrets_and_junk_out_but_not_what_is_copied() -> None:
    ignored = {ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")}
    assert {".git", ".venv", ".env", "data", "tests"} <= ignored
    for path in copied_paths():
        assert path not in ignored and path.split("/")[0] not in ignored, path
        assert (ROOT / path).exists(), path


def run_entrypoint(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run([str(ROOT / "docker/entrypoint.sh"), *args], env={**os.environ, **env, "PATH": path},
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_entrypoint_migrates_before_run_and_passes_other_commands_through(tmp_path: Path) -> None:
    assert os.access(ROOT / "docker/entrypoint.sh", os.X_OK)
    config = tmp_path / "sources.yaml"
    config.write_text("sources: []\n", encoding="utf-8")
    db = tmp_path / "data" / "scraper.db"
    env = {"DATABASE_URL": f"sqlite:///{db}", "SCRAPER_CONFIG": str(config)}
    shown = run_entrypoint(["config"], env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert str(db) in shown.stdout and not db.exists()  # `config` does not migrate
    done = run_entrypoint(["run", "--once"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "is at head" in done.stdout  # `scraper db upgrade` ran first
    assert {"alembic_version", "articles", "alerts"} <= tables(db)
    other = run_entrypoint(["sh", "-c", "echo passthrough"], env, tmp_path)
    assert other.stdout.strip() == "passthrough"


@pytest.mark.slow
def test_image_install_steps_work_outside_the_repository(tmp_path: Path) -> None:
    """Replays the build stage without Docker: copy what the Dockerfile copies, `pip install -e .` in a
    fresh venv, then `scraper db upgrade` from another folder. Third-party dependencies come from this
    test run's environment (a .pth line) so the test needs no network for them; the project itself is
    built and installed by pip as in the image."""
    app = tmp_path / "app"
    for rel in copied_paths():
        src, dst = ROOT / rel, app / rel
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "sqlalchemy").exists())
    (site / "deps.pth").write_text(f"{deps}\n", encoding="utf-8")
    # --ignore-installed: never touch the scraper install this test runs from (it is visible via deps.pth).
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install",
                              "--quiet", "--no-deps", "--ignore-installed", "-e", str(app)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'data' / 'scraper.db'}", "PYTHONPATH": ""}
    where = subprocess.run([str(venv / "bin/python"), "-c", "import scraper; print(scraper.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip() == str(app / "scraper" / "__init__.py"), where.stderr
    upgrade = subprocess.run([str(venv / "bin/scraper"), "db", "upgrade"], cwd=work, env=env,
                             capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr[-3000:]
    assert {"alembic_version", "articles", "alerts", "sources"} <= tables(work / "data" / "scraper.db")
