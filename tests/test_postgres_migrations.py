"""Schema migrations upgrade a database made with the first schema, keeping its rows.

Runs on the lane's database: a SQLite file, or a fresh PostgreSQL database on the PostgreSQL
lane (COLLECTOR_TEST_DATABASE_URL).
"""

# Fixtures are imported from tests.pg (so the module works however conftest loads it); the
# test functions take them as arguments, which pyflakes reads as redefinitions.
# ruff: noqa: F811

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

import collector.store
from collector.store import Store, key_hash
from collector.store.search import search
from tests.pg import database_url, pg_databases  # noqa: F401 - fixtures

MIGRATIONS = Path(collector.store.__file__).parent / "migrations"
T0 = datetime(2024, 5, 1, 9, 0)  # naive UTC, as the first schema stored times


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade_to(store: Store, revision: str) -> None:
    cfg = alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def fill_first_schema(store: Store) -> None:
    """Rows of every kind, written with plain SQL against revision 0001's tables."""
    statements = [
        ("INSERT INTO counters (name, value) VALUES ('document_seq', 2)", {}),
        ("INSERT INTO sources (id, name, url, kind, created_at, etag, next_poll_at, "
         "last_poll_at, consecutive_failures, consecutive_empty, health, polls, lease_owner, "
         "lease_until) VALUES ('reddawn', 'Red Dawn', 'https://reddawn.example/feed/', 'feed', "
         ":t, '\"v1\"', :t, :t, 0, 0, 'ok', 3, NULL, NULL)", {}),
        ("INSERT INTO documents (id, seq, source_id, url, canonical_url, title, text, "
         "published_at, collected_at, updated_at, content_hash, method, word_count, backfill, "
         "file_written) VALUES (:id, :seq, 'reddawn', :url, :url, :title, :text, :t, :t, :t, "
         ":hash, 'feed', 4, :backfill, :written)",
         {"id": "00000000000000a1", "seq": 0, "url": "https://reddawn.example/dockers/",
          "title": "Dockers refuse the shipment",
          "text": "Dockers refuse the shipment\n\nThe dock workers have refused to load it.",
          "hash": "a" * 64, "backfill": True, "written": True}),
        ("INSERT INTO documents (id, seq, source_id, url, canonical_url, title, text, "
         "published_at, collected_at, updated_at, content_hash, method, word_count, backfill, "
         "file_written) VALUES (:id, :seq, 'reddawn', :url, :url, :title, :text, :t, :t, :t, "
         ":hash, 'feed', 4, :backfill, :written)",
         {"id": "00000000000000b2", "seq": 1, "url": "https://reddawn.example/nurses/",
          "title": "Nurses strike for a living wage",
          "text": "Nurses strike for a living wage\n\nThe nurses' union voted to strike.",
          "hash": "b" * 64, "backfill": False, "written": False}),
        ("INSERT INTO locations (document_id, source_id, url, url_key, seen_at, how) VALUES "
         "('00000000000000b2', 'reddawn', 'https://reddawn.example/nurses/', :key, :t, "
         "'original')", {"key": "k" * 64}),
        ("INSERT INTO seen_items (source_id, key_hash, key, url, first_seen_at, status, "
         "attempts, document_id) VALUES ('reddawn', :h, 'guid-nurses', "
         "'https://reddawn.example/nurses/', :t, 'document', 1, '00000000000000b2')",
         {"h": key_hash("guid-nurses")}),
        ("INSERT INTO outbox (digest_id, document_id, created_at) VALUES "
         "('daily', '00000000000000b2', :t)", {}),
    ]
    with store.engine.begin() as conn:
        for sql, params in statements:
            conn.execute(text(sql), {"t": T0, **params})


def test_upgrade_from_first_schema_keeps_every_row(database_url):
    store = Store(database_url)
    try:
        upgrade_to(store, "0001")
        assert current_revision(store) == "0001"
        fill_first_schema(store)

        assert store.upgrade() == head_revision()

        state = store.source_state("reddawn")
        assert (state.etag, state.polls, state.health) == ('"v1"', 3, "ok")
        assert state.next_poll_at == T0.replace(tzinfo=UTC)
        assert store.count_documents() == 2
        doc = store.document_by_id("00000000000000b2")
        assert doc is not None and doc.seq == 1 and doc.title.startswith("Nurses strike")
        assert [d.id for d in store.unwritten_documents()] == ["00000000000000b2"]
        assert [d.id for d in store.pending("daily")] == ["00000000000000b2"]
        assert store.seen_keys("reddawn", ["guid-nurses", "guid-other"]) == {"guid-nurses"}
        assert [loc.how for loc in store.locations(["00000000000000b2"])["00000000000000b2"]] \
            == ["original"]
    finally:
        store.close()


def test_rows_written_before_the_search_migration_are_searchable_after_it(database_url):
    store = Store(database_url)
    try:
        upgrade_to(store, "0001")
        fill_first_schema(store)
        store.upgrade()
        assert [d.id for d in search(store, "dockers", 10, 0)] == ["00000000000000a1"]
        assert [d.id for d in search(store, "nurses", 10, 0)] == ["00000000000000b2"]
    finally:
        store.close()


def test_upgrading_a_database_at_head_changes_nothing(database_url):
    store = Store(database_url)
    try:
        first = store.upgrade()
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE counters SET value = 7 WHERE name = 'document_seq'"))
        assert store.upgrade() == first == head_revision()
        with store.engine.connect() as conn:
            assert conn.scalar(text("SELECT value FROM counters WHERE name = 'document_seq'")) \
                == 7
    finally:
        store.close()
