"""remember a source's charset repair

``sources.charset_fix`` records how the source's last page had to be decoded when plain decoding gave
garbled Arabic (for example ``mojibake:cp1252``), so later pages reuse the fix instead of guessing anew.

Revision ID: 0004_source_charset_fix
Revises: 0003_procrastinate
Create Date: 2026-11-29 08:35:00
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004_source_charset_fix"
down_revision: str | None = "0003_procrastinate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("charset_fix", sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("charset_fix")
