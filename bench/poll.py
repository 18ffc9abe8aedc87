"""Polling benchmark: collector against lemon24's reader and a minimal httpx+feedparser loop.

One run starts a farm of N simulated sites on loopback (bench/farm.py: one address per site,
50-300 ms latency per request, a share of faulty sites) and measures, against that same farm,
a cold cycle (first poll of every feed) and a warm cycle (the next poll: mostly 304s, a few
sites with one new item) of each contender, each run as a subprocess:

    collector    `collector poll` on a config of N feed sources (backfill 0, robots off,
                 allow_private_addresses), with its default concurrency and with a chosen one
    reader       `python -m reader update --no-scheduled --workers W` (feeds added beforehand)
    httpx        the ceiling: an asyncio loop of httpx GETs with conditional headers, a total
                 deadline and a size cap, feedparser on every 200; state kept in a JSON file

Figures per cycle: wall time, CPU seconds (user+sys of the child and its reaped children, from
os.wait4), the peak RSS of the largest process (VmHWM) and the peak of the summed RSS of the
process tree (both sampled from /proc every 0.1 s), and what the farm answered.

    .venv/bin/python -m bench.poll --n 1000 --reader-workers 8 16 32 64
    .venv/bin/python -m bench.poll --n 10000 --reader-workers 32

Traffic goes only to the farm on 127.20.0.0/16. Every child has a time limit (`--limit`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

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
    out, todo = [], [root]
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


def run_measured(name: str, cycle: str, argv: Sequence[str], *, cwd: Path, limit_s: float,
                 log: Path, env: dict[str, str] | None = None) -> Measure:
    """Run argv as a child; wall time, CPU (user+sys incl. reaped children) and memory."""
    full_env = {**os.environ, **(env or {})}
    with open(log, "ab") as out:
        out.write(f"\n=== {name} {cycle}: {' '.join(argv)}\n".encode())
        out.flush()
        start = time.monotonic()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=full_env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
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
        killer = threading.Timer(limit_s, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
            done.set()
            sampler.join(2)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Measure(name, cycle, wall, usage.ru_utime + usage.ru_stime,
                   max(hwm.values(), default=0) / 2**20, peak / 2**20, proc.returncode,
                   os.getloadavg()[0])


# --- contenders -----------------------------------------------------------------------------

def collector_config(path: Path, urls: Sequence[str], *, concurrency: int | None,
                     backfill: int) -> None:
    fetch = ""
    if concurrency:
        fetch = (f"  fetch:\n    concurrency: {concurrency}\n"
                 f"    poll_concurrency: {concurrency}\n")
    lines = ["settings:", f"  data_dir: {path.parent / 'data'}", fetch.rstrip("\n"),
             "defaults:", "  kind: feed", "  allow_private_addresses: true", "  robots: false",
             f"  backfill: {backfill}", "  every: 30m", "sources:"]
    for i, url in enumerate(urls):
        lines.append(f"  - id: s{i:05d}\n    url: {url}")
    path.write_text("\n".join(x for x in lines if x) + "\n", encoding="utf-8")


class Contender:
    name = ""

    def setup(self, work: Path, urls: Sequence[str]) -> None: ...

    def argv(self, work: Path) -> list[str]:
        raise NotImplementedError

    def summary(self, work: Path) -> str:
        return ""


class Collector(Contender):
    def __init__(self, concurrency: int | None, backfill: int = 0):
        self.concurrency = concurrency
        self.backfill = backfill
        label = f"c={concurrency}" if concurrency else "defaults"
        self.name = f"collector ({label}{', articles' if backfill else ''})"

    def setup(self, work: Path, urls: Sequence[str]) -> None:
        collector_config(work / "sources.yaml", urls, concurrency=self.concurrency,
                         backfill=self.backfill)
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
    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self.name = f"httpx+feedparser (c={concurrency})"

    def setup(self, work: Path, urls: Sequence[str]) -> None:
        (work / "urls.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")

    def argv(self, work: Path) -> list[str]:
        return [PY, "-m", "bench.poll", "ceiling", str(work / "urls.txt"),
                str(work / "state.json"), "--concurrency", str(self.concurrency)]

    def summary(self, work: Path) -> str:
        log = (work / "run.log").read_text(encoding="utf-8", errors="replace")
        lines = [x for x in log.splitlines() if x.startswith("{")]
        return lines[-1] if lines else ""


# --- the ceiling loop (runs as a child) -----------------------------------------------------

async def _ceiling(urls: list[str], state_path: Path, concurrency: int, deadline_s: float,
                   cap: int) -> dict[str, int]:
    import feedparser
    import httpx

    state: dict[str, list[str | None]] = {}
    if state_path.exists():
        state = json.loads(state_path.read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)

    async with httpx.AsyncClient(limits=limits, follow_redirects=True, trust_env=False,
                                 timeout=httpx.Timeout(10.0)) as client:
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
                            client.stream("GET", url, headers=headers) as resp:
                        if resp.status_code == 304:
                            outcome = "304"
                        elif resp.status_code != 200:
                            outcome = f"http_{resp.status_code}"
                        else:
                            body = bytearray()
                            async for chunk in resp.aiter_bytes():
                                body += chunk
                                if len(body) > cap:
                                    raise ValueError("too large")
                            parsed = feedparser.parse(bytes(body))
                            outcome = "ok" if parsed.entries else "no_entries"
                            state[url] = [resp.headers.get("etag"),
                                          resp.headers.get("last-modified")]
                except (httpx.HTTPError, TimeoutError, ValueError) as exc:
                    outcome = type(exc).__name__
            counts[outcome] = counts.get(outcome, 0) + 1

        await asyncio.gather(*(one(u) for u in urls))
    state_path.write_text(json.dumps(state), encoding="utf-8")
    return counts


def ceiling_main(args: argparse.Namespace) -> int:
    urls = Path(args.urls).read_text(encoding="utf-8").split()
    counts = asyncio.run(_ceiling(urls, Path(args.state), args.concurrency, args.deadline,
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
    entries = reader.get_entry_counts().total
    reader.close()
    print(json.dumps({"feeds": len(feeds), "failed": failed, "entries": entries}))
    return 0


# --- the benchmark --------------------------------------------------------------------------

def bench(n: int, contenders: list[Contender], *, work_root: Path, limit_s: float,
          hang_s: float, seed: int, content_share: float = 0.0,
          gzip: bool = False) -> list[Measure]:
    from bench.farm import Farm

    results: list[Measure] = []
    with Farm(n, hang_s=hang_s, seed=seed, content_share=content_share, gzip=gzip) as farm:
        urls = farm.feed_urls()
        print(f"farm: {n} sites on {farm.sites[0].ip}..{farm.sites[-1].ip} port {farm.port}; "
              f"faults {dict(farm.faults())}\n\n{HEADER}", flush=True)
        for c in contenders:
            work = Path(tempfile.mkdtemp(prefix="poll-", dir=work_root))
            try:
                c.setup(work, urls)
                for cycle_no, cycle in ((0, "cold"), (1, "warm")):
                    farm.set_cycle(cycle_no)
                    farm.reset_stats()
                    m = run_measured(c.name, cycle, c.argv(work), cwd=ROOT, limit_s=limit_s,
                                     log=work / "run.log")
                    st = farm.reset_stats()
                    m.farm = {"requests": st.requests,
                              **{str(k): v for k, v in sorted(st.by_status.items())}}
                    m.note = c.summary(work)
                    results.append(m)
                    print(_row(m), flush=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return results


def _row(m: Measure) -> str:
    return (f"| {m.name} | {m.cycle} | {m.wall_s:.1f} | {m.cpu_s:.1f} | {m.maxrss_mb:.0f} | "
            f"{m.tree_rss_mb:.0f} | {m.farm.get('200', 0)}/{m.farm.get('304', 0)} | "
            f"{m.load1:.1f} | {m.returncode} |")


HEADER = ("| contender | cycle | wall s | CPU s | max RSS MB | tree RSS MB | farm 200/304 "
          "| load | rc |\n|---|---|---:|---:|---:|---:|---:|---:|---:|")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd")
    c = sub.add_parser("ceiling")
    c.add_argument("urls")
    c.add_argument("state")
    c.add_argument("--concurrency", type=int, default=64)
    c.add_argument("--deadline", type=float, default=30.0)
    r = sub.add_parser("reader-setup")
    r.add_argument("db")
    r.add_argument("urls")
    s = sub.add_parser("reader-summary")
    s.add_argument("db")
    p.add_argument("--n", type=int, nargs="+", default=[1000])
    p.add_argument("--reader-workers", type=int, nargs="+", default=[16])
    p.add_argument("--collector-concurrency", type=int, nargs="*", default=[64],
                   help="besides the defaults, run collector with these concurrencies")
    p.add_argument("--no-collector-defaults", action="store_true",
                   help="skip the run of collector with its default concurrency")
    p.add_argument("--ceiling-concurrency", type=int, nargs="+", default=[64])
    p.add_argument("--articles", action="store_true",
                   help="also run collector with backfill 2 (article pages fetched)")
    p.add_argument("--only", nargs="*", default=None,
                   help="contenders to run: collector, reader, httpx")
    p.add_argument("--hang-s", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--content-share", type=float, default=0.0,
                   help="share of the sites whose feed items carry their full text")
    p.add_argument("--gzip", action="store_true", help="the farm gzips feeds on request")
    p.add_argument("--limit", type=float, default=1800.0, help="time limit of one child (s)")
    p.add_argument("--json", help="write all measurements to this file")
    args = p.parse_args(argv)
    if args.cmd == "ceiling":
        return ceiling_main(args)
    if args.cmd == "reader-setup":
        return reader_setup_main(args)
    if args.cmd == "reader-summary":
        return reader_summary_main(args)

    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    only = set(args.only or ["collector", "reader", "httpx"])
    everything: list[Measure] = []
    work_root = Path(tempfile.mkdtemp(prefix="bench-poll-"))
    try:
        for n in args.n:
            contenders: list[Contender] = []
            if "httpx" in only:
                contenders += [Ceiling(k) for k in args.ceiling_concurrency]
            if "collector" in only:
                if not args.no_collector_defaults:
                    contenders.append(Collector(None))
                contenders += [Collector(k) for k in args.collector_concurrency]
                if args.articles:
                    contenders.append(Collector(args.collector_concurrency[0]
                                                if args.collector_concurrency else None,
                                                backfill=2))
            if "reader" in only:
                contenders += [Reader(w) for w in args.reader_workers]
            print(f"\nN = {n}", flush=True)
            everything += bench(n, contenders, work_root=work_root, limit_s=args.limit,
                                hang_s=args.hang_s, seed=args.seed,
                                content_share=args.content_share, gzip=args.gzip)
            for m in everything:
                if m.note:
                    print(f"  {m.name} {m.cycle}: {m.note}")
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(m) for m in everything], indent=1),
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
