"""The parse pool: fair queueing by source, overrunning sources deferred, cancellation.

Real worker processes throughout. Order is observed through a file each task appends its name
to as it starts, and workers are held busy by tasks that wait for a gate file, so every
assertion is about order and counts, never about how long something took.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector import decide, document, isolate, limits, pipeline
from collector import extract as extract_module
from collector.config import load_config
from collector.discover.feed import parse_feed
from collector.errors import ConfigError, ExtractError
from collector.fetch import Fetcher
from collector.isolate import Isolator
from collector.store.corpus import LOCK_NAME, STATE_NAME
from tests import hostile_parsers
from tests import pool_tasks as pt
from tests.helpers import load, poll, store_of, terminate, write_config
from tests.pages import article, rss_feed, wordpress_page
from tests.webserver import Page

#: Deadline of the tasks meant to overrun (they would run for an hour); a fresh worker loads
#: tests.pool_tasks well within it, even on a loaded machine.
OVERRUN_S = 2.0
#: Parse deadline in the pipeline tests: a fresh worker imports feedparser or selectolax within
#: it, which takes a good part of a second on a loaded machine.
PIPELINE_DEADLINE_S = 4.0
#: Deadline of everything else: far longer than any of it takes, even on a loaded machine.
LONG_S = 120.0


@pytest.fixture
def log(tmp_path: Path) -> str:
    return str(tmp_path / "started.log")


@pytest.fixture
def pool() -> Iterator[Isolator]:
    iso = Isolator(2, memory_mb=None)
    yield iso
    iso.close()


def wait_for(predicate, what: str) -> None:
    """Until `predicate()` holds; bounded (a minute)."""
    for _ in range(6000):
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def hold_every_worker(pool: Isolator, log: str, gate: Path) -> list[asyncio.Task]:
    """Occupy all workers with tasks that wait for `gate`, so what is queued next queues in a
    known order; returns the holding tasks."""
    holders = [asyncio.ensure_future(pool.run(pt.hold, log, f"hold{i}", str(gate),
                                              timeout_s=LONG_S, queue_key="holder"))
               for i in range(pool.workers)]
    await asyncio.to_thread(wait_for, lambda: len(pt.started(log)) == pool.workers,
                            "the holding tasks to start")
    return holders


def test_a_healthy_source_waits_for_at_most_one_parse_per_hostile_source(log, tmp_path):
    """N hostile sources with two queued parses each, all overrunning, queued ahead of one
    healthy parse: the healthy parse starts after at most N hostile parses (one per hostile
    source: at most ceil(N / workers) deadlines), never behind a second parse of any of them.
    A single queue in arrival order started it only after all 2N. (One worker, so that the
    order in which parses start is the order in which they were taken.)"""
    hostile = [f"h{i}" for i in range(4)]
    gate = tmp_path / "gate"
    pool = Isolator(1, memory_mb=None)

    async def scenario() -> None:
        holders = await hold_every_worker(pool, log, gate)
        tasks = []
        for key in hostile:
            for n in (1, 2):
                tasks.append(asyncio.ensure_future(pool.run(
                    pt.hang, log, f"{key}-{n}", timeout_s=OVERRUN_S, queue_key=key)))
        healthy = asyncio.ensure_future(pool.run(pt.record, log, "healthy", timeout_s=LONG_S,
                                                 queue_key="healthy"))
        await asyncio.sleep(0)  # every task submitted before the worker is free
        gate.touch()
        assert await healthy == "healthy"
        await asyncio.gather(*holders)
        pool.cancel_all()  # the hostile sources' second parses need not run to their deadline
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, (isolate.ParseOverrun, asyncio.CancelledError))
                   for r in results)

    try:
        asyncio.run(scenario())
        order = [n for n in pt.started(log) if not n.startswith("hold")]
        assert order[:len(hostile) + 1] == [f"{key}-1" for key in hostile] + ["healthy"]
        # and every hostile source is deferred now
        assert all(pool.is_deferred(key) for key in hostile)
        assert not pool.is_deferred("healthy")
    finally:
        pool.close()


def test_a_deferred_source_never_takes_the_last_free_worker(pool, log, tmp_path):
    """With two workers and two deferred sources with parses queued, one deferred parse runs
    and the other worker stays free: a healthy parse that arrives meanwhile finishes while the
    deferred parse still runs (it waits for a gate opened only afterwards)."""
    gate = tmp_path / "gate"
    pool.defer("slow1")
    pool.defer("slow2")

    async def scenario() -> None:
        slow = [asyncio.ensure_future(pool.run(pt.hold, log, key, str(gate), timeout_s=LONG_S,
                                               queue_key=key)) for key in ("slow1", "slow2")]
        await asyncio.to_thread(wait_for, lambda: len(pt.started(log)) >= 1,
                                "a deferred parse to start")
        assert await pool.run(pt.record, log, "healthy", timeout_s=LONG_S,
                              queue_key="healthy") == "healthy"
        assert not any(t.done() for t in slow)
        gate.touch()
        await asyncio.gather(*slow)

    asyncio.run(scenario())
    order = pt.started(log)
    assert order.index("healthy") == 1 and set(order) == {"slow1", "slow2", "healthy"}


def test_a_parse_in_time_does_not_end_the_deferral_but_the_days_pass_does(log):
    clock = [1000.0]
    with Isolator(1, memory_mb=None, clock=lambda: clock[0]) as pool:
        with pytest.raises(isolate.ParseOverrun):
            pool.call(pt.hang, log, "slow", timeout_s=OVERRUN_S, queue_key="src")
        assert pool.is_deferred("src")
        assert pool.call(pt.record, log, "quick", timeout_s=LONG_S, queue_key="src") == "quick"
        assert pool.is_deferred("src")
        clock[0] += isolate.limits.PARSE_DEFER_S - 1
        assert pool.is_deferred("src")
        clock[0] += 1
        assert not pool.is_deferred("src")


def test_one_source_with_many_parses_shares_the_worker_round_robin(log, tmp_path):
    """One worker; source a queues four parses, then b and c one each (all three proven):
    b and c are served after a's first, not after all four."""
    gate = tmp_path / "gate"
    with Isolator(1, memory_mb=None) as pool:
        for key in ("a", "b", "c"):
            pool.trust(key)

        async def scenario() -> None:
            holders = await hold_every_worker(pool, log, gate)
            tasks = [asyncio.ensure_future(pool.run(pt.record, log, f"a{i}", timeout_s=LONG_S,
                                                    queue_key="a")) for i in range(4)]
            tasks += [asyncio.ensure_future(pool.run(pt.record, log, key, timeout_s=LONG_S,
                                                     queue_key=key)) for key in ("b", "c")]
            await asyncio.sleep(0)
            gate.touch()
            await asyncio.gather(*holders, *tasks)

        asyncio.run(scenario())
    assert pt.started(log)[1:] == ["a0", "b", "c", "a1", "a2", "a3"]


