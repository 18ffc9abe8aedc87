"""document revisions

`documents.revision`: 1 when a document is first stored, +1 each time its stored text changes
in place; feed entries of a corrected statement get a new id from it. `outbox.revision`: the
document revision an outbox entry was claimed with, so a feed digest can offer a corrected
document again. Existing rows get 1 (every stored text so far counts as its first revision,
so no feed entry id changes by upgrading).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both databases (a NOT NULL column with a default is one
    # SQLite can add in place): rebuilding `documents` would drop the search triggers of 0002.
    # The server default fills the existing rows.
    op.add_column("documents", sa.Column("revision", sa.Integer(), nullable=False,
                                         server_default="1"))
    op.add_column("outbox", sa.Column("revision", sa.Integer(), nullable=False,
                                      server_default="1"))
    # feed digests look for corrected documents (revision > 1, few) on every run
    op.create_index("ix_documents_revision", "documents", ["revision"])


def downgrade() -> None:
    # ALTER TABLE DROP COLUMN (SQLite 3.35 and later), again without rebuilding the tables
    op.drop_index("ix_documents_revision", table_name="documents")
    op.drop_column("outbox", "revision")
    op.drop_column("documents", "revision")
