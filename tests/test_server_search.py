"""Full-text search in the store: SQLite FTS5 always, PostgreSQL when a test database is given
(COLLECTOR_TEST_POSTGRES_URL, e.g. postgresql+psycopg://user@127.0.0.1/db; it is wiped)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from collector.store import Store
from collector.store.search import MAX_QUERY_WORDS, fts5_query, pg_query, search, terms
from tests.helpers import load
from tests.test_server_helpers import SOURCES, T0, add_doc

PG_URL = os.environ.get("COLLECTOR_TEST_POSTGRES_URL") or os.environ.get(
    "COLLECTOR_TEST_DATABASE_URL")


def _fresh_postgres(url: str) -> Store:
    store = Store(url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    config = load(tmp_path, SOURCES)
    if request.param == "sqlite":
        s = Store(config.settings.database_url)
    else:
        if not PG_URL:
            pytest.skip("set COLLECTOR_TEST_DATABASE_URL to test search on PostgreSQL")
        if os.environ.get("COLLECTOR_TEST_DATABASE_URL"):
            from tests import pg

            srv = pg.server()
            url = srv.create()
            request.addfinalizer(lambda: srv.drop(url))
            s = Store(url)
        else:
            s = _fresh_postgres(PG_URL)
    s.upgrade()
    s.sync_sources(config.sources, T0)
    yield s
    s.close()


def titles(docs):
    return [d.title for d in docs]


def test_every_word_must_occur_in_title_or_text(store):
    add_doc(store, "reddawn", "a", "Dockers strike", ["The harbour is closed by pickets."])
    add_doc(store, "vanguard", "b", "Harbour election", ["Vote on Sunday."])
    assert titles(search(store, "harbour pickets", 10, 0)) == ["Dockers strike"]
    assert sorted(titles(search(store, "HARBOUR", 10, 0))) == ["Dockers strike",
                                                               "Harbour election"]
    assert search(store, "harbour tuesday", 10, 0) == []


def test_a_title_match_ranks_above_a_body_match(store):
    add_doc(store, "reddawn", "a", "On wages", ["The strike goes on."], published=T0)
    add_doc(store, "reddawn", "b", "Strike called", ["Workers meet today."],
            now=T0 - timedelta(days=1))
    assert titles(search(store, "strike", 10, 0)) == ["Strike called", "On wages"]


def test_accents_and_case_are_folded(store):
    if store.engine.dialect.name == "postgresql":
        pytest.skip("the 'simple' text search configuration keeps accents")
    add_doc(store, "reddawn", "a", "Élection présidentielle", ["Déclaration du comité."])
    assert titles(search(store, "election declaration", 10, 0)) == ["Élection présidentielle"]


def test_a_trailing_star_matches_word_beginnings(store):
    if store.engine.dialect.name == "postgresql":
        pytest.skip("websearch_to_tsquery has no prefix syntax")
    add_doc(store, "reddawn", "a", "Dockers strike", ["Solidarity with the strikers."])
    assert titles(search(store, "solidar*", 10, 0)) == ["Dockers strike"]
    assert search(store, "solidar", 10, 0) == []


def test_limit_and_offset_page_through_results(store):
    for i in range(5):
        add_doc(store, "reddawn", f"s{i}", f"Statement {i}", ["Common word harbour."],
                now=T0 + timedelta(hours=i))
    first = titles(search(store, "harbour", 2, 0))
    second = titles(search(store, "harbour", 2, 2))
    third = titles(search(store, "harbour", 2, 4))
    assert len(first) == len(second) == 2 and len(third) == 1
    assert len(set(first + second + third)) == 5


def test_edited_documents_are_found_by_their_new_words_only(store):
    doc = add_doc(store, "reddawn", "a", "Dockers strike", ["Pickets at dawn."])
    store.update_document(doc.id, title="Strike over", text="Strike over\n\nAgreement signed.\n",
                          content_hash="new", signature=None, word_count=2, method="feed",
                          published_at=None, now=T0)
    assert titles(search(store, "agreement", 10, 0)) == ["Strike over"]
    assert search(store, "pickets", 10, 0) == []


@pytest.mark.parametrize("query", ['"', 'a" OR "b', "NEAR(a b", "title:dawn", "{title}: x",
                                   "a AND NOT b", "x -y", "()", "^dawn", "dawn*", "'", "\\",
                                   "\x00dawn", "or", "-dawn", ":"])
def test_query_syntax_typed_by_a_person_is_only_text(store, query):
    add_doc(store, "reddawn", "a", "Dockers strike", ["Pickets at dawn or later."])
    search(store, query, 10, 0)  # must not raise


def test_empty_and_punctuation_only_queries_match_nothing(store):
    add_doc(store, "reddawn", "a", "Dockers strike", ["Text."])
    for query in ("", "   ", "***", "\"'", "-- ,,"):
        assert search(store, query, 10, 0) == []


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=60))
def test_any_unicode_query_runs_without_error(tmp_path, query):
    db = tmp_path / "prop.db"
    store = _PROP_STORES.get(db) or _prop_store(db, tmp_path)
    result = search(store, query, 5, 0)
    assert all(d.title == "Dockers strike" for d in result)


_PROP_STORES: dict[Path, Store] = {}


def _prop_store(db: Path, tmp_path: Path) -> Store:
    config = load(tmp_path, SOURCES)
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    store.sync_sources(config.sources, T0)
    add_doc(store, "reddawn", "a", "Dockers strike", ["Pickets at dawn."])
    _PROP_STORES[db] = store
    return store


@pytest.fixture(autouse=True, scope="module")
def _close_prop_stores():
    yield
    for s in _PROP_STORES.values():
        s.close()
    _PROP_STORES.clear()


def test_query_words_are_quoted_and_capped():
    assert fts5_query('strike "now" OR x*') == '"strike" """now""" "OR" "x"*'
    assert len(terms(" ".join(f"w{i}" for i in range(100)))) == MAX_QUERY_WORDS
    assert pg_query('-strike "now" or x') == "strike now x"


def test_documents_stored_before_the_search_migration_are_indexed_by_it(tmp_path):
    from tests.test_postgres_migrations import fill_first_schema, upgrade_to

    config = load(tmp_path, SOURCES)
    store = Store(config.settings.database_url)
    try:
        upgrade_to(store, "0001")
        fill_first_schema(store)          # rows written with the first schema's own SQL
        assert store.upgrade() >= "0002"
        assert titles(search(store, "refuse", 10, 0)) == ["Dockers refuse the shipment"]
        store.sync_sources(config.sources, T0)
        add_doc(store, "vanguard", "b", "Later", ["Dockers refuse again."])
        assert sorted(titles(search(store, "refuse", 10, 0))) == [
            "Dockers refuse the shipment", "Later"]
    finally:
        store.close()


def test_a_huge_document_of_distinct_words_is_stored_and_found(store):
    words = [f"w{i:07d}x" for i in range(200_000)]   # 2 MB of distinct words
    add_doc(store, "reddawn", "huge", "Enormous statement", [" ".join(words)])
    assert titles(search(store, "enormous w0000001x", 10, 0)) == ["Enormous statement"]


def test_queries_use_the_expression_the_migration_indexed():
    import importlib.util

    from collector.store import search as search_module

    path = (Path(search_module.__file__).parent / "migrations" / "versions" / "0002_search.py")
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.PG_TSVECTOR == search_module.PG_TSVECTOR