def test_closing_cancels_queued_and_running_parses_at_once(log, tmp_path):
    """`close()` while one parse runs for an hour and five wait: every caller is cancelled
    (no error is recorded against its source), none of the queued parses ever starts, and
    the running worker is killed."""
    pool = Isolator(1, memory_mb=None)

    async def scenario() -> list[object]:
        tasks = [asyncio.ensure_future(pool.run(pt.hang, log, f"p{i}", timeout_s=3600,
                                                queue_key=f"s{i}")) for i in range(6)]
        await asyncio.to_thread(wait_for, lambda: pt.started(log) == ["p0"],
                                "the first parse to start")
        pool.close()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        # a closed pool cancels newcomers too
        with pytest.raises(asyncio.CancelledError):
            await pool.run(len, "x", timeout_s=5)
        return results

    results = asyncio.run(scenario())
    assert all(isinstance(r, asyncio.CancelledError) for r in results), results
    assert pt.started(log) == ["p0"]
    assert all(not t.is_alive() for t in pool._threads)
    with pytest.raises(ExtractError, match="closed"):
        pool.call(len, "x", timeout_s=5)


def test_cancel_all_keeps_the_pool_usable(log):
    with Isolator(1, memory_mb=None) as pool:
        async def scenario() -> object:
            task = asyncio.ensure_future(pool.run(pt.hang, log, "p", timeout_s=3600))
            await asyncio.to_thread(wait_for, lambda: pt.started(log) == ["p"],
                                    "the parse to start")
            assert pool.cancel_all() == 1
            with pytest.raises(asyncio.CancelledError):
                await task
            return await pool.run(len, "abc", timeout_s=LONG_S)

        assert asyncio.run(scenario()) == 3


