"""robots.txt kept in the database; the archive outbox

`robots_txt`: one row per origin, the robots.txt rules that apply to collector with their
status, validators (ETag, Last-Modified), fetch time and expiry (RFC 9309 lifetime, at most
24 h), so a restart or a one-shot poll refetches nothing still fresh.

`archive_outbox`: statement URLs waiting to be saved by the Wayback Machine (sources and
digests with `archive: wayback`), written with the document in one transaction; `sent_at` and
`job_id` once the archive accepted the request, `result`/`snapshot` once the capture ended.
Existing databases start with both tables empty.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "robots_txt",
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_robots_txt")),
    )
    op.create_table(
        "archive_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("job_id", sa.String(length=128), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("snapshot", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE",
                                name=op.f("fk_archive_outbox_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_outbox")),
        sa.UniqueConstraint("document_id", "revision",
                            name=op.f("uq_archive_outbox_document_id")),
    )
    op.create_index("ix_archive_outbox_due", "archive_outbox", ["sent_at", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_archive_outbox_due", table_name="archive_outbox")
    op.drop_table("archive_outbox")
    op.drop_table("robots_txt")
