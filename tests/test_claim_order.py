"""The claim order of a poll of many sources: failing sources first, then the earliest due,
then the id, across all of them, whether they are claimed in one statement or in slices.

Real store (a SQLite file; the PostgreSQL lane's database there) and, for `poll_ids`, real
HTTP on loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from collector.errors import StoreError
from collector.scheduler import Worker
from collector.schema import Source
from collector.store import Store, claims
from tests.helpers import feed_sites

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def _shape(store: Store, ids: list[str]) -> list[str]:
    """Give the sources failures and due times (with ties) in an order unlike their ids';
    return the ids in the order a claim must take them."""
    due: dict[str, tuple[bool, datetime, str]] = {}
    with store.engine.begin() as conn:
        for n, sid in enumerate(ids):
            failing = n % 7 == 3
            at = T0 - timedelta(minutes=(n * 37) % 11)   # eleven due times, many ties
            conn.execute(update(claims.SOURCES).where(claims.SOURCES.c.id == sid)
                         .values(consecutive_failures=2 if failing else 0, next_poll_at=at))
            due[sid] = (not failing, at, sid)
    return sorted(ids, key=due.__getitem__)


@contextmanager
def _shaped_store(database_url: str, n: int) -> Iterator[tuple[Store, list[str], list[str]]]:
    """A store of `n` sources shaped by `_shape`: (the store, the ids, the claim order)."""
    ids = [f"s{k:04d}" for k in range(n)]
    store = Store(database_url)
    try:
        store.upgrade()
        store.sync_sources([Source(id=i, name=i, url=f"http://127.0.0.1:9/{i}")
                            for i in ids], T0 - timedelta(hours=1))
        yield store, ids, _shape(store, ids)
    finally:
        store.close()


def test_the_claim_order_of_every_source_is_that_of_one_claim_of_all(database_url):
    with _shaped_store(database_url, 1234) as (store, ids, expected):
        wanted = set(ids) - {"s0005", "s0100"}
        order = claims.claim_order(store, T0, wanted, due_only=True)
        assert order == [i for i in expected if i in wanted]
        # slices of the order, each claimed on its own, come back in the order of the whole
        sliced = [st.id for k in range(0, len(order), 500)
                  for st in store.claim(T0, owner="a", lease_s=60, limit=500,
                                        ids=order[k:k + 500])]
        assert sliced == order
        # what is claimed is no longer in the order of another worker
        assert claims.claim_order(store, T0, set(ids), due_only=True) == ["s0005", "s0100"]


def _shaped_sites(tmp_path, site, n: int, concurrency: int):
    """n feed sites of one article each, synced into a fresh store and shaped by `_shape`:
    (config, ids, store, the order one claim of all gives)."""
    config = feed_sites(tmp_path, site, n, concurrency=concurrency, published=T0,
                        id_format="s{i:02d}")
    ids = [s.id for s in config.sources]
    store = Store(config.settings.database_url)
    store.upgrade()
    store.sync_sources(config.sources, T0 - timedelta(hours=1))
    return config, ids, store, _shape(store, ids)


def test_one_claim_of_all_takes_the_same_order(database_url):
    with _shaped_store(database_url, 300) as (store, ids, expected):
        assert claims.claim_order(store, T0, set(ids), due_only=False) == expected
        got = store.claim(T0, owner="a", lease_s=60, limit=len(ids), ids=ids, due_only=False)
        assert [st.id for st in got] == expected


def test_a_poll_claiming_in_slices_starts_its_sources_in_the_order_of_one_claim(
        tmp_path, site, monkeypatch):
    monkeypatch.setattr(claims, "BATCH", 3)
    config, ids, store, expected = _shaped_sites(tmp_path, site, 11, concurrency=1)
    finished: list[str] = []

    def progress(src, _outcome) -> None:
        finished.append(src.id)
        if len(finished) == 1:
            # taken by another worker after the order was read, before its slice (the
            # second, sources 3-5) is claimed: skipped
            assert store.claim_due(T0, owner="other", lease_s=3600, limit=1,
                                   ids=[expected[4]]) == [expected[4]]

    async def main() -> list:
        worker = Worker(config, store, clock=lambda: T0)
        try:
            await worker.start()
            return await worker.poll_ids(ids, progress=progress)
        finally:
            await worker.close()

    try:
        results = asyncio.run(main())
    finally:
        store.close()
    polled = [i for i in expected if i != expected[4]]
    assert finished == polled
    assert [src.id for src, _ in results] == polled
    assert all(outcome.ok for _, outcome in results)


def test_a_claim_that_fails_mid_poll_lets_the_started_polls_end_then_raises(
        tmp_path, site, monkeypatch):
    """The database fails at the second slice's claim: the first slice's polls finish and
    are saved, nothing more is claimed, and `poll_ids` raises the store's error."""
    monkeypatch.setattr(claims, "BATCH", 2)
    config = feed_sites(tmp_path, site, 5, concurrency=2, published=T0)
    store = Store(config.settings.database_url)
    real_claim = store.claim
    calls: list[list[str]] = []

    def claim(*args, **kwargs):
        calls.append(list(kwargs["ids"]))
        if len(calls) == 2:
            raise StoreError("database error: disk I/O error")
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(store, "claim", claim)
    finished: list[str] = []

    async def main() -> None:
        worker = Worker(config, store)
        try:
            await worker.start()
            await worker.poll_ids([s.id for s in config.sources],
                                  progress=lambda s, _o: finished.append(s.id))
        finally:
            await worker.close()

    try:
        with pytest.raises(StoreError, match="disk I/O error"):
            asyncio.run(main())
        # the runner that finished first asked for the next slice while the other's poll ran
        assert sorted(finished) == ["s0", "s1"] and len(calls) == 2
        states = {st.id: st for st in store.source_states()}
        assert [states[f"s{i}"].polls for i in range(5)] == [1, 1, 0, 0, 0]
    finally:
        store.close()


def test_a_tick_claims_in_the_order_of_one_claim_without_an_in_of_every_source(
        tmp_path, site, monkeypatch):
    """`Worker.tick` (the service) reads the order once and claims the next of it as a poll
    slot frees: its polls start in the order one claim of all would give, each claim names
    only the ids it may take, and a source another worker claimed after the order was read
    is skipped."""
    config, ids, store, expected = _shaped_sites(tmp_path, site, 9, concurrency=2)
    real_claim = store.claim
    asked: list[list[str]] = []
    claimed: list[str] = []

    def claim(*args, **kwargs):
        asked.append(list(kwargs["ids"]))
        if len(asked) == 2:
            # taken by another worker after the order was read, before a slot came to it
            assert real_claim(T0, owner="other", lease_s=3600, limit=1,
                              ids=[expected[5]]) != []
        got = real_claim(*args, **kwargs)
        claimed.extend(st.id for st in got)
        return got

    monkeypatch.setattr(store, "claim", claim)

    async def main() -> None:
        worker = Worker(config, store, clock=lambda: T0)
        try:
            await worker.start()
            await worker.tick()
        finally:
            await worker.close()

    try:
        asyncio.run(main())
        polled = [i for i in expected if i != expected[5]]
        assert claimed == polled
        assert asked[0] == expected[:2]           # two slots: the first two of the order
        assert all(len(a) <= 2 for a in asked)    # never every source's id
        states = {st.id: st for st in store.source_states()}
        assert [i for i in ids if states[i].polls == 1] == sorted(polled)
        assert states[expected[5]].polls == 0
    finally:
        store.close()
