"""Several `collector run` workers on one PostgreSQL database: the farm, the workers, the figures.

The farm is bench/farm.py's (one loopback address per site, so per-host politeness does not
serialise the sites), recording every request: which site, which path, which worker (each
worker names itself in its User-Agent through COLLECTOR_CONTACT), when it arrived and when its
answer was written. It can also hold the feed requests of one worker unanswered, to catch that
worker while it holds leases. tests/test_workers.py uses these pieces; run as a program, this
module measures one worker against three:

    eval "$(.ci/postgres.sh start)"
    .venv/bin/python -m bench.workers --sources 500 --workers 1 3

For each worker count, on a fresh database: start the workers (the first round polls every
source for the first time: cold), wait for the round to end, then let a share of the sites
publish a new item, make every source due again and time that round (warm). The figure is
sources polled per minute (polls finished in the round divided by its wall time, from making
the sources due to the last poll saved). Traffic goes only to the farm on loopback; every wait
is bounded (`--limit`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.farm import Farm

ROOT = Path(__file__).resolve().parents[1]


# --- the farm -------------------------------------------------------------------------------


@dataclass
class Hit:
    """One request the farm received."""

    site: int
    path: str
    agent: str
    start: float            # time.time() when the request head arrived
    end: float | None = None  # when the answer was written; None if never answered
    held: bool = False


class RecordingFarm(Farm):
    """bench/farm.py's farm, recording each request and able to hold one worker's feeds."""

    def __init__(self, n: int, **kwargs: Any):
        super().__init__(n, **kwargs)
        self.hits: list[Hit] = []
        self._hold_agent: str | None = None
        self._release = threading.Event()
        self.hold_max_s = 120.0

    def hold(self, agent_part: str) -> None:
        """Leave feed requests whose User-Agent contains `agent_part` unanswered until
        `release()` (or `hold_max_s`); the connection is then closed without an answer."""
        self._release.clear()
        self._hold_agent = agent_part

    def release(self) -> None:
        self._hold_agent = None
        self._release.set()

    def held(self) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.held]

    def snapshot(self) -> list[Hit]:
        with self._lock:
            return list(self.hits)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        transport = request.transport
        local = transport.get_extra_info("sockname") if transport is not None else None
        site = self._by_ip.get(local[0]) if local else None
        path = request.path
        agent = request.headers.get("User-Agent", "")
        hit = Hit(site.index if site is not None else -1, path, agent, time.time())
        with self._lock:
            self.hits.append(hit)
        hold = self._hold_agent
        if hold is not None and hold in agent and path == "/feed":
            hit.held = True
            deadline = time.monotonic() + self.hold_max_s
            while not self._release.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            # the connection is closed without an answer
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("held, then hung up")
        response = await super()._handle(request)
        hit.end = time.time()
        return response


# --- configuration and workers --------------------------------------------------------------


def write_config(path: Path, farm: Farm, *, database_url: str, data_dir: Path,
                 tick: str = "1s", every: str = "1h", backfill: int = 10,
                 poll_concurrency: int | None = None) -> Path:
    """A sources.yaml with one feed source per farm site, ids s0000, s0001, ..."""
    fetch = ["  fetch:", "    per_host_delay: 0s"]
    if poll_concurrency:
        fetch.append(f"    poll_concurrency: {poll_concurrency}")
    lines = ["settings:", f"  data_dir: {data_dir}", f"  database_url: {database_url}",
             f"  tick: {tick}", *fetch,
             "defaults:", "  kind: feed", "  allow_private_addresses: true",
             f"  backfill: {backfill}", f"  every: {every}", "sources:"]
    for i in range(farm.n):
        lines.append(f"  - id: {source_id(i)}\n    url: {farm.url(i)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o644)   # a world-writable file may not allow private addresses
    return path


def source_id(i: int) -> str:
    return f"s{i:04d}"


def site_of(source: str) -> int:
    return int(source[1:])


def agent_tag(name: str) -> str:
    """What worker `name` puts in its User-Agent (its contact), to tell workers apart."""
    return f"+https://{name}.workers.invalid/"


@dataclass
class WorkerProc:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return f"--- {self.name} (pid {self.pid}) ---\n" + "\n".join(text.splitlines()[-lines:])


def start_worker(name: str, config: Path, *, logs: Path, lease_s: float | None = None
                 ) -> WorkerProc:
    """`collector run --no-http` as its own process, naming itself `name` in its User-Agent."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["COLLECTOR_CONTACT"] = f"https://{name}.workers.invalid/"
    if lease_s is not None:
        env["COLLECTOR_LEASE_S"] = str(lease_s)
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "collector.cli", "--config", str(config), "run",
             "--no-http"], cwd=config.parent, env=env, stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True)
    return WorkerProc(name, proc, log)


def stop_workers(workers: Sequence[WorkerProc], timeout_s: float = 30.0) -> None:
    """SIGTERM every live worker, then SIGKILL what has not exited within `timeout_s`."""
    for w in workers:
        if w.proc.poll() is None:
            w.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for w in workers:
        try:
            w.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            # the worker's own process group: its parse workers go with it
            os.killpg(w.proc.pid, signal.SIGKILL)
            w.proc.wait(timeout=10)


# --- the database as the workers leave it ---------------------------------------------------


