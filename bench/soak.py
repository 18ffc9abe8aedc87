"""Soak: `collector run` under a loopback farm, slowloris clients and periodic SIGKILLs.

    .venv/bin/python -m bench.soak                       # 10 minutes, the defaults below
    .venv/bin/python -m bench.soak --duration 180 --sites 40 --slowloris 500

For `--duration` seconds the service polls the farm of bench/farm.py (one loopback address
per site; a share of the sites misbehave: 500s, hangs, redirect loops, oversized bodies, …)
while the farm publishes new items every `--publish-every` seconds. Meanwhile:

- `--slowloris` clients hold connections to the service's web page, each sending a byte of an
  unfinished request head every second, and reconnecting whenever the server closes them;
- a prober asks /healthz every 0.5 s on a fresh connection (5 s timeout) and records the
  latency of every answer;
- the service is killed with SIGKILL every `--kill-every` seconds (a random time in that
  range) and started again at once.

The service runs under a file limit of `--file-limit` (so the connection cap derived from it,
not the machine's, is what the slowloris clients meet). Then a last, undisturbed run makes
every source due, polls until everything published is stored (bounded), and is stopped with
SIGTERM, whose duration is measured.

Checks, printed with the figures (exit status 1 if one fails):

- nothing lost: every item published by a healthy site is stored (a location with its URL);
- stored once: no URL has two locations, and no two documents share a URL or a text;
- /healthz answered every probe made while the service was up (its worst latency reported);
- the log stayed under `--log-kib-per-min` KiB per minute of soak (100 by default);
- the last stop took less than 8 s and exited 0.

Everything stays on 127.0.0.0/8; every wait is bounded.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import selectors
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.farm import Farm, wait_until_reachable

ROOT = Path(__file__).resolve().parents[1]
#: How long the last run may take to store what is still missing.
FINAL_LIMIT_S = 180.0
STOP_BUDGET_S = 8.0


@dataclass
class Probes:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


class Service:
    """The `collector run` subprocess, restarted at will; stderr appended to one log."""

    def __init__(self, workdir: Path, file_limit: int, port: int):
        self.workdir = workdir
        self.file_limit = file_limit
        self.port = port
        self.log = workdir / "service.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.up = threading.Event()
        self.starts = 0

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
        env["PYTHONPATH"] = str(ROOT)
        limit = self.file_limit

        def limit_files() -> None:
            _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(limit, hard), hard))

        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "run"],
                                         cwd=self.workdir, env=env, stdout=subprocess.DEVNULL,
                                         stderr=err, preexec_fn=limit_files)
        self.starts += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the service exited at start ({self.proc.returncode}); "
                                 f"see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    self.up.set()
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("the service did not listen within 60 s")

    def kill(self) -> None:
        self.up.clear()
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(30)

    def terminate(self) -> tuple[float, int]:
        self.up.clear()
        assert self.proc is not None
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(30)
        return time.monotonic() - sent, code


def prober(service: Service, probes: Probes, stop: threading.Event) -> None:
    url = f"http://127.0.0.1:{service.port}/healthz"
    while not stop.wait(0.5):
        if not service.up.is_set():
            continue
        started = time.monotonic()
        try:
            r = httpx.get(url, timeout=5.0)
        except httpx.HTTPError as exc:
            if service.up.is_set():      # not killed meanwhile: a real miss
                probes.failures.append(f"{time.strftime('%H:%M:%S')} {type(exc).__name__}")
            continue
        probes.latencies.append(time.monotonic() - started)
        probes.statuses[r.status_code] = probes.statuses.get(r.status_code, 0) + 1


def slowloris(port: int, clients: int, stop: threading.Event, counts: dict[str, int]) -> None:
    """`clients` connections that never finish their request head, one byte a second each;
    a connection the server closes is opened again."""
    sel = selectors.DefaultSelector()
    conns: dict[socket.socket, int] = {}

    def open_one() -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            counts["refused"] = counts.get("refused", 0) + 1
            return
        sock.setblocking(False)
        try:
            sock.send(b"GET / HTTP/1.1\r\nHost: soak\r\n")
        except OSError:
            sock.close()
            return
        conns[sock] = 0
        sel.register(sock, selectors.EVENT_READ)
        counts["opened"] = counts.get("opened", 0) + 1

    def drop(sock: socket.socket) -> None:
        sel.unregister(sock)
        conns.pop(sock, None)
        sock.close()
        counts["closed by server"] = counts.get("closed by server", 0) + 1

    next_drip = time.monotonic()
    while not stop.is_set():
        while len(conns) < clients and not stop.is_set():
            before = len(conns)
            open_one()
            if len(conns) == before:
                break           # the service is down (restarting): try again shortly
        for key, _ in sel.select(timeout=0.2):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                drop(sock)
        if time.monotonic() >= next_drip:
            next_drip = time.monotonic() + 1.0
            for sock in list(conns):
                try:
                    sock.send(b"X")
                except OSError:
                    drop(sock)
        if len(conns) < clients:
            stop.wait(0.2)
    for sock in list(conns):
        sock.close()


def published_urls(farm: Farm, cycles: int) -> set[str]:
    """Every item a healthy site showed in any cycle up to `cycles`."""
    urls: set[str] = set()
    for c in range(cycles + 1):
        farm.set_cycle(c)
        for s in farm.sites:
            if s.fault is None:
                newest = s.version + farm.items - 1
                urls.update(farm.url(s.index, f"/a/{k}")
                            for k in range(newest - farm.items + 1, newest + 1))
    return urls


def make_due(db: Path) -> None:
    con = sqlite3.connect(db, timeout=30)
    try:
        con.execute("UPDATE sources SET next_poll_at = '2000-01-01 00:00:00.000000'")
        con.commit()
    finally:
        con.close()


def stored(db: Path) -> tuple[dict[str, int], int, int, int]:
    """Locations per URL; documents; documents sharing a URL; documents sharing a text."""
    con = sqlite3.connect(db, timeout=30)
    try:
        per_url = dict(con.execute("SELECT url, count(*) FROM locations GROUP BY url"))
        docs = con.execute("SELECT count(*) FROM documents").fetchone()[0]
        same_url = con.execute("SELECT count(*) FROM (SELECT url FROM documents GROUP BY url "
                               "HAVING count(*) > 1)").fetchone()[0]
        same_text = con.execute("SELECT count(*) FROM (SELECT content_hash FROM documents "
                                "GROUP BY content_hash HAVING count(*) > 1)").fetchone()[0]
    finally:
        con.close()
    return per_url, docs, same_url, same_text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=600.0, help="seconds of soak (600)")
    p.add_argument("--sites", type=int, default=40, help="farm sites (40)")
    p.add_argument("--slowloris", type=int, default=500, help="slow clients (500)")
    p.add_argument("--file-limit", type=int, default=1024,
                   help="RLIMIT_NOFILE of the service (1024: a connection cap of 320)")
    p.add_argument("--kill-every", type=float, nargs=2, default=(20.0, 60.0),
                   metavar=("MIN", "MAX"), help="seconds between SIGKILLs (20 60)")
    p.add_argument("--publish-every", type=float, default=20.0,
                   help="seconds between the farm's publication cycles (20)")
    p.add_argument("--log-kib-per-min", type=float, default=100.0,
                   help="bound on the log, KiB per minute of soak (100)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", action="store_true", help="keep the working directory")
    args = p.parse_args(argv)
    rng = random.Random(args.seed)

    workdir = Path(tempfile.mkdtemp(prefix="collector-soak-"))
    port = free_port()
    farm = Farm(args.sites, seed=args.seed, change_share=0.1, hang_s=20.0).start()
    try:
        wait_until_reachable(farm)
        lines = ["settings:", "  data_dir: data", f"  bind: 127.0.0.1:{port}", "  tick: 1s",
                 "defaults:", "  allow_private_addresses: true", "  every: 1m",
                 f"  backfill: {farm.items}", "sources:"]
        for s in farm.sites:
            lines += [f"  - id: site{s.index}", f"    url: {farm.url(s.index)}",
                      "    kind: feed", "    robots: false"]
        (workdir / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (workdir / "sources.yaml").chmod(0o644)
        db = workdir / "data" / "collector.db"
        service = Service(workdir, args.file_limit, port)
        probes = Probes()
        loris: dict[str, int] = {}
        stop = threading.Event()
        cycle = 0
        kills = 0
        service.start()
        threads = [threading.Thread(target=prober, args=(service, probes, stop), daemon=True),
                   threading.Thread(target=slowloris, args=(port, args.slowloris, stop, loris),
                                    daemon=True)]
        for t in threads:
            t.start()
        started = time.monotonic()
        end = started + args.duration
        next_kill = started + rng.uniform(*args.kill_every)
        next_publish = started + args.publish_every
        while (now := time.monotonic()) < end:
            if now >= next_publish:
                cycle += 1
                farm.set_cycle(cycle)
                next_publish = now + args.publish_every
            if now >= next_kill:
                service.kill()
                kills += 1
                service.start()
                next_kill = time.monotonic() + rng.uniform(*args.kill_every)
            time.sleep(0.1)
        soak_s = time.monotonic() - started

        # the last run: everything due, stored in the end, then a measured SIGTERM
        service.kill()
        kills += 1
        expected = published_urls(farm, cycle)
        farm.set_cycle(cycle)
        make_due(db)
        service.start()
        deadline = time.monotonic() + FINAL_LIMIT_S
        while time.monotonic() < deadline:
            per_url, *_ = stored(db)
            if expected <= per_url.keys():
                break
            time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(30)
        stop_s, code = service.terminate()
    finally:
        farm.stop()

    per_url, docs, same_url, same_text = stored(db)
    lost = expected - per_url.keys()
    twice = [u for u in expected if per_url.get(u, 0) > 1]
    log_bytes = service.log.stat().st_size
    log_bound = args.log_kib_per_min * 1024 * max(1.0, soak_s / 60)
    lat = sorted(probes.latencies)
    worst = lat[-1] if lat else float("nan")
    p99 = lat[int(0.99 * (len(lat) - 1))] if lat else float("nan")
    tracebacks = service.log.read_text(errors="replace").count("Traceback")

    print(f"soak: {soak_s:.0f} s, {args.sites} sites, {args.slowloris} slowloris clients, "
          f"file limit {args.file_limit}, {kills} SIGKILLs, {service.starts} starts, "
          f"{cycle} publication cycles")
    print(f"published by healthy sites: {len(expected)}; documents {docs}; lost {len(lost)}; "
          f"stored twice {len(twice)}; documents sharing a URL {same_url}, a text {same_text}")
    print(f"/healthz: {len(lat)} answers {dict(sorted(probes.statuses.items()))}, "
          f"{len(probes.failures)} unanswered while up; latency worst {worst * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms")
    print(f"slowloris: {dict(sorted(loris.items()))}")
    print(f"log: {log_bytes / 1024:.1f} KiB (bound {log_bound / 1024:.0f} KiB), "
          f"{tracebacks} tracebacks")
    print(f"last stop: SIGTERM to exit {stop_s:.2f} s, exit status {code}")
    checks = {
        "nothing lost": not lost,
        "stored once": not twice and not same_url and not same_text,
        "/healthz answered throughout": not probes.failures,
        "log under its bound": log_bytes <= log_bound,
        "stop within the budget": stop_s < STOP_BUDGET_S and code == 0,
    }
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    if probes.failures:
        print("  unanswered probes: " + ", ".join(probes.failures[:10]))
    if lost:
        print("  lost: " + ", ".join(sorted(lost)[:10]))
    if args.keep:
        print(f"working directory kept: {workdir}")
    else:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
