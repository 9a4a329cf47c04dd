"""search index over the normalized article text

SQLite: an FTS5 table over articles.title_norm/body_norm (external content, so the text is not
stored twice), kept current by triggers so the pipeline needs no change. ``detail=full`` keeps
token positions, so phrases and NEAR prefilter on positions (FTS5 phrase and NEAR queries) instead
of an AND of their words that the matcher then rejects almost always (at 200,000 articles phrase
p95 1.9 s -> ~50 ms, NEAR 3.5 s -> ~80-140 ms; bench/RESULTS.search.md). The index is ~5x the size
of ``detail=none`` (148 MB at 200,000 articles, 13% of the database).

Token boundaries must be the matcher's, or positions (and so phrases and NEAR) would disagree:
body_norm is the matcher's tokens joined by spaces, and ``tokenchars`` adds the characters the
matcher keeps inside a token that unicode61 would treat as separators (symbols ۽ ۾ × ÷, the
Arabic Extended-A block whose newer letters and marks an older SQLite Unicode table may not know,
and the combining dot that lower-casing İ produces).

PostgreSQL: a stored generated tsvector column ('simple' config: no stemming, the text is already
normalized) with a GIN index. The body is capped at 500,000 characters because a tsvector may not
exceed 1 MB and an oversized article must never fail its INSERT.

Both: an index on the article date (published, else fetched) and id, for date-sorted keyset pages.

Revision ID: 0002_search
Revises: 0001
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0002_search"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SORT_INDEX = "CREATE INDEX ix_articles_sort_date ON articles (coalesce(published_at, fetched_at), id)"

# Characters of the matcher's token classes (scraper.normalize.text.TOKEN_RE) that are not letters or
# digits to unicode61. Frozen here: a migration must not change when the code does.
TOKEN_CHARS = "\u0307\u00d7\u00f7" + "".join(chr(c) for c in range(0x06FA, 0x0700)) + "".join(
    chr(c) for c in range(0x08A0, 0x0900))

SQLITE_UP = [
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title_norm, body_norm, content='articles', content_rowid='id', "
    f"tokenize=\"unicode61 remove_diacritics 0 tokenchars '{TOKEN_CHARS}'\", detail=full, columnsize=0)",
    "CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title_norm, body_norm) VALUES (new.id, new.title_norm, new.body_norm); END",
    "CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title_norm, body_norm) "
    "VALUES ('delete', old.id, old.title_norm, old.body_norm); END",
    "CREATE TRIGGER articles_fts_au AFTER UPDATE OF title_norm, body_norm ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title_norm, body_norm) "
    "VALUES ('delete', old.id, old.title_norm, old.body_norm); "
    "INSERT INTO articles_fts(rowid, title_norm, body_norm) VALUES (new.id, new.title_norm, new.body_norm); END",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS articles_fts_au",
    "DROP TRIGGER IF EXISTS articles_fts_ad",
    "DROP TRIGGER IF EXISTS articles_fts_ai",
    "DROP TABLE IF EXISTS articles_fts",
]
PG_UP = [
    "ALTER TABLE articles ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, title_norm || ' ' || left(body_norm, 500000))) STORED",
    "CREATE INDEX ix_articles_search_tsv ON articles USING gin (search_tsv)",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS ix_articles_search_tsv",
    "ALTER TABLE articles DROP COLUMN IF EXISTS search_tsv",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for sql in [*(SQLITE_UP if dialect == "sqlite" else PG_UP), SORT_INDEX]:
        op.execute(sql)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for sql in ["DROP INDEX IF EXISTS ix_articles_sort_date", *(SQLITE_DOWN if dialect == "sqlite" else PG_DOWN)]:
        op.execute(sql)
