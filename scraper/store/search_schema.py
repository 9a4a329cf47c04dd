"""Names of the search-index objects that migration 0002_search creates outside the models.

The FTS5 table (and its shadow tables), the PostgreSQL tsvector column and the expression index
on the article date are not SQLModel objects, so alembic's autogenerate would propose dropping
them; :func:`include_object` tells it to leave them alone (used by alembic/env.py and the drift test).
"""

from __future__ import annotations

from typing import Any

FTS_TABLE = "articles_fts"
TSV_COLUMN = "search_tsv"
INDEXES = frozenset({"ix_articles_sort_date", "ix_articles_search_tsv"})


def is_search_object(name: str | None, type_: str) -> bool:
    if not name:
        return False
    if type_ == "table":
        return name == FTS_TABLE or name.startswith(FTS_TABLE + "_")
    if type_ == "column":
        return name == TSV_COLUMN
    if type_ == "index":
        return name in INDEXES
    return False


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic hook: skip the search objects that exist only in the database."""
    return not (reflected and compare_to is None and is_search_object(name, type_))
