"""watching stored statements: revisions, re-check state, transitions and their outbox

`document_revisions`: each text a document held before it changed in place (title, text,
hash, when it was stored and replaced). `watch_state`: one row per document, its re-check
schedule (checks done, next check) and what the checks found (vanished, with the evidence).
`watch_events`: the transitions found (edited, removed, restored); `watch_outbox`: one row per
digest and event, delivered like the document outbox. Existing documents get their
`watch_state` row when a watch round first meets them; their earlier texts were not kept.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                     primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "document_revisions",
        _id(),
        sa.Column("document_id", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.Column("replaced_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE",
                                name=op.f("fk_document_revisions_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_revisions")),
        sa.UniqueConstraint("document_id", "revision",
                            name=op.f("uq_document_revisions_document_id")),
    )
    op.create_table(
        "watch_state",
        sa.Column("document_id", sa.String(length=16), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("next_check_at", sa.DateTime(), nullable=True),
        sa.Column("last_check_at", sa.DateTime(), nullable=True),
        sa.Column("last_result", sa.String(length=16), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("vanished_at", sa.DateTime(), nullable=True),
        sa.Column("vanished_status", sa.Integer(), nullable=True),
        sa.Column("vanished_url", sa.Text(), nullable=True),
        sa.Column("vanished_reason", sa.Text(), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE",
                                name=op.f("fk_watch_state_document_id_documents")),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_watch_state")),
    )
    op.create_index(op.f("ix_watch_state_next_check_at"), "watch_state", ["next_check_at"])
    op.create_table(
        "watch_events",
        _id(),
        sa.Column("document_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE",
                                name=op.f("fk_watch_events_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_events")),
    )
    op.create_index(op.f("ix_watch_events_document_id"), "watch_events", ["document_id"])
    op.create_table(
        "watch_outbox",
        _id(),
        sa.Column("digest_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("run_key", sa.String(length=64), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["watch_events.id"], ondelete="CASCADE",
                                name=op.f("fk_watch_outbox_event_id_watch_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_outbox")),
        sa.UniqueConstraint("digest_id", "event_id", name=op.f("uq_watch_outbox_digest_id")),
    )
    op.create_index("ix_watch_outbox_pending", "watch_outbox", ["digest_id", "delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_watch_outbox_pending", table_name="watch_outbox")
    op.drop_table("watch_outbox")
    op.drop_index(op.f("ix_watch_events_document_id"), table_name="watch_events")
    op.drop_table("watch_events")
    op.drop_index(op.f("ix_watch_state_next_check_at"), table_name="watch_state")
    op.drop_table("watch_state")
    op.drop_table("document_revisions")
