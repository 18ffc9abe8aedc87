"""full-text search over documents (title, text)

SQLite: an external-content FTS5 table `documents_fts` whose rowid is `documents.seq` (stable:
the implicit rowid of `documents` may be renumbered by VACUUM, `seq` never is), kept in sync by
triggers, and filled from the existing rows. PostgreSQL: a GIN index on the same tsvector
expression the search queries use (collector.store.search.PG_TSVECTOR), so they can use it.
The expression reads at most the first 100,000 characters of a text: a tsvector is limited to
1 MiB, and a longer text of distinct words would otherwise make its document's INSERT fail.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Kept literally here (not imported) so that this migration keeps meaning what it meant when
# written, whatever later code does; collector.store.search checks it uses the same expression.
PG_TSVECTOR = ("to_tsvector('simple'::regconfig, left(coalesce(title, ''), 1000) || ' ' || "
               "left(coalesce(text, ''), 100000))")

SQLITE_UP = [
    # unicode61 folds case and (remove_diacritics 2) accents, for any script; no stemming, since
    # the collected statements are in many languages.
    """CREATE VIRTUAL TABLE documents_fts USING fts5(
        title, text, content='documents', content_rowid='seq',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
        INSERT INTO documents_fts(rowid, title, text) VALUES (new.seq, new.title, new.text);
    END""",
    """CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
        INSERT INTO documents_fts(documents_fts, rowid, title, text)
        VALUES ('delete', old.seq, old.title, old.text);
    END""",
    """CREATE TRIGGER documents_fts_update AFTER UPDATE OF seq, title, text ON documents BEGIN
        INSERT INTO documents_fts(documents_fts, rowid, title, text)
        VALUES ('delete', old.seq, old.title, old.text);
        INSERT INTO documents_fts(rowid, title, text) VALUES (new.seq, new.title, new.text);
    END""",
    "INSERT INTO documents_fts(documents_fts) VALUES ('rebuild')",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS documents_fts_update",
    "DROP TRIGGER IF EXISTS documents_fts_delete",
    "DROP TRIGGER IF EXISTS documents_fts_insert",
    "DROP TABLE IF EXISTS documents_fts",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_documents_fulltext ON documents "
                   f"USING GIN (({PG_TSVECTOR}))")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_documents_fulltext")
