"""which copy of a statement is the original; the index generation

`locations.published_at`: the publication date the page at that location states.
`locations.names_key`: the `url_key` of another page that this location's page declares
canonical (rel=canonical or og:url naming a page on another site: the page says it is a copy
of that one). Both feed the rule that picks the original among a document's locations
(docs/dedup.md). Existing rows get NULL (nothing stated).

`locations.url_key` becomes TEXT: as VARCHAR(64) PostgreSQL refused every document whose URL
(host and path) is longer than 64 characters, which is most article URLs. (SQLite never
enforced the length; its column is left as it is.)

`counters.index_generation`: +1 in every transaction that changes what index.jsonl shows
(a new document, a new location, a new text); the corpus records the generation its index
reflects, so a start-up sees at a glance whether the index agrees with the database.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("locations", "url_key", type_=sa.Text(),
                        existing_type=sa.String(length=64), existing_nullable=False)
    # ALTER TABLE ADD COLUMN in place on both databases, as in 0003
    op.add_column("locations", sa.Column("published_at", sa.DateTime(), nullable=True))
    op.add_column("locations", sa.Column("names_key", sa.Text(), nullable=True))
    # 1 when documents exist: an index written before this revision recorded no generation,
    # so it is rewritten once at the next start; 0 for an empty database (no index to write)
    op.execute(sa.text(
        "INSERT INTO counters (name, value) SELECT 'index_generation', "
        "CASE WHEN EXISTS (SELECT 1 FROM documents) THEN 1 ELSE 0 END"))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM counters WHERE name = 'index_generation'"))
    op.drop_column("locations", "names_key")
    op.drop_column("locations", "published_at")
    # url_key stays TEXT: shortening it would fail on the rows that needed the change
