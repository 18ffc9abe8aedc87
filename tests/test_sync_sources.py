"""`Store.sync_sources`: the sources table made to match the configuration, the stored rows
compared as they are read and new ones inserted in chunks (real store: a SQLite file, the
PostgreSQL lane's database there)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from collector.schema import Source
from collector.store import Store, claims

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def _rows(store: Store) -> dict[str, dict]:
    with store.engine.connect() as conn:
        return {r.id: r._asdict() for r in conn.execute(select(claims.SOURCES))}


def test_sync_inserts_renames_moves_and_keeps_removed_sources(database_url):
    first = [Source(id=f"s{n:04d}", name=f"S {n}", url=f"http://127.0.0.1:9/{n}")
             for n in range(1234)]   # more than one chunk of new rows
    store = Store(database_url)
    try:
        store.upgrade()
        store.sync_sources(first, T0)
        rows = _rows(store)
        assert sorted(rows) == [s.id for s in first]
        assert all(r["url"] == f"http://127.0.0.1:9/{int(i[1:])}" and r["health"] == "new"
                   for i, r in rows.items())
        with store.engine.begin() as conn:
            conn.execute(update(claims.SOURCES).values(etag="e", resolved_kind="feed",
                                                       next_poll_at=T1 + timedelta(days=1)))
        second = [Source(id="s0000", name="Renamed", url="http://127.0.0.1:9/0"),
                  Source(id="s0001", name="S 1", url="http://127.0.0.1:9/moved"),
                  Source(id="s0002", name="S 2", url="http://127.0.0.1:9/2", kind="feed"),
                  Source(id="s0003", name="S 3", url="http://127.0.0.1:9/3"),
                  Source(id="new", name="New", url="http://127.0.0.1:9/new")]
        store.sync_sources(second, T1)
        after = _rows(store)
        assert len(after) == 1235                        # removed ones are kept
        renamed, moved, rekinded, same = (after[f"s000{n}"] for n in range(4))
        assert renamed["name"] == "Renamed" and renamed["etag"] == "e"
        assert renamed["resolved_kind"] == "feed"
        for changed in (moved, rekinded):
            assert changed["etag"] is None and changed["resolved_kind"] is None
            assert changed["next_poll_at"].replace(tzinfo=UTC) == T1
        assert moved["url"] == "http://127.0.0.1:9/moved" and rekinded["kind"] == "feed"
        assert same == rows["s0003"] | {"etag": "e", "resolved_kind": "feed",
                                        "next_poll_at": same["next_poll_at"]}
        assert after["new"]["created_at"].replace(tzinfo=UTC) == T1
        assert after["s0004"]["etag"] == "e"             # not configured now: untouched
    finally:
        store.close()
