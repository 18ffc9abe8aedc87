"""crash streak of a source

`sources.consecutive_crashes`: polls in a row whose listing crashed the parse worker; at
`QUARANTINE_AFTER` the source is quarantined. Existing rows get 0.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ALTER TABLE ADD COLUMN in place on both databases, as in 0003
    op.add_column("sources", sa.Column("consecutive_crashes", sa.Integer(), nullable=False,
                                       server_default="0"))


def downgrade() -> None:
    op.drop_column("sources", "consecutive_crashes")
