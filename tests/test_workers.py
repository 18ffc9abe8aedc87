"""Three `collector run` processes share 500 sources on one PostgreSQL database.

A farm of 500 feed sites on loopback (one address each) records every request: site, path,
worker (each worker names itself in its User-Agent) and the time window of the answer. Three
real worker processes run the real CLI on one database. Three rounds:

1. start: every source is new, so due; the workers share the first polls;
2. every site publishes a new statement and the test makes every source due again;
3. the same, but the farm leaves one worker's feed requests unanswered; once that worker holds
   leases, it is killed with SIGKILL; its sources must be polled by the two others after its
   leases expire (COLLECTOR_LEASE_S shortens them from ten minutes), and not before.

Then: every statement is a document exactly once, no item is seen twice, no source was polled
by two workers at once, and the work was shared.
"""

# Fixtures are imported from tests.pg (so the module works however conftest loads it); the
# test functions take them as arguments, which pyflakes reads as redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import itertools
import os
import signal
import time
from collections import defaultdict

import pytest

from bench.workers import (
    Db,
    RecordingFarm,
    agent_tag,
    round_done,
    site_of,
    source_id,
    start_worker,
    stop_workers,
    wait_for,
    write_config,
)
from tests.pg import pg_url, requires_postgres  # noqa: F401 - fixtures

pytestmark = requires_postgres

SOURCES = 500
WORKERS = ("w1", "w2", "w3")
#: Lease of the workers in this test: long enough for any poll here, short enough to wait for.
LEASE_S = 12.0
#: How long after a lease expires another worker may take to poll the source: a tick (1 s in
#: this config) plus the poll itself, with room for a loaded machine.
PICKUP_SLACK_S = 20.0


@pytest.fixture
def farm():
    with RecordingFarm(SOURCES, fault_share=0.0, items=1, change_share=1.0,
                       latency=(0.01, 0.05)) as f:
        yield f
        f.release()


def feed_windows(hits):
    """site -> [(start, end, worker)] of answered feed requests, in order of arrival."""
    out = defaultdict(list)
    for h in hits:
        if h.path == "/feed" and h.end is not None:
            out[h.site].append((h.start, h.end, worker_of(h.agent)))
    return {site: sorted(ws) for site, ws in out.items()}


def worker_of(agent: str) -> str:
    return next((w for w in WORKERS if agent_tag(w) in agent), "?")


#: locations that are a statement's own page or a copy of it elsewhere (not URL aliases)
PLACES = "how <> 'alias'"


def collected(db) -> int:
    """Statements collected so far: each has exactly one location row of these kinds."""
    return int(db.scalar(f"SELECT count(*) FROM locations WHERE {PLACES}"))


def test_three_workers_share_sources_collect_once_and_survive_a_killed_worker(
        farm, pg_url, tmp_path):
    db = Db(pg_url)
    # 64 poll slots per worker (the default is 256): 500 sources are then more than two
    # workers' slots, so every worker gets a share even if one starts late
    config = write_config(tmp_path / "sources.yaml", farm, database_url=pg_url,
                          data_dir=tmp_path / "data", backfill=1, poll_concurrency=64)
    workers = [start_worker(name, config, logs=tmp_path / "logs", lease_s=LEASE_S)
               for name in WORKERS]
    try:
        # -- round 1: the first poll of every source ------------------------------------------
        wait_for(db.exists, timeout_s=60, what="schema", workers=workers)
        wait_for(lambda: round_done(db, 1), timeout_s=120, what="round 1", workers=workers)
        assert collected(db) == SOURCES

        # -- round 2: one new statement per site, every source due ----------------------------
        farm.set_cycle(1)
        db.make_all_due()
        wait_for(lambda: round_done(db, 2), timeout_s=120, what="round 2", workers=workers)
        assert collected(db) == 2 * SOURCES

        # -- round 3: a worker dies holding leases ---------------------------------------------
        victim, survivors = workers[0], workers[1:]
        farm.set_cycle(2)
        farm.hold(agent_tag(victim.name))
        db.make_all_due()
        held = wait_for(lambda: db.leases_of_pid(victim.pid) if farm.held() else None,
                        timeout_s=60, what="the victim holding leases", workers=workers)
        # its leases are all taken while its first feed requests hang: take them again now
        time.sleep(0.5)
        held = db.leases_of_pid(victim.pid)
        assert max(held.values()) <= time.time() + LEASE_S + 1, \
            "the workers ignore COLLECTOR_LEASE_S: their leases are longer than the test's"
        os.killpg(victim.pid, signal.SIGKILL)
        victim.proc.wait(timeout=10)
        killed_at = time.time()
        wait_for(lambda: round_done(db, 3) if not db.leases_of_pid(victim.pid) else None,
                 timeout_s=LEASE_S + 90, what="round 3 without the killed worker",
                 workers=survivors)
        hits = farm.snapshot()
    finally:
        farm.release()
        stop_workers(workers)
        db.close()

    # -- every statement collected exactly once ----------------------------------------------
    db = Db(pg_url)
    try:
        # A statement is a document of its own, or (when another site's page carries the same
        # text: the farm draws texts from a fixed pool) a recorded location of one.
        urls = [u for (u,) in db.rows(f"SELECT url FROM locations WHERE {PLACES}")]
        dup_items = db.rows("SELECT source_id, key_hash FROM seen_items "
                            "GROUP BY source_id, key_hash HAVING count(*) > 1")
        doc_sources = db.rows(f"SELECT source_id, count(*) FROM locations WHERE {PLACES} "
                              "GROUP BY source_id")
    finally:
        db.close()
    expected = {farm.url(i, f"/a/{k}") for i in range(SOURCES) for k in range(3)}
    assert len(urls) == len(set(urls)) == 3 * SOURCES
    assert set(urls) == expected
    assert dup_items == []
    assert {sid: n for sid, n in doc_sources} == {source_id(i): 3 for i in range(SOURCES)}

    # -- no source polled by two workers at the same time -----------------------------------
    windows = feed_windows(hits)
    for site, ws in windows.items():
        for (s1, e1, w1), (s2, _e2, w2) in itertools.pairwise(ws):
            assert s2 >= e1, (f"site {site}: {w1} polled {s1:.3f}-{e1:.3f} while {w2} "
                              f"started at {s2:.3f}")
    # every source's feed was answered once per round, no more
    assert {site: len(ws) for site, ws in windows.items()} == {i: 3 for i in range(SOURCES)}

    # -- the work was shared ---------------------------------------------------------------
    by_worker = defaultdict(int)
    for ws in windows.values():
        for _s, _e, w in ws:
            by_worker[w] += 1
    assert set(by_worker) <= set(WORKERS)
    assert all(by_worker[w] > 0 for w in WORKERS), dict(by_worker)

    # -- the killed worker's sources: polled by the others after its leases expired ---------
    assert held, "the killed worker held no leases"
    held_sites = {site_of(sid): until for sid, until in held.items()}
    for site, until in held_sites.items():
        last = windows[site][-1]
        start, _end, who = last
        assert who in {w.name for w in survivors}, (site, who)
        assert start >= until - 0.5, (f"site {site} polled by {who} at {start:.3f}, before "
                                      f"the killed worker's lease ended at {until:.3f}")
        assert start <= until + PICKUP_SLACK_S, (
            f"site {site} picked up {start - until:.1f} s after the lease ended")
    assert all(until <= killed_at + LEASE_S for until in held_sites.values())
