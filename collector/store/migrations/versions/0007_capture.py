"""capture and provenance

`documents.fetch_url`, `fetch_final_url`, `fetch_status`, `fetched_at`, `warc_record_id`,
`text_hash`: the provenance of a document's stored text (the fetch it came from, the WARC
response record of its capture, the SHA-256 of the text). Existing documents get NULL: their
fetches were not recorded.

`captures`: one row per captured fetch of a document's text, the byte range of its WARC
records (collector.capture); `warc_file` is cleared when retention deletes the file.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("fetch_url", sa.Text()),
    ("fetch_final_url", sa.Text()),
    ("fetch_status", sa.Integer()),
    ("fetched_at", sa.DateTime()),
    ("warc_record_id", sa.String(length=80)),
    ("text_hash", sa.String(length=80)),
)


def upgrade() -> None:
    # ALTER TABLE ADD COLUMN in place on both databases, as in 0003
    for name, type_ in _COLUMNS:
        op.add_column("documents", sa.Column(name, type_, nullable=True))
    op.create_table(
        "captures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("captured_at", sa.DateTime(), nullable=False),
        sa.Column("warc_file", sa.String(length=64), nullable=True),
        sa.Column("warc_offset", sa.BigInteger(), nullable=True),
        sa.Column("warc_length", sa.BigInteger(), nullable=True),
        sa.Column("response_id", sa.String(length=80), nullable=False),
        sa.Column("request_id", sa.String(length=80), nullable=False),
        sa.Column("metadata_id", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE",
                                name=op.f("fk_captures_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captures")),
    )
    op.create_index("ix_captures_document_id", "captures", ["document_id"])
    op.create_index("ix_captures_warc_file", "captures", ["warc_file"])


def downgrade() -> None:
    op.drop_index("ix_captures_warc_file", table_name="captures")
    op.drop_index("ix_captures_document_id", table_name="captures")
    op.drop_table("captures")
    for name, _ in reversed(_COLUMNS):
        op.drop_column("documents", name)