class Db:
    """Plain SQL on the workers' database (the test and the bench look, they do not share)."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine

        self.engine = create_engine(url, pool_size=1, max_overflow=0)

    def close(self) -> None:
        self.engine.dispose()

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]

    def execute(self, sql: str, **params: Any) -> None:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def scalar(self, sql: str, **params: Any) -> Any:
        return self.rows(sql, **params)[0][0]

    def exists(self) -> bool:
        return bool(self.scalar("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_name = 'sources'"))

    def polls(self) -> dict[str, int]:
        return dict(self.rows("SELECT id, polls FROM sources"))  # type: ignore[arg-type]

    def leased(self) -> int:
        return int(self.scalar("SELECT count(*) FROM sources WHERE lease_owner IS NOT NULL"))

    def make_all_due(self) -> None:
        self.execute("UPDATE sources SET next_poll_at = :t", t=_naive_utc_now())

    def leases_of_pid(self, pid: int) -> dict[str, float]:
        """Sources leased by the worker process `pid`: id -> lease end (epoch seconds)."""
        rows = self.rows("SELECT id, lease_until FROM sources WHERE lease_owner LIKE :p",
                         p=f"%:{pid}:%")
        return {sid: _epoch(until) for sid, until in rows}


def _naive_utc_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(tzinfo=None)


def _epoch(value: Any) -> float:
    from datetime import UTC

    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


def wait_for(check: Any, *, timeout_s: float, what: str, every_s: float = 0.25,
             workers: Sequence[WorkerProc] = ()) -> Any:
    """Call `check()` until it returns something truthy; bounded by `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        dead = [w for w in workers if w.proc.poll() is not None]
        if dead:
            raise RuntimeError(f"worker exited while waiting for {what}:\n"
                               + "\n".join(w.tail() for w in dead))
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s:.0f} s\n"
                               + "\n".join(w.tail(10) for w in workers))
        time.sleep(every_s)


def round_done(db: Db, n_polls: int) -> bool:
    """Every source has been polled `n_polls` times and none is leased."""
    polls = db.polls()
    return bool(polls) and min(polls.values()) >= n_polls and db.leased() == 0


# --- the benchmark --------------------------------------------------------------------------


@dataclass
class Result:
    workers: int
    cold_s: float
    warm_s: float
    sources: int
    new_items: int
    documents: int

    def per_minute(self, seconds: float) -> float:
        return self.sources / seconds * 60 if seconds else 0.0


def create_database(server_url: str) -> str:
    from tests.pg import PgServer

    return PgServer(server_url).create()


def drop_database(server_url: str, url: str) -> None:
    from tests.pg import PgServer

    PgServer(server_url).drop(url)


def measure(server_url: str, n_workers: int, farm: RecordingFarm, work: Path, *,
            limit_s: float) -> Result:
    url = create_database(server_url)
    db = Db(url)
    workers: list[WorkerProc] = []
    try:
        farm.set_cycle(0)
        config = write_config(work / f"w{n_workers}.yaml", farm, database_url=url,
                              data_dir=work / f"data{n_workers}", backfill=1)
        started = time.monotonic()
        workers = [start_worker(f"w{i + 1}", config, logs=work / f"logs{n_workers}")
                   for i in range(n_workers)]
        wait_for(db.exists, timeout_s=limit_s, what="schema", workers=workers)
        wait_for(lambda: round_done(db, 1), timeout_s=limit_s, what="cold round",
                 workers=workers)
        cold = time.monotonic() - started
        changed = farm.set_cycle(1)
        started = time.monotonic()
        db.make_all_due()
        wait_for(lambda: round_done(db, 2), timeout_s=limit_s, what="warm round",
                 workers=workers, every_s=0.1)
        warm = time.monotonic() - started
        docs = int(db.scalar("SELECT count(*) FROM documents"))
        return Result(n_workers, cold, warm, farm.n, len(changed), docs)
    finally:
        stop_workers(workers)
        db.close()
        drop_database(server_url, url)


def main(argv: Sequence[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--change-share", type=float, default=0.1,
                        help="share of sites publishing a new item before the warm round")
    parser.add_argument("--latency", type=float, nargs=2, default=(0.05, 0.3),
                        metavar=("MIN", "MAX"), help="per-request latency of the farm, s")
    parser.add_argument("--limit", type=float, default=600.0,
                        help="time limit of each wait, s")
    args = parser.parse_args(argv)
    server_url = os.environ.get("COLLECTOR_TEST_DATABASE_URL")
    if not server_url:
        print("set COLLECTOR_TEST_DATABASE_URL (eval \"$(.ci/postgres.sh start)\")",
              file=sys.stderr)
        return 2
    farm = RecordingFarm(args.sources, fault_share=0.0, items=1,
                         change_share=args.change_share, latency=tuple(args.latency))
    results: list[Result] = []
    with farm, tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        for n in args.workers:
            results.append(measure(server_url, n, farm, Path(tmp), limit_s=args.limit))
            print(f"{n} worker(s): cold {results[-1].cold_s:.1f} s, "
                  f"warm {results[-1].warm_s:.1f} s", file=sys.stderr)
    command = "python -m bench.workers " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"command: {command.strip()}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; farm latency {args.latency[0]}-{args.latency[1]} s "
          f"per request, {args.sources} feed sources on {args.sources} loopback addresses")
    print()
    print("| workers | cold round (first polls) | sources/min | warm round "
          f"({round(args.change_share * 100)}% new items) | sources/min | documents |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r.workers} | {r.cold_s:.1f} s | {r.per_minute(r.cold_s):.0f} | "
              f"{r.warm_s:.1f} s | {r.per_minute(r.warm_s):.0f} | {r.documents} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
