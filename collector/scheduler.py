"""The service: APScheduler wiring, one tick job that polls due sources, and the digest jobs.

Schedule state lives in the database (each source's `next_poll_at`); the single tick job asks
the store which sources are due and claims them (a lease, so several workers can share one
PostgreSQL database), then polls them concurrently within a bound. Nothing here decides *when*
a source is due: that is `collector.decide`, applied by the pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from . import limits, metrics, sdnotify
from .config import Config, Source
from .fetch import Fetcher, user_agent
from .models import PollOutcome
from .pipeline import Pipeline, utcnow
from .store import SourceState, Store

log = logging.getLogger("collector.service")

#: A claimed source is held this long; a worker that dies frees its sources when it expires.
#: (COLLECTOR_LEASE_S overrides it, e.g. for tests that kill a worker.)
LEASE_S = 10 * 60


def lease_s() -> float:
    try:
        value = float(os.environ.get("COLLECTOR_LEASE_S", ""))
    except ValueError:
        return LEASE_S
    return value if value > 0 else LEASE_S

#: On SIGTERM, polls in flight get this long to finish before they are cancelled (systemd waits
#: 90 s and docker 10 s before killing; every write is atomic, so cancelling loses nothing).
SHUTDOWN_GRACE_S = 5.0


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def format_outcome(source: Source, o: PollOutcome) -> str:
    if not o.ok:
        return f"source {source.id}: FAILED ({o.error_kind}) {o.error}"
    if o.not_modified:
        return f"source {source.id}: not modified ({o.elapsed_s:.1f} s)"
    return (f"source {source.id}: {o.new_documents} new, {o.duplicates} duplicates, "
            f"{o.skipped} skipped ({o.method}, {o.elapsed_s:.1f} s)")


class Worker:
    """Polls sources for one process: used by `collector run` (ticks) and `collector poll`."""

    def __init__(self, config: Config, store: Store, *, clock: Callable[[], datetime] = utcnow,
                 fetcher: Fetcher | None = None):
        self.config = config
        self.store = store
        self.clock = clock
        self.id = worker_id()
        fs = config.settings.fetch
        self.fetcher = fetcher or Fetcher(
            user_agent=user_agent(config.settings.contact), global_concurrency=fs.concurrency,
            per_host_concurrency=fs.per_host_concurrency, per_host_delay_s=fs.per_host_delay_s)
        self.pipeline = Pipeline(config, store, self.fetcher, clock=clock)
        self._sources = {s.id: s for s in config.sources}
        self._busy = asyncio.Lock()
        self.lease_s = lease_s()
        #: when the last complete tick finished (for /healthz)
        self.last_tick_at: datetime | None = None
        self.in_flight: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Migrate, register sources, repair the corpus after a crash, load the dedup index."""
        await asyncio.to_thread(self.store.upgrade)
        await asyncio.to_thread(self.store.sync_sources, self.config.sources, self.clock())
        if self.store.is_sqlite:
            # one process per SQLite database (enforced by `collector run`): leases left by a
            # process that was killed are stale
            await asyncio.to_thread(self.store.clear_leases)
        repaired = await self.pipeline.reconcile_corpus()
        if repaired:
            log.info("wrote %d corpus files left unwritten by an earlier stop", repaired)
        loaded = await self.pipeline.load_index()
        log.info("near-duplicate index holds %d documents", loaded)

    async def close(self) -> None:
        try:
            await self.pipeline.flush_index()
        except Exception:  # the database is gone: `collector export` rebuilds the index
            log.exception("could not rewrite index.jsonl at shutdown")
        self.pipeline.close()
        await self.fetcher.aclose()

    async def poll_ids(self, ids: Sequence[str], *,
                       progress: Callable[[Source, PollOutcome], None] | None = None,
                       due_only: bool = False) -> list[tuple[Source, PollOutcome]]:
        """Claim and poll the given enabled sources (only those due, if `due_only`)."""
        wanted = [i for i in ids if i in self._sources and self._sources[i].enabled]
        if not wanted:
            return []
        claimed = await asyncio.to_thread(
            self.store.claim, self.clock(), owner=self.id, lease_s=self.lease_s,
            limit=len(wanted), ids=wanted, due_only=due_only)
        sem = asyncio.Semaphore(self.config.settings.fetch.poll_concurrency)

        async def bounded(state: SourceState) -> tuple[Source, PollOutcome]:
            async with sem:
                return await self._poll_one(self._sources[state.id], state, progress)

        results = list(await asyncio.gather(*(self._track(bounded(st)) for st in claimed)))
        await self.pipeline.flush_index()
        return results

    async def tick(self) -> None:
        """Poll every enabled source that is due now; overlapping ticks are skipped.

        Sources are claimed one free poll slot at a time, not all at once: what this worker
        cannot start yet stays unclaimed for other workers, and no lease runs out while its
        source waits in this process's queue.
        """
        if self._busy.locked():
            return
        async with self._busy:
            enabled = [s.id for s in self.config.sources if s.enabled]
            width = self.config.settings.fetch.poll_concurrency
            running: set[asyncio.Future[Any]] = set()
            claimed_total = 0
            exhausted = False
            while True:
                free = width - len(running)
                if free > 0 and not exhausted and claimed_total < limits.MAX_SOURCES_PER_TICK:
                    claimed = await asyncio.to_thread(
                        self.store.claim, self.clock(), owner=self.id,
                        lease_s=self.lease_s,
                        limit=min(free, limits.MAX_SOURCES_PER_TICK - claimed_total),
                        ids=enabled, due_only=True)
                    exhausted = len(claimed) < free
                    claimed_total += len(claimed)
                    running.update(self._track(self._poll_one(self._sources[st.id], st, None))
                                   for st in claimed)
                if not running:
                    break
                _done, pending = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                running = set(pending)
            await self.pipeline.flush_index()
            self.last_tick_at = self.clock()

    def _track(self, coro: Any) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        return task

    async def _poll_one(self, source: Source, state: SourceState | None,
                        progress: Callable[[Source, PollOutcome], None] | None
                        ) -> tuple[Source, PollOutcome]:
        released = False
        try:
            outcome, released = await self.pipeline.poll_claimed(source, state=state,
                                                                 owner=self.id)
        except Exception as exc:  # a bug must not stop the other sources
            log.exception("source %s: unexpected error", source.id)
            outcome = PollOutcome(source.id, ok=False, error=f"internal error: {exc}",
                                  error_kind="internal")
        finally:
            # the pipeline's last write frees the lease; only a poll that ended without it
            # (a bug, a database failure, cancellation) needs a transaction of its own
            if not released:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.store.release, source.id, self.id)
        metrics.record_poll(source.id, outcome.ok, outcome.error_kind, outcome.elapsed_s,
                            outcome.new_documents)
        # exactly one line per source per poll
        log.log(logging.INFO if outcome.ok else logging.WARNING, format_outcome(source, outcome))
        if progress is not None:
            progress(source, outcome)
        return source, outcome

    async def drain(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Let polls in flight finish for `grace_s`, then cancel them."""
        pending = set(self.in_flight)
        if not pending:
            return
        _done, pending = await asyncio.wait(pending, timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2.0)
            log.info("cancelled %d polls at shutdown", len(pending))


class Service:
    """`collector run`: the scheduler, the digest jobs and the HTTP server, until stopped."""

    def __init__(self, config: Config, store: Store, *, serve_http: bool = True,
                 clock: Callable[[], datetime] = utcnow):
        self.config = config
        self.store = store
        self.clock = clock
        self.worker = Worker(config, store, clock=clock)
        self.serve_http = serve_http
        self.stop_event = asyncio.Event()

    def stop(self) -> None:
        self.stop_event.set()

    async def run(self) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        await self.worker.start()
        scheduler = AsyncIOScheduler(timezone=UTC)
        tick = self.config.settings.tick_s
        scheduler.add_job(self.worker.tick, IntervalTrigger(seconds=tick),
                          id="tick", max_instances=1, coalesce=True,
                          next_run_time=datetime.now(UTC))
        digests = self._digest_runner()
        if digests is not None:
            scheduler.add_job(digests.tick, IntervalTrigger(seconds=tick),
                              id="digests", max_instances=1, coalesce=True,
                              next_run_time=datetime.now(UTC))
        server = None
        if self.serve_http:
            server = await self._start_http(digests)
        watchdog = sdnotify.watchdog_interval_s()
        if watchdog:
            # systemd's watchdog: ping while the loop runs and the database answers
            scheduler.add_job(self._watchdog, IntervalTrigger(seconds=watchdog),
                              id="watchdog", max_instances=1, coalesce=True)
        scheduler.start()
        log.info("collector running: %d sources, %d digests, worker %s",
                 len(self.config.sources), len(self.config.digests), self.worker.id)
        sdnotify.notify("READY=1")
        try:
            await self.stop_event.wait()
        finally:
            sdnotify.notify("STOPPING=1")
            log.info("stopping")
            # queued parses are cancelled and running ones killed now, not after their deadlines
            self.worker.pipeline.close()
            scheduler.shutdown(wait=False)
            await self.worker.drain()
            if server is not None:
                await server.stop()
            await self.worker.close()
            log.info("stopped")

    async def _watchdog(self) -> None:
        try:
            await asyncio.to_thread(self.store.count_documents)
        except Exception as exc:
            log.warning("watchdog: the database does not answer: %s", exc)
            return
        sdnotify.notify("WATCHDOG=1")

    def _digest_runner(self) -> Any:
        from .digests import DigestRunner

        return DigestRunner(self.config, self.store, clock=self.clock)

    async def _start_http(self, digests: Any) -> Any:
        from .server import HttpServer

        server = HttpServer(self.config, self.store, digests=digests,
                            last_tick=lambda: self.worker.last_tick_at, clock=self.clock)
        await server.start()
        return server
