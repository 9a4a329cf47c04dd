"""procrastinate job queue schema (PostgreSQL only)

Scale-out (`scraper worker`) runs the pipeline as Procrastinate jobs on the PostgreSQL we already have.
Its tables, types and functions live in their own schema, ``procrastinate``, so they stay apart from
ours: the models-vs-migrations drift check (which looks at the default schema) does not see them, and
the downgrade is one DROP SCHEMA. Worker connections put the schema on their search_path
(scraper.schedule.queue). SQLite has no job queue: this revision does nothing there.

A later Procrastinate release that changes its schema ships SQL files in procrastinate/sql/migrations;
apply them in a new revision the same way (search_path set to ``procrastinate``).

Revision ID: 0003_procrastinate
Revises: 0002_search
Create Date: 2026-11-29 05:10:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0003_procrastinate"
down_revision: str | None = "0002_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "procrastinate"


def _run_script(sql: str) -> None:
    # Straight to the psycopg connection (same transaction), without parameters: psycopg then sends the
    # script as is, several statements with dollar-quoted bodies and literal % signs in RAISE messages.
    # SQLAlchemy's exec_driver_sql would pass an empty parameter tuple and psycopg would parse the %s.
    with op.get_bind().connection.driver_connection.cursor() as cur:
        cur.execute(sql)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    previous = bind.exec_driver_sql("SELECT current_setting('search_path')").scalar()
    _run_script(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    # Only for this transaction, and restored before Alembic writes alembic_version in the default schema.
    _run_script(f"SELECT set_config('search_path', '{SCHEMA}', true)")
    _run_script(SchemaManager.get_schema())
    bind.exec_driver_sql("SELECT set_config('search_path', %s, true)", (previous,))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _run_script(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
