"""story_keys laid out for the band-key lookup

``find_story`` reads story_keys only by ``band_key IN (42 keys)`` and ``prune`` only by ``seen_at``;
nothing reads by ``story_id``, so ``ix_story_keys_story_id`` (7.5 % of a SQLite file) is dropped.

On SQLite the table becomes WITHOUT ROWID: the rows live in the (band_key, article_id) primary-key
B-tree itself, so the lookup reads story_id and seen_at where it finds the key, with no second probe
into a rowid table, and the separate primary-key index disappears. SQLite cannot change this in place:
the table is recreated and its rows copied (in key order; the old table's pages stay free in the
file and are reused as new keys arrive, VACUUM returns them to the OS). PostgreSQL keeps its heap
table and primary key.
Measured in bench/stories_db.py (bench/RESULTS.stories.md).

Revision ID: 0005_story_keys_layout
Revises: 0004_source_charset_fix
Create Date: 2026-11-29 08:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0005_story_keys_layout"
down_revision: str | None = "0004_source_charset_fix"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "band_key, article_id, story_id, seen_at"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _recreate(with_rowid=False)
    else:
        op.drop_index("ix_story_keys_story_id", table_name="story_keys")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _recreate(with_rowid=True)
        op.create_index("ix_story_keys_story_id", "story_keys", ["story_id"], unique=False)
    else:
        op.create_index("ix_story_keys_story_id", "story_keys", ["story_id"], unique=False)


def _recreate(with_rowid: bool) -> None:
    """Copy story_keys into a table of the wanted kind, then swap it in (SQLite has no ALTER for this)."""
    op.create_table(
        "_story_keys_new",
        sa.Column("band_key", sa.LargeBinary(length=8), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.PrimaryKeyConstraint("band_key", "article_id"),
        sqlite_with_rowid=with_rowid,
    )
    # In key order, so the new B-tree is filled by appending.
    op.execute(f"INSERT INTO _story_keys_new ({_COLUMNS}) SELECT {_COLUMNS} FROM story_keys "
               "ORDER BY band_key, article_id")
    op.drop_table("story_keys")  # drops its indexes too
    op.rename_table("_story_keys_new", "story_keys")
    op.create_index("ix_story_keys_seen_at", "story_keys", ["seen_at"], unique=False)
