"""The service: APScheduler wiring, one tick job that polls due sources, the digest jobs, and
the watch job that re-checks stored statements (collector.watch) every `settings: watch: every`.

Schedule state lives in the database (each source's `next_poll_at`); the single tick job asks
the store which sources are due and claims them (a lease, so several workers can share one
PostgreSQL database), then polls them concurrently within a bound. Nothing here decides *when*
a source is due: that is `collector.decide`, applied by the pipeline.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from . import browser, limits, metrics, sdnotify, webguard
from .archive import Archiver
from .config import Config, Source
from .errors import CollectorError
from .fetch import Fetcher, user_agent
from .models import PollOutcome
from .pipeline import Pipeline, utcnow
from .reload import Reloader
from .store import SourceState, Store, claims
from .store.robots import StoredRobots
from .watch import Watcher

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

#: From SIGTERM to the end of the process: docker kills after 10 s, systemd after 90 s.
#: The stop is planned within this budget (see `Service.shutdown`); every write is atomic
#: (a transaction, or a file renamed into place), so whatever is cut short loses nothing.
STOP_BUDGET_S = 8.0
#: On SIGTERM, polls in flight get this long to finish before they are cancelled.
SHUTDOWN_GRACE_S = 2.0
#: Cancelled polls and the scheduler's jobs get this long to unwind.
UNWIND_S = 1.0
#: how often the WARC retention runs (it runs at start-up too)
CAPTURE_MAINTENANCE_S = 3600
#: Threads still busy this long after SIGTERM (a blocking call that ignored its abort) are
#: left behind: the process exits without them (`collector run`), inside STOP_BUDGET_S.
EXIT_BY_S = STOP_BUDGET_S - 1.0


#: the ids of this process's Workers between `start` and `close`
_LIVE_WORKERS: set[str] = set()


def worker_id() -> str:
    """`host:pid:random`: the owner written on the leases this process takes."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def owner_dead(owner: str) -> bool:
    """Whether the process that wrote lease owner `owner` (a `worker_id`) is surely gone: it
    ran on this host and no process has its pid. An owner on another host, one in another
    form, or a pid in use (perhaps reused by an unrelated process) counts as alive: its
    leases run out by themselves, so the doubt costs a wait, never a double poll."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        # this pid in an earlier life (a container restarted gives its process the same pid
        # again), or a Worker of this process that has been closed
        return owner not in _LIVE_WORKERS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def format_outcome(source: Source, o: PollOutcome) -> str:
    if not o.ok:
        return f"source {source.id}: FAILED ({o.error_kind}) {o.error}"
    if o.not_modified:
        return f"source {source.id}: not modified ({o.elapsed_s:.1f} s)"
    left = f", {o.left} left for the next poll" if o.left else ""
    return (f"source {source.id}: {o.new_documents} new, {o.duplicates} duplicates, "
            f"{o.skipped} skipped{left} ({o.method}, {o.elapsed_s:.1f} s)")


def outcome_fields(source: Source, o: PollOutcome) -> dict[str, Any]:
    """The poll's figures as log record fields (`extra=`): JSON logs carry them as keys."""
    return {"source": source.id, "url": source.url, "result": "ok" if o.ok else "error",
            "kind": o.error_kind, "method": o.method, "elapsed_s": round(o.elapsed_s, 3),
            "new": o.new_documents, "duplicates": o.duplicates, "skipped": o.skipped,
            "left": o.left, "not_modified": o.not_modified}


