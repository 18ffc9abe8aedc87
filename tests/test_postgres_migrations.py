"""Schema migrations upgrade a database made with the first schema, keeping its rows.

Runs on the lane's database: a SQLite file, or a fresh PostgreSQL database on the PostgreSQL
lane (COLLECTOR_TEST_DATABASE_URL).
"""

# Fixtures are imported from tests.pg (so the module works however conftest loads it); the
# test functions take them as arguments, which pyflakes reads as redefinitions.
# ruff: noqa: F811

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

import collector.store
from collector.notify.atom import entry_id
from collector.store import Store, key_hash
from collector.store.outbox import StoreOutbox, digest_item
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
        assert state.consecutive_crashes == 0      # 0004: no crash streak under way
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


def test_upgrade_from_the_search_schema_gives_every_row_revision_1(database_url):
    """Rows written at 0002 become revision 1 (their feed entry ids do not change), pending
    outbox entries stay pending, and a correction after the upgrade counts from there."""
    store = Store(database_url)
    try:
        upgrade_to(store, "0002")
        fill_first_schema(store)
        assert store.upgrade() == head_revision()
        docs = {d.id: d for d in store.iter_documents()}
        assert {d.revision for d in docs.values()} == {1}
        nurses = docs["00000000000000b2"]
        assert store.index_record(nurses, [])["revision"] == 1
        outbox = StoreOutbox(store, item_of=lambda d, also: digest_item(d, also,
                                                                        source_name="Red Dawn"),
                             source_names={"reddawn": "Red Dawn"})
        batch = outbox.claim("daily", limit=10, now=T0.replace(tzinfo=UTC))
        assert [(i.id, i.revision) for i in batch.items] == [("00000000000000b2", 1)]
        assert entry_id(batch.items[0].id, batch.items[0].revision) == entry_id(nurses.id)
        outbox.delivered("daily", batch, now=T0.replace(tzinfo=UTC))
        assert outbox.reoffer_revised("daily") == 0
        later = T0.replace(tzinfo=UTC) + timedelta(days=1)
        fixed = store.update_document(
            nurses.id, title=nurses.title, text=nurses.text + "\nThe strike is over.\n",
            content_hash="c" * 64, signature=None, word_count=12, method="feed",
            published_at=None, now=later)
        assert (fixed.revision, fixed.updated_at) == (2, later)
        assert outbox.reoffer_revised("daily") == 1
    finally:
        store.close()


def test_the_revision_migration_keeps_the_search_index_in_step(database_url):
    """Adding the column leaves the 0002 search triggers (SQLite) and index in place: a
    document corrected after the upgrade is found by its new words, not its old ones."""
    store = Store(database_url)
    try:
        upgrade_to(store, "0002")
        fill_first_schema(store)
        store.upgrade()
        dockers = store.document_by_id("00000000000000a1")
        store.update_document(dockers.id, title="Stevedores refuse the shipment",
                              text="Stevedores refuse the shipment\n\nThe cargo stays.\n",
                              content_hash="d" * 64, signature=None, word_count=7,
                              method="feed", published_at=None,
                              now=T0.replace(tzinfo=UTC) + timedelta(hours=1))
        assert [d.id for d in search(store, "stevedores", 10, 0)] == ["00000000000000a1"]
        assert search(store, "dockers", 10, 0) == []
    finally:
        store.close()


def test_downgrading_the_revision_migration_keeps_the_rows(database_url):
    store = Store(database_url)
    try:
        upgrade_to(store, "0002")
        fill_first_schema(store)
        store.upgrade()
        cfg = alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002")
        assert current_revision(store) == "0002"
        with store.engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM documents")) == 2
            assert conn.scalar(text("SELECT count(*) FROM outbox")) == 1
        assert store.upgrade() == head_revision()
        assert {d.revision for d in store.iter_documents()} == {1}
    finally:
        store.close()


def test_the_crash_streak_column_is_added_and_dropped_with_the_rows_kept(database_url):
    store = Store(database_url)
    try:
        upgrade_to(store, "0003")
        fill_first_schema(store)
        assert store.upgrade() == head_revision()
        store.update_source("reddawn", consecutive_crashes=2)
        assert store.source_state("reddawn").consecutive_crashes == 2
        cfg = alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        assert current_revision(store) == "0003"
        with store.engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM sources")) == 1
        assert store.upgrade() == head_revision()
        assert store.source_state("reddawn").consecutive_crashes == 0
    finally:
        store.close()


def test_the_originals_migration_counts_generations_and_keeps_the_locations(database_url):
    store = Store(database_url)
    try:
        upgrade_to(store, "head")
        assert store.index_generation() == 0          # nothing stored: no index to write
        cfg = alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
        fill_first_schema(store)
        assert store.upgrade() == head_revision()
        # documents stored before 0005: an index written then is rewritten at the next start
        assert store.index_generation() == 1
        (version,) = store.versions("00000000000000b2")
        assert (version.how, version.source_id, version.published_at, version.names_key) == \
            ("original", "reddawn", None, None)
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
        with store.engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM locations")) == 1
            assert conn.scalar(text("SELECT count(*) FROM counters "
                                    "WHERE name = 'index_generation'")) == 0
    finally:
        store.close()


def test_the_poll_history_table_is_added_and_dropped_with_the_sources_kept(database_url):
    from collector.store import PollRecord
    from collector.store.browse import poll_history

    store = Store(database_url)
    try:
        upgrade_to(store, "0005")
        fill_first_schema(store)
        assert store.upgrade() == head_revision()
        assert poll_history(store, "reddawn") == []          # no history before 0006
        when = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
        store.save_poll("reddawn", {"polls": 4, "last_error": "HTTP 500", "last_error_kind":
                                    "http_status"}, release_owner=None,
                        record=PollRecord("reddawn", when, ok=False, error_kind="http_status",
                                          error="HTTP 500 from https://reddawn.example/feed/",
                                          elapsed_s=1.5))
        (row,) = poll_history(store, "reddawn")
        assert (row.polled_at, row.ok, row.error_kind, row.new_documents, row.elapsed_s) == \
            (when, False, "http_status", 0, 1.5)
        cfg = alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
        assert current_revision(store) == "0005"
        with store.engine.connect() as conn:
            assert conn.scalar(text("SELECT polls FROM sources WHERE id = 'reddawn'")) == 4
            assert conn.scalar(text("SELECT count(*) FROM documents")) == 2
        assert store.upgrade() == head_revision()
        assert poll_history(store, "reddawn") == []
    finally:
        store.close()
