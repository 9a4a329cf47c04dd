"""Migrations: upgrade to head and back to base on SQLite and PostgreSQL; no drift from the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import scraper.store.tables  # noqa: F401  (registers tables)
from scraper.store.db import downgrade, make_engine, upgrade
from scraper.store.search_schema import include_object


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    return request.getfixturevalue("empty_pg_url")


def test_upgrade_head_then_downgrade_base(blank_db: str) -> None:
    upgrade(blank_db)
    engine = make_engine(blank_db)
    tables = set(inspect(engine).get_table_names())
    assert {"sources", "articles", "article_urls", "stories", "matches", "alerts", "alert_attempts",
            "fetch_log", "article_revisions"} <= tables
    engine.dispose()
    downgrade(blank_db, "base")
    engine = make_engine(blank_db)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_models_and_migrations_do_not_drift(blank_db: str) -> None:
    upgrade(blank_db)
    engine = make_engine(blank_db)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        diff = compare_metadata(ctx, SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models differ from migrations; run alembic revision --autogenerate: {diff}"


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    engine.dispose()
