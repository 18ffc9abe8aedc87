"""The store's sharing primitives on a real PostgreSQL server: claims, leases, start-up races.

These tests are about PostgreSQL itself (row locks, advisory locks, concurrent DDL), so they
run on the PostgreSQL lane only and are skipped, with the reason, on the SQLite lane.
"""

# Fixtures are imported from tests.pg (so the module works however conftest loads it); the
# test functions take them as arguments, which pyflakes reads as redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.store import Store
from tests.pg import pg_url, requires_postgres  # noqa: F401 - fixtures

pytestmark = requires_postgres

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Src:
    id: str
    name: str
    url: str
    kind: str = "feed"


SOURCES = [Src(f"s{i:03d}", f"Source {i}", f"http://127.0.0.1:9/{i}.xml") for i in range(60)]
IDS = [s.id for s in SOURCES]


def in_threads(n: int, fn) -> list:
    """Run fn(i) in n threads released at the same moment; return results (or exceptions)."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = fn(i)
        except Exception as exc:  # reported by the caller's assertion
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.fixture
def stores(pg_url):
    made = [Store(pg_url) for _ in range(4)]
    yield made
    for s in made:
        s.close()


def test_workers_starting_together_on_a_fresh_database_all_start(pg_url, tmp_path):
    """Several processes migrating and registering sources at once all succeed.

    `collector status` runs the same start-up as `collector run` (migrate, register the
    configured sources); four of them start at the same moment on an empty database.
    """
    body = "".join(f"  - id: {s.id}\n    url: {s.url}\n    kind: feed\n" for s in SOURCES)
    (tmp_path / "sources.yaml").write_text(
        f"settings:\n  data_dir: data\n  database_url: {pg_url}\n"
        f"defaults:\n  allow_private_addresses: true\nsources:\n{body}", encoding="utf-8")
    (tmp_path / "sources.yaml").chmod(0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env["PYTHONPATH"] = str(ROOT)
    procs = [subprocess.Popen([sys.executable, "-m", "collector.cli", "status", "--json"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
        outputs.append((p.returncode, err[-2000:]))
        assert p.returncode == 0, err[-2000:]
        assert len(json.loads(out)["sources"]) == len(SOURCES)
    store = Store(pg_url)
    try:
        assert len(store.source_states()) == len(SOURCES)
    finally:
        store.close()


def test_concurrent_claims_give_each_due_source_to_exactly_one_worker(stores):
    stores[0].upgrade()
    stores[0].sync_sources(SOURCES, T0)

    def claim(i: int) -> list[str]:
        got: list[str] = []
        for _ in range(len(SOURCES)):  # bounded: at most one claim per source
            ids = stores[i].claim_due(T0, owner=f"w{i}", lease_s=600, limit=3, ids=IDS)
            if not ids:
                break
            got.extend(ids)
        return got

    results = in_threads(4, claim)
    assert all(isinstance(r, list) for r in results), results
    claimed = [sid for r in results for sid in r]
    assert sorted(claimed) == sorted(IDS)  # every due source once, none twice
    owners = {st.id: st for st in stores[0].source_states()}
    for i, r in enumerate(results):
        assert all(owners[sid].next_poll_at == T0 for sid in r)
        assert all(_lease_owner(stores[0], sid) == f"w{i}" for sid in r)


def test_a_live_lease_is_not_claimed_and_an_expired_one_is(stores):
    store = stores[0]
    store.upgrade()
    store.sync_sources(SOURCES[:1], T0)
    assert store.claim_due(T0, owner="dead", lease_s=60, limit=5, ids=IDS) == ["s000"]
    before_expiry = T0 + timedelta(seconds=59)
    assert stores[1].claim_due(before_expiry, owner="other", lease_s=60, limit=5, ids=IDS) == []
    after_expiry = T0 + timedelta(seconds=61)
    assert stores[1].claim_due(after_expiry, owner="other", lease_s=60, limit=5,
                               ids=IDS) == ["s000"]
    assert _lease_owner(store, "s000") == "other"


def test_release_by_another_owner_leaves_the_lease(stores):
    store = stores[0]
    store.upgrade()
    store.sync_sources(SOURCES[:1], T0)
    store.claim_due(T0, owner="a", lease_s=60, limit=1, ids=IDS)
    store.release("s000", "b")
    assert _lease_owner(store, "s000") == "a"
    store.release("s000", "a")
    assert _lease_owner(store, "s000") is None


def _lease_owner(store: Store, source_id: str) -> str | None:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return conn.scalar(text("SELECT lease_owner FROM sources WHERE id = :id"),
                           {"id": source_id})
