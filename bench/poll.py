"""Polling benchmark: collector against lemon24's reader and two minimal ceilings.

One run starts a farm of N simulated sites on loopback (bench/farm.py, in its own process: one
address per site, 50-300 ms latency per request, a share of faulty sites; `--farm hard` by
default, `--farm easy` for the farm of the earlier rounds) and measures, against that same
farm, a cold cycle (first poll of every feed) and a warm cycle (the next poll: mostly 304s,
some sites with one new post) of each contender, each run as a subprocess:

    collector    `collector poll` on a config of N feed sources (backfill 0, robots as its
                 default on the hard farm, allow_private_addresses), with its default
                 concurrency and with chosen ones
    reader       `python -m reader update --no-scheduled --workers W` (feeds added beforehand)
    httpx        a ceiling: an asyncio loop of httpx GETs with conditional headers, a total
                 deadline and a size cap, feedparser on every 200; state kept in a JSON file
    aiohttp      the same ceiling on aiohttp's client

By default the farm (and this process) run on core 0 and every contender on core 1 (as
`taskset -c 1` would); `--unpinned` leaves all of them on every core.

Figures per cycle: wall time, CPU seconds (user+sys of the child and its reaped children, from
os.wait4), the peak RSS of the largest process (VmHWM) and the peak of the summed RSS of the
process tree (both sampled from /proc every 0.1 s), what the farm answered (by status and by
kind of path: feed, robots, article) and the farm's own CPU seconds.

    .venv/bin/python -m bench.poll --n 1000 --json /tmp/poll-1000.json
    .venv/bin/python -m bench.poll --n 10000 --limit 900 --json /tmp/poll-10000.json

Traffic goes only to the farm on 127.20.0.0/16. Every child has a time limit (`--limit`) and
is killed with its whole process group when it passes it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
if not Path(PY).exists():
    PY = sys.executable


# --- measuring a child ----------------------------------------------------------------------

@dataclass
class Measure:
    name: str
    cycle: str
    wall_s: float
    cpu_s: float
    maxrss_mb: float            # largest single process (its VmHWM, sampled)
    tree_rss_mb: float          # peak of the sum over the process tree (sampled)
    returncode: int
    load1: float = 0.0          # 1-minute load average at the end (other work on the host)
    farm: dict[str, int] = field(default_factory=dict)
    note: str = ""
    n: int = 0
    kind: str = ""              # collector, reader, httpx, aiohttp
    by_kind: dict[str, int] = field(default_factory=dict)   # requests: feed, robots, article
    farm_cpu_s: float = 0.0     # the farm's own CPU seconds during the cycle
    timed_out: bool = False


def _tree(root: int) -> list[int]:
    """`root` and all its descendants, from the parent links in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [root]
    while todo and len(out) < 10_000:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of one process in bytes; (0, 0) once it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, hwm


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and everything it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_measured(name: str, cycle: str, argv: Sequence[str], *, cwd: Path, limit_s: float,
                 log: Path, env: dict[str, str] | None = None,
                 cpus: set[int] | None = None) -> Measure:
    """Run argv as a child (on `cpus` if given); wall time, CPU (user+sys incl. reaped
    children) and memory. The child leads its own process group, which is killed when the
    child passes `limit_s` and once it has ended (so no grandchild outlives it)."""
    full_env = {**os.environ, **(env or {})}

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    with open(log, "ab") as out:
        out.write(f"\n=== {name} {cycle}: {' '.join(argv)}\n".encode())
        out.flush()
        start = time.monotonic()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=full_env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=pin)
        peak = 0
        # ru_maxrss is not used: the kernel carries the pre-exec high-water mark of the forked
        # bench process (which holds the farm) into the child. VmHWM is counted from the exec.
        hwm: dict[int, int] = {}
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.1):
                try:
                    total = 0
                    for pid in _tree(proc.pid):
                        rss, high = _memory(pid)
                        total += rss
                        hwm[pid] = max(hwm.get(pid, 0), high)
                    peak = max(peak, total)
                except (OSError, ValueError, IndexError):
                    pass

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            _kill_group(proc)

        killer = threading.Timer(limit_s, kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            _kill_group(proc)
            proc.wait(30)
            raise
        finally:
            killer.cancel()
            done.set()
            sampler.join(2)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        _kill_group(proc)
    m = Measure(name, cycle, wall, usage.ru_utime + usage.ru_stime,
                max(hwm.values(), default=0) / 2**20, peak / 2**20, proc.returncode,
                os.getloadavg()[0])
    m.timed_out = timed_out.is_set()
    return m


# --- contenders -----------------------------------------------------------------------------

def collector_config(path: Path, urls: Sequence[str], *, concurrency: int | None,
                     backfill: int, robots: bool = False) -> None:
    fetch = ""
    if concurrency:
        fetch = (f"  fetch:\n    concurrency: {concurrency}\n"
                 f"    poll_concurrency: {concurrency}\n")
    lines = ["settings:", f"  data_dir: {path.parent / 'data'}", fetch.rstrip("\n"),
             "defaults:", "  kind: feed", "  allow_private_addresses: true",
             "" if robots else "  robots: false", f"  backfill: {backfill}", "  every: 30m",
             "sources:"]
    for i, url in enumerate(urls):
        lines.append(f"  - id: s{i:05d}\n    url: {url}")
    path.write_text("\n".join(x for x in lines if x) + "\n", encoding="utf-8")


class Contender:
    name = ""
    kind = ""

    def setup(self, work: Path, urls: Sequence[str]) -> None: ...

    def argv(self, work: Path) -> list[str]:
        raise NotImplementedError

    def summary(self, work: Path) -> str:
        return ""


class Collector(Contender):
    kind = "collector"

    def __init__(self, concurrency: int | None, backfill: int = 0, robots: bool = False):
        self.concurrency = concurrency
        self.backfill = backfill
        self.robots = robots
        label = f"c={concurrency}" if concurrency else "defaults"
        self.name = f"collector ({label}{', articles' if backfill else ''})"

    def setup(self, work: Path, urls: Sequence[str]) -> None:
        collector_config(work / "sources.yaml", urls, concurrency=self.concurrency,
                         backfill=self.backfill, robots=self.robots)
        # An installed package comes byte-compiled (pip compiles what it installs, as it did
        # reader's); an editable checkout run with PYTHONDONTWRITEBYTECODE would otherwise
        # compile every module from source in every measured run.
        subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "collector")], check=True,
                       capture_output=True, timeout=300)
        subprocess.run([PY, "-m", "collector.cli", "--config", str(work / "sources.yaml"),
                        "db", "upgrade"], cwd=ROOT, check=True, capture_output=True,
                       timeout=300)

    def argv(self, work: Path) -> list[str]:
        return [PY, "-m", "collector.cli", "--config", str(work / "sources.yaml"), "poll"]

    def summary(self, work: Path) -> str:
        log = (work / "run.log").read_text(encoding="utf-8", errors="replace")
        lines = [x for x in log.splitlines() if " sources polled in " in x]
        return lines[-1] if lines else ""


