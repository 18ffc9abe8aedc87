"""poll history of a source

`poll_history`: one row per poll (when, whether it succeeded, what it found, the error kind and
the raw error cut to `POLL_HISTORY_ERROR_CHARS`, how long it took), written in the transaction
that saves the poll's outcome. Only the latest `POLL_HISTORY_PER_SOURCE` rows of a source are
kept (pruned as each row is written); the index on (source_id, id) serves both the pruning and
the organisation page. Existing sources start with an empty history.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("polled_at", sa.DateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("not_modified", sa.Boolean(), nullable=False),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("new_documents", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE",
                                name=op.f("fk_poll_history_source_id_sources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_history")),
    )
    op.create_index("ix_poll_history_source_id_id", "poll_history", ["source_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_poll_history_source_id_id", table_name="poll_history")
    op.drop_table("poll_history")