def test_a_caller_that_stops_waiting_takes_its_parse_out_of_the_queue(log, tmp_path):
    gate = tmp_path / "gate"
    with Isolator(1, memory_mb=None) as pool:
        async def scenario() -> None:
            holders = await hold_every_worker(pool, log, gate)
            gone = asyncio.ensure_future(pool.run(pt.record, log, "gone", timeout_s=LONG_S))
            kept = asyncio.ensure_future(pool.run(pt.record, log, "kept", timeout_s=LONG_S))
            await asyncio.sleep(0)
            gone.cancel()
            gate.touch()
            await asyncio.gather(*holders, kept)

        asyncio.run(scenario())
    assert pt.started(log) == ["hold0", "kept"]


# --- through the pipeline -------------------------------------------------------------------


def test_a_poll_whose_parses_keep_overrunning_is_cut_short_and_backs_off(tmp_path, site,
                                                                        monkeypatch):
    """Six new items whose pages all overrun: the poll stops after MAX_OVERRUNS_PER_POLL of
    them, leaves the rest unseen for the next poll, fails as parse_timeout (so the source backs
    off), and the source's parses are deferred from then on. A healthy source beside it is
    polled as usual. Once the pages parse again, the next poll takes all six although the
    feed's bytes and ETag never changed (the cut poll recorded no validators)."""
    monkeypatch.setattr(limits, "EXTRACT_TIMEOUT_S", PIPELINE_DEADLINE_S)
    # the pipeline imports `extract` from its module at each call; the worker imports this
    # replacement by its module path
    real_extract = extract_module.extract
    monkeypatch.setattr(extract_module, "extract", hostile_parsers.hanging_extract)
    day = datetime(2024, 5, 1, 9, tzinfo=UTC)
    slow_items = [article(i, f"Slow statement {i}", day + timedelta(hours=i))
                  for i in range(1, 7)]
    site.pages["/slow/feed"] = Page(rss_feed("Slow", site.base, slow_items),
                                    "application/rss+xml", etag='"slow-1"')
    for a in slow_items:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page("Slow", a, site.base).encode()
                                         + hostile_parsers.HANG_MARK)
    good = [article(50 + i, f"Good statement {i}", day + timedelta(hours=i))
            for i in range(1, 3)]
    site.pages["/good/feed"] = Page(rss_feed("Good", site.base, good, path_of=lambda a:
                                             f"/good/{a.slug}/"), "application/rss+xml")
    for a in good:
        site.pages[f"/good/{a.slug}/"] = Page(wordpress_page("Good", a, site.base))
    config = load(tmp_path, f"""sources:
  - id: slow
    url: {site.url('/slow/feed')}
    kind: feed
  - id: good
    url: {site.url('/good/feed')}
    kind: feed
""")
    now = datetime.now(UTC)
    outcomes = {s.id: o for s, o in poll(config, clock=lambda: now)}

    slow = outcomes["slow"]
    assert not slow.ok and slow.error_kind == decide.PARSE_TIMEOUT
    assert "poll cut short: 2 parses overran" in slow.error and "4 items left" in slow.error
    assert outcomes["good"].ok and outcomes["good"].new_documents == 2
    article_requests = [r.path for r in site.requests if r.path.startswith("/statement-")]
    assert len(article_requests) == limits.MAX_OVERRUNS_PER_POLL
    feed = site.pages["/slow/feed"].body
    keys = [c.key for c in parse_feed(feed.encode() if isinstance(feed, str) else feed,
                                      site.url("/slow/feed"))]
    store = store_of(config)
    try:
        st = next(s for s in store.source_states() if s.id == "slow")
        assert st.last_error_kind == decide.PARSE_TIMEOUT and st.consecutive_failures == 1
        assert st.next_poll_at > now
        # the two that overran are recorded as failed attempts; the other four were not touched
        assert len(store.seen_keys("slow", keys)) == limits.MAX_OVERRUNS_PER_POLL
        assert st.etag is None and st.body_hash is None
    finally:
        store.close()

    monkeypatch.setattr(extract_module, "extract", real_extract)
    (_, again), = poll(config, ["slow"], clock=lambda: now)
    # the two that overran were stored from the feed's text; the four untouched ones now
    left = len(slow_items) - limits.MAX_OVERRUNS_PER_POLL
    assert again.ok and again.new_documents == left and again.left == 0, again
    store = store_of(config)
    try:
        titles = {d.title for d in store.iter_documents() if d.source_id == "slow"}
    finally:
        store.close()
    assert titles == {a.title for a in slow_items}
    asked = [r.headers.get("if-none-match") for r in site.requests_for("/slow/feed")]
    assert asked == [None, None], asked