class Worker:
    """Polls sources for one process: used by `collector run` (ticks) and `collector poll`."""

    def __init__(self, config: Config, store: Store, *, clock: Callable[[], datetime] = utcnow,
                 fetcher: Fetcher | None = None, metrics: bool = True):
        self.config = config
        self.store = store
        #: whether polls are counted in the process's metrics (`collector run` serves them at
        #: /metrics; a one-shot `collector poll` shows them nowhere, and a histogram per source
        #: cost it about 2 MB and 0.1-0.25 CPU s per 1,000 sources, bench/memory.py)
        self.metrics = metrics
        self.clock = clock
        self.id = worker_id()
        fs = config.settings.fetch
        self.fetcher = fetcher or Fetcher(
            user_agent=user_agent(config.settings.contact), global_concurrency=fs.concurrency,
            per_host_concurrency=fs.per_host_concurrency, per_host_delay_s=fs.per_host_delay_s)
        # robots.txt answers outlive the process: a restart refetches none still fresh
        self.fetcher.robots.attach(StoredRobots(store))
        self.pipeline = Pipeline(config, store, self.fetcher, clock=clock)
        #: re-checks of stored statements (`settings: watch`), through the same pipeline
        self.watcher = Watcher(config, self.pipeline)
        self.last_watch_at: datetime | None = None
        self._sources = {s.id: s for s in config.sources}
        self._busy = asyncio.Lock()
        self.lease_s = lease_s()
        #: when the last complete tick finished (for /healthz)
        self.last_tick_at: datetime | None = None
        self.in_flight: set[asyncio.Task[Any]] = set()
        #: sources this worker is polling now: never claimed again by it meanwhile, even when
        #: a slow poll outlives its lease
        self.polling: set[str] = set()
        #: set when the service stops: ticks claim nothing more
        self.stopping = False

    def reconfigure(self, config: Config) -> None:
        """A reloaded configuration (collector.reload): the next claims use its sources; polls
        in flight finish with the Source they started with."""
        self.config = config
        self._sources = {s.id: s for s in config.sources}
        self.pipeline.config = config
        self.watcher.reconfigure(config)

    async def start(self) -> None:
        """Migrate, register sources, repair the corpus after a crash, load the dedup index."""
        _LIVE_WORKERS.add(self.id)
        await asyncio.to_thread(self.store.upgrade)
        await asyncio.to_thread(self.store.sync_sources, self.config.sources, self.clock())
        if self.store.is_sqlite:
            # leases left by a process of this host that was killed are stale; those of a
            # process still running (a `collector run` beside this one-shot `collector poll`,
            # or the other way round) are not, and are left to it
            freed = await asyncio.to_thread(self.store.clear_leases, owner_dead)
            if freed:
                log.info("freed the leases of %d stopped worker(s): %s", len(freed),
                         ", ".join(freed))
        await self.maintain_captures(recover=True)
        repaired = await self.pipeline.reconcile_corpus()
        if repaired:
            log.info("wrote %d corpus files left unwritten by an earlier stop", repaired)
        loaded = await self.pipeline.load_index()
        log.info("near-duplicate index holds %d documents", loaded)
        if note := browser.missing_note(self.config.sources):
            log.error("%s", note)

    async def maintain_captures(self, *, recover: bool = False) -> None:
        """WARC upkeep: the crash repair (at start-up) and the retention (collector.capture)."""
        await asyncio.to_thread(self.pipeline.storing.maintain_captures, recover=recover)

    async def close(self) -> None:
        _LIVE_WORKERS.discard(self.id)
        try:
            await self.pipeline.flush_index()
        except Exception:  # the database is gone: `collector export` rebuilds the index
            log.exception("could not rewrite index.jsonl at shutdown")
        self.pipeline.close()
        await self.fetcher.robots.flush()
        await asyncio.to_thread(self.pipeline.close_files)
        await self.pipeline.browser.aclose()
        await self.fetcher.aclose()

    async def poll_ids(self, ids: Sequence[str], *,
                       progress: Callable[[Source, PollOutcome], None] | None = None,
                       due_only: bool = False) -> list[tuple[Source, PollOutcome]]:
        """Claim and poll the given enabled sources (only those due, if `due_only`).

        They start in claim order across all of them (collector.store.claims), read once;
        they are claimed `claims.BATCH` at a time, in slices of that order, as the runners
        come to them: one claim of thousands of sources passes through megabytes of rows and
        parameters that the heap keeps for the rest of the poll, and a source this worker
        has not come to yet stays unclaimed.
        """
        wanted = {i for i in ids if i in self._sources and self._sources[i].enabled
                  and i not in self.polling}
        if not wanted:
            return []
        order = await asyncio.to_thread(claims.claim_order, self.store, self.clock(), wanted,
                                        due_only=due_only)
        del wanted
        results: list[tuple[Source, PollOutcome] | None] = []
        # each claimed state is let go once its poll starts (0.65 KB apiece)
        queue: collections.deque[tuple[int, SourceState]] = collections.deque()
        claiming = asyncio.Lock()
        taken = 0
        failed: list[CollectorError] = []
        sources = self._sources   # a reload while this poll runs does not change its sources

        async def next_source() -> tuple[int, SourceState] | None:
            nonlocal taken
            if queue:
                return queue.popleft()
            async with claiming:   # one claim at a time; the others wait for its sources
                while not queue and taken < len(order) and not failed:
                    batch = order[taken:taken + claims.BATCH]
                    taken += len(batch)
                    try:
                        claimed = await asyncio.to_thread(
                            self.store.claim, self.clock(), owner=self.id,
                            lease_s=self.lease_s, limit=len(batch), ids=batch,
                            due_only=due_only)
                    except CollectorError as exc:
                        # the database failed: no more claims; the polls started end first
                        failed.append(exc)
                        break
                    for state in claimed:
                        queue.append((len(results), state))
                        results.append(None)
            return queue.popleft() if queue else None

        async def runner() -> None:
            # `poll_concurrency` runners take the claimed sources in claim order: a task per
            # source, each waiting for a slot, held about 1.5 KB apiece (7.6 MB at 5,000)
            while (got := await next_source()) is not None:
                i, state = got
                results[i] = await self._poll_one(sources[state.id], state, progress)

        width = max(1, min(self.config.settings.fetch.poll_concurrency, len(order)))
        await asyncio.gather(*(self._track(runner()) for _ in range(width)))
        await self.pipeline.flush_index()
        await self.fetcher.robots.flush()
        if failed:
            raise failed[0]
        return [r for r in results if r is not None]

    async def tick(self) -> None:
        """Poll every enabled source that is due now; overlapping ticks are skipped.

        Sources are claimed one free poll slot at a time, not all at once: what this worker
        cannot start yet stays unclaimed for other workers, and no lease runs out while its
        source waits in this process's queue. Like `poll_ids`, the tick reads once the claim
        order of the sources due (collector.store.claims) and claims the next of that order as
        slots free, instead of an `IN` of every enabled id at each claim; a source that falls
        due, or is added by a reload, during a long tick is polled by the next tick.
        """
        if self._busy.locked():
            return
        async with self._busy:
            width = self.config.settings.fetch.poll_concurrency
            running: set[asyncio.Future[Any]] = set()
            claimed_total = 0
            wanted = {i for i, s in self._sources.items()
                      if s.enabled and i not in self.polling}
            order = (await asyncio.to_thread(claims.claim_order, self.store, self.clock(),
                                             wanted, due_only=True)) if wanted else []
            del wanted
            taken = 0
            while True:
                free = min(width - len(running), limits.MAX_SOURCES_PER_TICK - claimed_total)
                while free > 0 and taken < len(order) and not self.stopping:
                    # read at each claim: a source a reload removed or disabled is skipped;
                    # the snapshot keeps ids and Sources of one claim together
                    sources = self._sources
                    batch = [i for i in order[taken:taken + free]
                             if i in sources and sources[i].enabled and i not in self.polling]
                    taken += free
                    if not batch:
                        continue
                    claimed = await asyncio.to_thread(
                        self.store.claim, self.clock(), owner=self.id,
                        lease_s=self.lease_s, limit=len(batch), ids=batch, due_only=True)
                    # fewer than asked: others took the rest after the order was read
                    free -= len(claimed)
                    claimed_total += len(claimed)
                    self.polling.update(st.id for st in claimed)
                    running.update(self._track(self._poll_one(sources[st.id], st, None))
                                   for st in claimed)
                if not running:
                    break
                _done, pending = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                running = set(pending)
            await self.pipeline.flush_index()
            await self.fetcher.robots.flush()
            self.last_tick_at = self.clock()

    async def watch_tick(self) -> None:
        """Run a watch round (collector.watch) when `settings: watch: every` has passed since
        the last one; never raises for a statement's failures."""
        now = self.clock()
        every = timedelta(seconds=self.config.settings.watch.every_s)
        if self.stopping or (self.last_watch_at is not None and now < self.last_watch_at + every):
            return
        self.last_watch_at = now
        try:
            report = await self._track(self.watcher.run_round())
        except CollectorError as exc:   # the database is gone: the next round tries again
            log.error("watch: the round stopped: %s", exc)
            return
        if report.checked:
            log.info("watch: %d statement(s) checked: %d edited, %d vanished, %d restored, "
                     "%d failed (checked again later)", len(report.checked),
                     report.count("edited"), report.count("vanished"),
                     report.count("restored"), report.count("error"))

    def _track(self, coro: Any) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        return task

    async def _poll_one(self, source: Source, state: SourceState | None,
                        progress: Callable[[Source, PollOutcome], None] | None
                        ) -> tuple[Source, PollOutcome]:
        released = False
        self.polling.add(source.id)
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
            self.polling.discard(source.id)
        if self.metrics:
            metrics.record_poll(source.id, outcome.ok, outcome.error_kind, outcome.elapsed_s,
                                outcome.new_documents)
        # exactly one line per source per poll
        log.log(logging.INFO if outcome.ok else logging.WARNING, format_outcome(source, outcome),
                extra=outcome_fields(source, outcome))
        if progress is not None:
            progress(source, outcome)
        return source, outcome

    async def drain(self, grace_s: float = SHUTDOWN_GRACE_S, unwind_s: float = UNWIND_S
                    ) -> None:
        """Claim nothing more; let polls in flight finish for `grace_s`, then cancel them and
        give them `unwind_s` to unwind."""
        self.stopping = True
        pending = set(self.in_flight)
        if not pending:
            return
        _done, pending = await asyncio.wait(pending, timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=unwind_s)
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
        #: time.monotonic() of the first stop request (SIGTERM), for the stop budget
        self.stop_requested_at: float | None = None
        #: the scheduled job running under each name (one at a time)
        self._jobs: dict[str, asyncio.Task[Any]] = {}
        self.reloader: Any = None
        #: the archive job: sends what sources and digests with `archive: wayback` queue
        self.archiver = Archiver(config, store, clock=clock)

    def stop(self) -> None:
        if self.stop_requested_at is None:
            self.stop_requested_at = time.monotonic()
        self.stop_event.set()

    async def reload(self) -> bool:
        """Re-read sources.yaml (SIGHUP); see collector.reload. False when refused (or the
        service has not started yet)."""
        if self.reloader is None:
            return False
        return bool(await self.reloader.reload())

    async def run(self) -> None:
        """Start, serve until `stop`, then stop within the budget. The HTTP server takes its
        address first, so one that cannot be had fails before anything else; it serves once
        the database is migrated."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        digests = self._digest_runner()
        server = None
        if self.serve_http:
            server = self._http_server(digests)
            await server.bind()
            # asyncio's own reports of running out of file descriptors are counted, not
            # logged once per retry
            asyncio.get_running_loop().set_exception_handler(
                webguard.exception_handler(server.tally))
        scheduler = AsyncIOScheduler(timezone=UTC)
        try:
            if await self._unless_stopped(self.worker.start()):
                if server is not None:
                    await server.start()
                self.reloader = Reloader(
                    self.config, sync=lambda c, now: self.store.sync_sources(c.sources, now),
                    clock=self.clock, parts=[self.worker, digests, self.archiver],
                    server=server)
                self._schedule(scheduler, digests)
                scheduler.start()
                log.info("collector running: %d sources, %d digests, worker %s",
                         len(self.config.sources), len(self.config.digests), self.worker.id)
                sdnotify.notify("READY=1")
                await self.stop_event.wait()
        finally:
            await self.shutdown(scheduler, digests, server)

    async def _unless_stopped(self, coro: Any) -> bool:
        """Run `coro` unless a stop request comes first (then it is cancelled): whether it
        finished."""
        task = asyncio.ensure_future(coro)
        stopped = asyncio.ensure_future(self.stop_event.wait())
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            stopped.cancel()
            task.result()
            return True
        task.cancel()
        await asyncio.wait({task}, timeout=UNWIND_S)
        return False

    def _schedule(self, scheduler: Any, digests: Any) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        tick = self.config.settings.tick_s
        # One run of a job at a time is `_job`'s rule, not APScheduler's: APScheduler would
        # log a warning every tick while a long poll round or digest run lasts.
        common = {"max_instances": 3, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(self._job, IntervalTrigger(seconds=tick),
                          args=("tick", self.worker.tick), id="tick",
                          next_run_time=datetime.now(UTC), **common)
        scheduler.add_job(self._job, IntervalTrigger(seconds=tick),
                          args=("digests", digests.tick), id="digests",
                          next_run_time=datetime.now(UTC), **common)
        scheduler.add_job(self._job, IntervalTrigger(seconds=tick),
                          args=("watch", self.worker.watch_tick), id="watch", **common)
        # statements to the Wayback Machine (collector.archive); nothing while no source or
        # digest archives
        scheduler.add_job(self._job, IntervalTrigger(seconds=tick),
                          args=("archive", self.archiver.run), id="archive",
                          next_run_time=datetime.now(UTC), **common)
        # the retention of the WARC files (collector.capture): hourly, besides the start-up
        scheduler.add_job(self._job, IntervalTrigger(seconds=CAPTURE_MAINTENANCE_S),
                          args=("captures", self.worker.maintain_captures), id="captures",
                          **common)
        watchdog = sdnotify.watchdog_interval_s()
        if watchdog:
            # systemd's watchdog: ping while the loop runs and the database answers
            scheduler.add_job(self._job, IntervalTrigger(seconds=watchdog),
                              args=("watchdog", self._watchdog), id="watchdog", **common)

    async def _job(self, name: str, fn: Callable[[], Any]) -> None:
        """One run of a scheduled job, unless the previous one still runs (then nothing).
        Tracked so that the stop can wait for it; cancelled by the stop, it ends quietly (a
        stop is not an error)."""
        task = asyncio.current_task()
        assert task is not None
        if name in self._jobs:
            log.debug("%s: the previous run still runs; this one is skipped", name)
            return
        self._jobs[name] = task
        try:
            await fn()
        except asyncio.CancelledError:
            if self.stop_requested_at is None:
                raise
            log.debug("%s: cancelled by the stop", name)
        finally:
            del self._jobs[name]

    async def shutdown(self, scheduler: Any, digests: Any, server: Any) -> None:
        """The stop, in the order that keeps it short and loses nothing:

        1. no new job starts (the scheduler pauses); ticks claim nothing more; the SMTP
           exchange in progress is abandoned (its digest stays pending);
        2. polls in flight get SHUTDOWN_GRACE_S, then are cancelled; queued parses are
           dropped and running parse workers killed (the pipeline's parse pool is closed);
        3. the jobs still running get UNWIND_S, then are cancelled;
        4. the HTTP server closes; index.jsonl is brought up to date; the fetcher closes.

        "stopped" is logged by the caller once the process has nothing left running.
        """
        sdnotify.notify("STOPPING=1")
        log.info("stopping")
        if scheduler.running:
            # paused, not shut down yet: APScheduler's shutdown cancels the jobs it runs,
            # and the digest job must see its SMTP exchange fail and keep it pending
            scheduler.pause()
        digests.stop()
        await self.worker.drain()
        # Dropping queued parses and killing a busy worker waits for no one: their callers
        # were cancelled above (a poll that survived gets an error, not a hang).
        await asyncio.to_thread(self.worker.pipeline.close)
        jobs = set(self._jobs.values())
        if jobs:
            _done, late = await asyncio.wait(jobs, timeout=UNWIND_S)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=UNWIND_S)
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if server is not None:
            await server.stop()
        await self.archiver.aclose()
        await self.worker.close()

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

    def _http_server(self, digests: Any) -> Any:
        from .server import HttpServer

        return HttpServer(self.config, self.store, digests=digests,
                          last_tick=lambda: self.worker.last_tick_at, clock=self.clock)