class Reader(Contender):
    kind = "reader"

    def __init__(self, workers: int):
        self.workers = workers
        self.name = f"reader (workers={workers})"

    def setup(self, work: Path, urls: Sequence[str]) -> None:
        (work / "urls.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
        subprocess.run([PY, "-m", "bench.poll", "reader-setup", str(work / "reader.sqlite"),
                        str(work / "urls.txt")], cwd=ROOT, check=True, timeout=600)

    def argv(self, work: Path) -> list[str]:
        return [PY, "-m", "reader", "--db", str(work / "reader.sqlite"), "update",
                "--no-scheduled", "--workers", str(self.workers)]

    def summary(self, work: Path) -> str:
        got = subprocess.run([PY, "-m", "bench.poll", "reader-summary",
                              str(work / "reader.sqlite")], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
        return got.stdout.strip()


class Ceiling(Contender):
    kind = "httpx"

    def __init__(self, concurrency: int, client: str = "httpx"):
        self.concurrency = concurrency
        self.client = client
        self.kind = client
        self.name = f"{client}+feedparser (c={concurrency})"

    def setup(self, work: Path, urls: Sequence[str]) -> None:
        (work / "urls.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")

    def argv(self, work: Path) -> list[str]:
        return [PY, "-m", "bench.poll", "ceiling", str(work / "urls.txt"),
                str(work / "state.json"), "--concurrency", str(self.concurrency),
                "--client", self.client]

    def summary(self, work: Path) -> str:
        log = (work / "run.log").read_text(encoding="utf-8", errors="replace")
        lines = [x for x in log.splitlines() if x.startswith("{")]
        return lines[-1] if lines else ""


# --- the ceiling loop (runs as a child) -----------------------------------------------------

#: One GET of the ceiling loop: an async context manager giving the answer's status, headers
#: and body chunks; the two clients differ only in this.
Get = Callable[[str, dict[str, str]],
               AbstractAsyncContextManager[tuple[int, Mapping[str, str], AsyncIterator[bytes]]]]


async def _ceiling_loop(urls: list[str], state_path: Path, concurrency: int, deadline_s: float,
                        cap: int, get: Get, errors: tuple[type[BaseException], ...]
                        ) -> dict[str, int]:
    """Every URL once, C at a time: a conditional GET from the state file's validators,
    `feedparser.parse` on every 200, the outcomes counted, the validators written back."""
    import feedparser

    state: dict[str, list[str | None]] = {}
    if state_path.exists():
        state = json.loads(state_path.read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    sem = asyncio.Semaphore(concurrency)
    failures: tuple[type[BaseException], ...] = (*errors, TimeoutError, ValueError)

    async def one(url: str) -> None:
        etag, modified = state.get(url, [None, None])
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        async with sem:
            try:
                async with asyncio.timeout(deadline_s), \
                        get(url, headers) as (status, answer_headers, chunks):
                    if status == 304:
                        outcome = "304"
                    elif status != 200:
                        outcome = f"http_{status}"
                    else:
                        body = bytearray()
                        async for chunk in chunks:
                            body += chunk
                            if len(body) > cap:
                                raise ValueError("too large")
                        parsed = feedparser.parse(bytes(body))
                        outcome = "ok" if parsed.entries else "no_entries"
                        state[url] = [answer_headers.get("etag"),
                                      answer_headers.get("last-modified")]
            except failures as exc:
                outcome = type(exc).__name__
        counts[outcome] = counts.get(outcome, 0) + 1

    await asyncio.gather(*(one(u) for u in urls))
    state_path.write_text(json.dumps(state), encoding="utf-8")
    return counts


async def _ceiling(urls: list[str], state_path: Path, concurrency: int, deadline_s: float,
                   cap: int) -> dict[str, int]:
    """The loop on httpx's client: 10 s timeouts, no connection reuse, redirects followed."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, follow_redirects=True, trust_env=False,
                                 timeout=httpx.Timeout(10.0)) as client:
        @asynccontextmanager
        async def get(url: str, headers: dict[str, str]
                      ) -> AsyncIterator[tuple[int, Mapping[str, str], AsyncIterator[bytes]]]:
            async with client.stream("GET", url, headers=headers) as resp:
                yield resp.status_code, resp.headers, resp.aiter_bytes()

        return await _ceiling_loop(urls, state_path, concurrency, deadline_s, cap, get,
                                   (httpx.HTTPError,))


async def _ceiling_aiohttp(urls: list[str], state_path: Path, concurrency: int,
                           deadline_s: float, cap: int) -> dict[str, int]:
    """The same loop on aiohttp's client: same headers, deadline, cap, timeouts (10 s to
    connect and per read), no connection reuse, redirects followed (aiohttp's default of
    10), no cookies."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency, force_close=True)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=10.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as client:
        @asynccontextmanager
        async def get(url: str, headers: dict[str, str]
                      ) -> AsyncIterator[tuple[int, Mapping[str, str], AsyncIterator[bytes]]]:
            async with client.get(url, headers=headers) as resp:
                yield resp.status, resp.headers, resp.content.iter_chunked(65536)

        return await _ceiling_loop(urls, state_path, concurrency, deadline_s, cap, get,
                                   (aiohttp.ClientError,))


def ceiling_main(args: argparse.Namespace) -> int:
    urls = Path(args.urls).read_text(encoding="utf-8").split()
    loop_of = _ceiling_aiohttp if args.client == "aiohttp" else _ceiling
    counts = asyncio.run(loop_of(urls, Path(args.state), args.concurrency, args.deadline,
                                 10 * 1024 * 1024))
    print(json.dumps(counts, sort_keys=True))
    return 0


def reader_setup_main(args: argparse.Namespace) -> int:
    from reader import make_reader

    reader = make_reader(args.db)
    for url in Path(args.urls).read_text(encoding="utf-8").split():
        reader.add_feed(url, exist_ok=True)
    reader.close()
    return 0


def reader_summary_main(args: argparse.Namespace) -> int:
    from reader import make_reader

    reader = make_reader(args.db)
    feeds = list(reader.get_feeds())
    failed = sum(1 for f in feeds if f.last_exception)
    kinds: dict[str, int] = {}
    for f in feeds:
        if f.last_exception:
            kinds[f.last_exception.type_name] = kinds.get(f.last_exception.type_name, 0) + 1
    entries = reader.get_entry_counts().total
    reader.close()
    print(json.dumps({"feeds": len(feeds), "failed": failed, "entries": entries,
                      "failures": kinds}))
    return 0


# --- the benchmark --------------------------------------------------------------------------

@dataclass
class Pinning:
    farm: set[int] | None          # cores of the farm and of this process
    contenders: set[int] | None    # cores of every contender

    def describe(self) -> str:
        if not self.contenders:
            return "unpinned (every process on every core)"
        return (f"farm and bench on core(s) {sorted(self.farm or [])}, each contender on "
                f"core(s) {sorted(self.contenders)}")


def bench(n: int, contenders: list[Contender], *, work_root: Path, limit_s: float,
          hang_s: float | None, seed: int, farm_profile: str = "hard",
          pinning: Pinning | None = None, info: dict[str, Any] | None = None
          ) -> list[Measure]:
    from bench.farm import FarmProcess

    pins = pinning or Pinning(None, None)
    results: list[Measure] = []
    started = time.monotonic()
    with FarmProcess(n, profile=farm_profile, seed=seed, hang_s=hang_s, cpus=pins.farm,
                     python=PY, cwd=ROOT) as farm:
        urls = farm.feed_urls()
        ready_s = time.monotonic() - started
        sizes = {k: farm.info[k] for k in ("median_bytes", "median_gzip_bytes")}
        print(f"farm ({farm_profile}, pid {farm.info['pid']}, ready in {ready_s:.1f} s): {n} "
              f"sites on {urls[0].split('/')[2]}..{urls[-1].split('/')[2]}; faults "
              f"{farm.faults()}; median feed {sizes['median_bytes'] / 1024:.1f} KB, "
              f"{sizes['median_gzip_bytes'] / 1024:.1f} KB gzipped; {pins.describe()}\n\n"
              f"{HEADER}", flush=True)
        if info is not None:
            info.setdefault("farms", []).append(
                {"n": n, "profile": farm_profile, "ready_s": round(ready_s, 1),
                 "faults": farm.faults(), **sizes})
        for c in contenders:
            work = Path(tempfile.mkdtemp(prefix="poll-", dir=work_root))
            try:
                c.setup(work, urls)
                for cycle_no, cycle in ((0, "cold"), (1, "warm")):
                    state = farm.set_cycle(cycle_no)
                    farm.reset_stats()
                    m = run_measured(c.name, cycle, c.argv(work), cwd=ROOT, limit_s=limit_s,
                                     log=work / "run.log", cpus=pins.contenders)
                    st = farm.reset_stats()
                    m.n = n
                    m.kind = c.kind
                    m.farm = {"answered": st["requests"], **st["by_status"],
                              "changed_sites": state["changed"]}
                    m.by_kind = st["by_kind"]
                    m.farm_cpu_s = st["farm_cpu_s"]
                    m.note = c.summary(work)
                    results.append(m)
                    print(_row(m), flush=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return results


def _row(m: Measure) -> str:
    k = m.by_kind
    rc = f"{m.returncode}{' (limit)' if m.timed_out else ''}"
    return (f"| {m.name} | {m.cycle} | {m.wall_s:.1f} | {m.cpu_s:.1f} | {m.maxrss_mb:.0f} | "
            f"{m.tree_rss_mb:.0f} | {m.farm.get('200', 0)}/{m.farm.get('304', 0)} | "
            f"{k.get('feed', 0)}/{k.get('robots', 0)}/{k.get('article', 0)} | "
            f"{m.farm_cpu_s:.1f} | {m.load1:.1f} | {rc} |")


def summary_table(results: list[Measure]) -> str:
    """The best of each kind of contender per N and cycle (by wall time), in the layout of
    the targets: wall / CPU seconds, and the peak memory beside it."""
    lines = ["| N | cycle | collector wall / CPU s | reader (best) wall / CPU s | "
             "httpx ceiling wall / CPU s | aiohttp ceiling wall / CPU s |",
             "|---|---|---:|---:|---:|---:|"]
    keys = sorted({(m.n, m.cycle) for m in results}, key=lambda x: (x[0], x[1] != "cold"))
    for n, cycle in keys:
        cells = []
        for kind in ("collector", "reader", "httpx", "aiohttp"):
            ok = [m for m in results if (m.n, m.cycle, m.kind) == (n, cycle, kind)]
            if not ok:
                cells.append("–")
                continue
            best = min(ok, key=lambda m: m.wall_s)
            label = best.name.split("(", 1)[-1].rstrip(")")
            cells.append(f"{best.wall_s:.1f} / {best.cpu_s:.1f} ({label})")
        lines.append(f"| {n:,} | {cycle} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Peak memory, largest process / whole tree (MB), requests at the farm "
                 "(feed/robots/article), both cycles:")
    for kind in ("collector", "reader", "httpx", "aiohttp"):
        for name in dict.fromkeys(m.name for m in results if m.kind == kind):
            ms = [m for m in results if m.name == name]
            for n in sorted({m.n for m in ms}):
                mm = [m for m in ms if m.n == n]
                reqs = [sum(m.by_kind.get(x, 0) for x in ("feed", "robots", "article"))
                        for m in mm]
                lines.append(f"- {name}, N = {n:,}: {max(m.maxrss_mb for m in mm):.0f} / "
                             f"{max(m.tree_rss_mb for m in mm):.0f} MB; requests "
                             + ", ".join(f"{m.cycle} {r:,} ({m.by_kind.get('feed', 0)}/"
                                         f"{m.by_kind.get('robots', 0)}/"
                                         f"{m.by_kind.get('article', 0)})"
                                         for m, r in zip(mm, reqs, strict=True)))
    return "\n".join(lines)


HEADER = ("| contender | cycle | wall s | CPU s | max RSS MB | tree RSS MB | farm 200/304 "
          "| requests feed/robots/article | farm CPU s | load | rc |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def _git_head() -> str:
    got = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30, check=False)
    return got.stdout.strip()


def pinning_for(unpinned: bool, farm_cpu: int, contender_cpu: int) -> Pinning:
    if unpinned:
        return Pinning(None, None)
    cores = os.sched_getaffinity(0)
    if farm_cpu not in cores or contender_cpu not in cores or farm_cpu == contender_cpu:
        raise SystemExit(f"pinning needs two distinct cores among {sorted(cores)}; "
                         f"give --farm-cpu/--contender-cpu or --unpinned")
    return Pinning({farm_cpu}, {contender_cpu})


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd")
    c = sub.add_parser("ceiling")
    c.add_argument("urls")
    c.add_argument("state")
    c.add_argument("--concurrency", type=int, default=64)
    c.add_argument("--deadline", type=float, default=30.0)
    c.add_argument("--client", choices=("httpx", "aiohttp"), default="httpx")
    r = sub.add_parser("reader-setup")
    r.add_argument("db")
    r.add_argument("urls")
    s = sub.add_parser("reader-summary")
    s.add_argument("db")
    p.add_argument("--n", type=int, nargs="+", default=[1000])
    p.add_argument("--farm", choices=("hard", "easy"), default="hard",
                   help="the farm's profile (bench/farm.py); easy: the earlier rounds' farm")
    p.add_argument("--unpinned", action="store_true",
                   help="leave the farm and the contenders on every core (default: the farm "
                        "on --farm-cpu, each contender on --contender-cpu)")
    p.add_argument("--farm-cpu", type=int, default=0)
    p.add_argument("--contender-cpu", type=int, default=1)
    p.add_argument("--reader-workers", type=int, nargs="+", default=[64, 128])
    p.add_argument("--collector-concurrency", type=int, nargs="*", default=[],
                   help="besides the defaults, run collector with these concurrencies")
    p.add_argument("--no-collector-defaults", action="store_true",
                   help="skip the run of collector with its default concurrency")
    p.add_argument("--robots", choices=("on", "off"), default=None,
                   help="collector's robots setting (default: on with the hard farm, as "
                        "collector's own default; off with the easy farm, as before)")
    p.add_argument("--ceiling-concurrency", type=int, nargs="+", default=[64],
                   help="concurrencies of the httpx ceiling")
    p.add_argument("--aiohttp-concurrency", type=int, nargs="+", default=[64],
                   help="concurrencies of the aiohttp ceiling")
    p.add_argument("--articles", action="store_true",
                   help="also run collector with backfill 2 (article pages fetched)")
    p.add_argument("--only", nargs="*", default=None,
                   help="contenders to run: collector, reader, httpx, aiohttp")
    p.add_argument("--hang-s", type=float, default=None,
                   help="how long a hanging site holds a request (default: the farm "
                        "profile's, 15 s hard, 2 s easy)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--limit", type=float, default=1800.0,
                   help="time limit of one contender's cycle (s); the child and its process "
                        "group are killed when it passes it")
    p.add_argument("--json", help="write the run's settings and all measurements to this file")
    args = p.parse_args(argv)
    if args.cmd == "ceiling":
        return ceiling_main(args)
    if args.cmd == "reader-setup":
        return reader_setup_main(args)
    if args.cmd == "reader-summary":
        return reader_summary_main(args)

    from bench.farm import raise_fd_limit

    def terminated(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)   # unwinds: the running contender's group is killed,
                                         # the farm stopped, the work directory removed

    signal.signal(signal.SIGTERM, terminated)
    raise_fd_limit()
    pins = pinning_for(args.unpinned, args.farm_cpu, args.contender_cpu)
    if pins.farm:
        os.sched_setaffinity(0, pins.farm)     # this process samples memory beside the farm
    robots = (args.robots or ("on" if args.farm == "hard" else "off")) == "on"
    only = set(args.only or ["collector", "reader", "httpx", "aiohttp"])
    info: dict[str, Any] = {
        "argv": sys.argv, "commit": _git_head(), "farm": args.farm, "pinning": pins.describe(),
        "cpus": os.cpu_count(), "robots": robots, "limit_s": args.limit, "seed": args.seed,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    everything: list[Measure] = []
    started = time.monotonic()
    work_root = Path(tempfile.mkdtemp(prefix="bench-poll-"))
    try:
        for n in args.n:
            contenders: list[Contender] = []
            if "httpx" in only:
                contenders += [Ceiling(k) for k in args.ceiling_concurrency]
            if "aiohttp" in only:
                contenders += [Ceiling(k, "aiohttp") for k in args.aiohttp_concurrency]
            if "collector" in only:
                if not args.no_collector_defaults:
                    contenders.append(Collector(None, robots=robots))
                contenders += [Collector(k, robots=robots) for k in args.collector_concurrency]
                if args.articles:
                    contenders.append(Collector(args.collector_concurrency[0]
                                                if args.collector_concurrency else None,
                                                backfill=2, robots=robots))
            if "reader" in only:
                contenders += [Reader(w) for w in args.reader_workers]
            print(f"\nN = {n}", flush=True)
            n_started = time.monotonic()
            everything += bench(n, contenders, work_root=work_root, limit_s=args.limit,
                                hang_s=args.hang_s, seed=args.seed, farm_profile=args.farm,
                                pinning=pins, info=info)
            info[f"elapsed_s_n{n}"] = round(time.monotonic() - n_started, 1)
            for m in everything:
                if m.note and m.n == n:
                    print(f"  {m.name} {m.cycle}: {m.note}")
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
        info["elapsed_s"] = round(time.monotonic() - started, 1)
        if args.json:
            Path(args.json).write_text(json.dumps({"run": info, "measures": [
                asdict(m) for m in everything]}, indent=1), encoding="utf-8")
    print("\n" + summary_table(everything))
    print(f"\n{info['elapsed_s']} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