# --- shutdown -------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
#: `collector run`, with the feed parser swapped for one that hangs on marked feeds (the swap
#: must happen in the service's process; its parse workers import the replacement by name).
RUN_WITH_HANGING_FEEDS = """
import sys
from collector import pipeline
from tests import hostile_parsers
pipeline.parse_feed = hostile_parsers.hanging_parse_feed
from collector.cli import main
sys.exit(main(["run", "--no-http"]))
"""


@pytest.mark.skipif(bool(os.environ.get("COLLECTOR_TEST_DATABASE_URL")),
                    reason="reads the SQLite file directly")
def test_sigterm_with_parses_queued_behind_hostile_feeds_exits_within_the_budget(tmp_path,
                                                                                 site):
    """Six feeds whose parses overrun the (default, 10 s) deadline, beside a healthy one:
    SIGTERM once their parses are running and queued. `collector run` cancels the queued
    parses, kills the running ones and exits 0 within 8 s, with a sound database and corpus.
    (With one worker taking every queued parse to its deadline, it took about a minute.)"""
    hostile = [f"/hostile{i}/feed" for i in range(6)]
    for path in hostile:
        site.pages[path] = Page(rss_feed("Hostile", site.base, []).encode()
                                + hostile_parsers.HANG_MARK, "application/rss+xml")
    good = [article(i, f"Good statement {i}", datetime(2024, 5, 1, 9, i, tzinfo=UTC))
            for i in range(1, 3)]
    site.pages["/good/feed"] = Page(rss_feed("Good", site.base, good), "application/rss+xml")
    for a in good:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page("Good", a, site.base))
    sources = "".join(f"  - id: hostile{i}\n    url: {site.url(path)}\n    kind: feed\n"
                      for i, path in enumerate(hostile))
    write_config(tmp_path, f"sources:\n{sources}  - id: good\n"
                           f"    url: {site.url('/good/feed')}\n    kind: feed\n",
                 settings_extra="  tick: 1s\n")
    log = tmp_path / "parses.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update({hostile_parsers.LOG_ENV: str(log), "PYTHONPATH": str(ROOT)})
    proc = subprocess.Popen([sys.executable, "-c", RUN_WITH_HANGING_FEEDS], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        def parses_queued() -> bool:
            assert proc.poll() is None, proc.communicate()[1]
            return (all(site.requests_for(p) for p in hostile)
                    and any(n.startswith("feed:") for n in pt.started(log)))

        wait_for(parses_queued, "the hostile feeds' parses to be running and queued")
        took, rest = terminate(proc, timeout_s=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, rest
    assert took < 8, f"took {took:.1f} s\n{rest}"
    assert "stopped" in rest
    # nothing half-written: the database is sound, every stored document has its file and its
    # index line, and no temporary file is left
    db = tmp_path / "data" / "collector.db"
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = {i for (i,) in con.execute("SELECT id FROM documents")}
    finally:
        con.close()
    docs = tmp_path / "data" / "documents"
    files = sorted(docs.glob("*.txt")) if docs.exists() else []
    assert {f.stem.partition("_")[2] for f in files} == ids
    for f in files:
        assert document.validate(f.read_text(encoding="utf-8")) == [], f.name
    index = (docs / "index.jsonl").read_text().splitlines() if ids else []
    assert {json.loads(line)["id"] for line in index} == ids
    if docs.exists():
        kept = (".txt", ".jsonl")
        assert [p.name for p in docs.iterdir()
                if p.suffix not in kept and p.name not in (STATE_NAME, LOCK_NAME)] == []


def test_a_proven_source_goes_before_sources_never_seen(log, tmp_path):
    """One worker; three new sources (their parses overrun) queue before a source whose last
    poll succeeded: the proven source's parse is taken first, then the new ones in turn."""
    gate = tmp_path / "gate"
    with Isolator(1, memory_mb=None) as pool:
        pool.trust("known")

        async def scenario() -> None:
            holders = await hold_every_worker(pool, log, gate)
            new = [asyncio.ensure_future(pool.run(pt.hang, log, key, timeout_s=OVERRUN_S,
                                                  queue_key=key)) for key in ("n1", "n2")]
            known = asyncio.ensure_future(pool.run(pt.record, log, "known", timeout_s=LONG_S,
                                                   queue_key="known"))
            await asyncio.sleep(0)
            gate.touch()
            await asyncio.gather(*holders, known)
            await asyncio.gather(*new, return_exceptions=True)

        asyncio.run(scenario())
        assert pt.started(log) == ["hold0", "known", "n1", "n2"]
        assert pool.is_deferred("n1") and not pool.is_deferred("known")


# --- the setting ----------------------------------------------------------------------------


@pytest.mark.parametrize("value, problem", [
    ("0", "must be a whole number ≥ 1"), ("two", "must be a whole number ≥ 1"),
    ("1.5", "must be a whole number ≥ 1"), ("65", "must be at most 64")])
def test_a_bad_parse_workers_setting_is_refused_with_its_line(tmp_path, value, problem):
    path = write_config(tmp_path, "sources: []\n", settings_extra=f"    parse_workers: {value}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    # the line the setting stands on (the PostgreSQL lane writes one more setting above it)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1)
                if "parse_workers" in text)
    assert any("parse_workers" in p and problem in p and f":{line}:" in p
               for p in err.value.problems), err.value.problems


def test_parse_workers_sizes_the_pipelines_pool(tmp_path):
    config = load(tmp_path, "sources: []\n", settings_extra="    parse_workers: 3\n")
    assert config.settings.fetch.parse_workers == 3
    store = store_of(config)
    try:
        p = pipeline.Pipeline(config, store, Fetcher())
        assert p.parses.workers == 3
        p.close()
        other = tmp_path / "other"
        other.mkdir()
        default = pipeline.Pipeline(load(other, "sources: []\n"), store, Fetcher())
        assert default.parses.workers == isolate.parse_workers()
        default.close()
    finally:
        store.close()
