"""Where `collector poll`'s memory goes: RSS after each import, and tracemalloc at the peak.

`imports`: a fresh interpreter imports, one after the other, what a poll loads (the libraries
first, then collector's modules in the order the poll reaches them) and prints the resident
set (VmRSS) after each, with the growth it caused:

    .venv/bin/python -m bench.memory imports

`poll`: starts the farm of bench/poll.py, runs a cold and then a warm `collector poll` in a
child that traces its allocations (tracemalloc, 25 frames), and prints for each cycle the
peak of traced memory, the peak RSS (VmHWM) and the top allocations by traceback of the
snapshot taken when traced memory was highest (sampled every 0.5 s). Tracing slows the child
several times: its figures say where the memory is, not how fast the poll runs.

    .venv/bin/python -m bench.memory poll --n 5000 --farm hard --top 15

`--dump DIR` also writes, for each cycle, the snapshot taken when the poll is over (at the
start of `Worker.close`, the worker and everything it holds still alive) to
DIR/end-<cycle>.snap; `diff` compares two such snapshots, of polls of N1 and N2 sources, by
traceback and prints what grew, in bytes per source ((size2 - size1) / (N2 - N1)):

    .venv/bin/python -m bench.memory poll --n 1000 --cycles 1 --frames 12 --dump /tmp/m1000
    .venv/bin/python -m bench.memory poll --n 3000 --cycles 1 --frames 12 --dump /tmp/m3000
    .venv/bin/python -m bench.memory diff /tmp/m1000/end-0.snap 1000 /tmp/m3000/end-0.snap 3000

`timeline`: an untraced cold poll on the farm (`--cycles 2`: and the warm one after it), at
full speed, collector on core `--cpu` (1; -1 for every core) and the farm on the others; every
`--every` s the anonymous and file-backed RSS of each process of the tree (the main process
and its parse workers) and their sum, and at the end the tree's peak (sampled every 0.1 s)
with its parts:

    .venv/bin/python -m bench.memory timeline --n 5000 --cycles 2

`startup`: in a child, the steps of a poll's start-up for N sources (no network): VmRSS
after `load_config`, after the worker's start, and after the claim of all the sources in one
`Store.claim` (`--batch B`: the claim order read first, then claims of B ids in that order, as
`Worker.poll_ids` does; on a checkout without collector.store.claims, slices of the ids):

    .venv/bin/python -m bench.memory startup --n 5000
    .venv/bin/python -m bench.memory startup --n 5000 --batch 500

At the end it parses the configuration's text again under tracemalloc and prints what the
parse keeps and what it held at its peak, in bytes a source.

`tick`: in a child, K claims of one source among N on a SQLite file, as a service's tick
claims when a poll slot frees: with an `IN` of every id (what `Worker.tick` did) and with the
claim order read once and its next id (collector.store.claims); CPU time a claim and the
traced peak of each way:

    .venv/bin/python -m bench.memory tick --n 5000 --claims 200

`robots`: in a child, the robots.txt cache of a poll after N hosts answered the farm's
WordPress robots.txt (each naming its own sitemap), in bytes a host (tracemalloc), and the
same entries saved to a SQLite store and read back as a poll's first check reads them:

    .venv/bin/python -m bench.memory robots --n 5000

`worker`: in a child, one parse worker scans 20 of the farm's feeds (77 KB, full text), one of
its big feeds (2.2 MB) and 20 more; the worker's resident set after each step and the main
process's at the end (its VmHWM covers the big feed's framing for the worker):

    .venv/bin/python -m bench.memory worker
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from bench import farm_content
from bench.farm import Farm
from bench.farm_content import ROBOTS
from bench.poll import PY, ROOT, _tree, collector_config

#: What a poll imports, in the order it gets there: the libraries, then collector's modules.
IMPORTS = ("yaml", "sqlalchemy", "sqlalchemy.orm", "alembic", "httpx", "h11", "brotli",
           "selectolax.lexbor", "apscheduler", "feedparser",
           "collector.config", "collector.store", "collector.fetch", "collector.extract",
           "collector.pipeline", "collector.scheduler", "collector.cli")

_IMPORTS_CHILD = """
import importlib, sys, time
def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
before = rss()
print(f"{'(interpreter)':28} {before:7.1f} MB")
for name in sys.argv[1:]:
    t = time.perf_counter()
    importlib.import_module(name)
    now = rss()
    print(f"{name:28} {now:7.1f} MB  +{now - before:5.1f}  {time.perf_counter() - t:6.3f} s")
    before = now
print(f"modules loaded: {len(sys.modules)}")
"""

#: Runs `collector.cli` with tracemalloc; argv: report file, top N, frames, end-snapshot file
#: ("" for none), cli args.
_TRACED_CHILD = """
import sys, threading, tracemalloc, runpy, linecache
out, top, frames, end_snap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sys.argv = ["collector", *sys.argv[5:]]
tracemalloc.start(frames)
if end_snap:
    import gc
    from collector.scheduler import Worker
    _close = Worker.close
    async def close(self):
        gc.collect()
        tracemalloc.take_snapshot().dump(end_snap)
        await _close(self)
    Worker.close = close
best = [0, None]
stop = threading.Event()
def sample():
    while not stop.wait(0.5):
        current, _peak = tracemalloc.get_traced_memory()
        if current > best[0] * 1.03:
            best[0], best[1] = current, tracemalloc.take_snapshot()
threading.Thread(target=sample, daemon=True).start()
try:
    runpy.run_module("collector.cli", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
finally:
    stop.set()
    _cur, peak = tracemalloc.get_traced_memory()
    with open("/proc/self/status") as f:
        hwm = next(int(x.split()[1]) / 1024 for x in f if x.startswith("VmHWM:"))
    lines = [f"traced peak {peak / 2**20:.1f} MB; VmHWM {hwm:.1f} MB; "
             f"snapshot at {best[0] / 2**20:.1f} MB traced"]
    snap = best[1]
    if snap is not None:
        snap = snap.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        for kind in ("filename", "traceback"):
            lines.append(f"\\n-- top {top} by {kind} --")
            for stat in snap.statistics(kind)[:top]:
                lines.append(f"{stat.size / 2**20:7.2f} MB {stat.count:8d} blocks")
                frames = stat.traceback.format(limit=8 if kind == "traceback" else 1)
                lines.extend("    " + x for x in frames if x.strip())
    with open(out, "w") as f:
        f.write("\\n".join(lines) + "\\n")
"""


def imports_main(args: argparse.Namespace) -> int:
    got = subprocess.run([PY, "-c", _IMPORTS_CHILD, *args.modules], cwd=args.tree,
                         capture_output=True, text=True, timeout=300)
    print(got.stdout + got.stderr)
    return got.returncode


def _upgrade(config: Path, tree: str) -> None:
    """`collector db upgrade` of this configuration's store, with the checkout `tree`."""
    subprocess.run([PY, "-m", "collector.cli", "--config", str(config), "db", "upgrade"],
                   cwd=tree, check=True, capture_output=True, timeout=300)


@contextlib.contextmanager
def _farm_world(args: argparse.Namespace, prefix: str) -> Iterator[tuple[Farm, Path, Path]]:
    """bench/poll.py's farm of `args.n` sites, a configuration of collector polling them (its
    store made) and the temporary directory holding it, removed after."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with Farm(args.n, profile=args.farm, seed=1) as farm:
            config = work / "sources.yaml"
            collector_config(config, farm.feed_urls(), concurrency=None, backfill=0)
            _upgrade(config, args.tree)
            yield farm, config, work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def poll_main(args: argparse.Namespace) -> int:
    with _farm_world(args, "poll-memory-") as (farm, config, work):
        if args.dump:
            Path(args.dump).mkdir(parents=True, exist_ok=True)
        for cycle in range(args.cycles):
            farm.set_cycle(cycle)
            report = work / f"report{cycle}.txt"
            end = str(Path(args.dump) / f"end-{cycle}.snap") if args.dump else ""
            subprocess.run([PY, "-c", _TRACED_CHILD, str(report), str(args.top),
                            str(args.frames), end, "--config", str(config), "poll",
                            "--quiet"], cwd=args.tree,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=args.limit, env={**os.environ})
            print(f"\n=== {'cold' if cycle == 0 else 'warm'} cycle, N = {args.n}")
            print(report.read_text(encoding="utf-8") if report.exists() else "no report")
    return 0


def _tree_memory(root: int) -> list[tuple[int, str, dict[str, float]]]:
    """(pid, the process's role, its RssAnon/RssFile/RssShmem/VmHWM in MB) of `root` and its
    descendants: `main` the collector process, `worker` a parse worker."""
    out = []
    for pid in _tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                got = {k: int(v.split()[0]) / 1024 for k, v in (x.split(":", 1) for x in f)
                       if k in ("RssAnon", "RssFile", "RssShmem", "VmHWM")}
        except (OSError, ValueError):
            continue
        if got:
            out.append((pid, "main" if pid == root else "worker", got))
    return out


def timeline_main(args: argparse.Namespace) -> int:
    cpus = {args.cpu} if args.cpu >= 0 else None
    if cpus:   # the farm (in this process) on the other core, as bench/poll.py pins it
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)) - cpus or cpus)
    with _farm_world(args, "poll-timeline-") as (farm, config, _work):
        for cycle in range(args.cycles):
            farm.set_cycle(cycle)
            print(f"\n=== {'cold' if cycle == 0 else 'warm'} cycle, N = {args.n}"
                  f" (MB: anon+file of each process, then the tree's sum of RSS)")
            child = subprocess.Popen(
                [PY, "-m", "collector.cli", "--config", str(config), "poll", "--quiet"],
                cwd=args.tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
            started = time.monotonic()
            peak: tuple[float, str] = (0.0, "")
            last = 0.0
            while child.poll() is None and time.monotonic() - started < args.limit:
                procs = _tree_memory(child.pid)
                total = sum(m["RssAnon"] + m["RssFile"] + m["RssShmem"] for _p, _r, m in procs)
                line = "  ".join(f"{role} {m['RssAnon']:5.1f}+{m['RssFile']:4.1f}"
                                 for _p, role, m in procs)
                now = time.monotonic() - started
                if total > peak[0]:
                    peak = (total, f"{now:7.1f} s  {line}")
                if now - last >= args.every:
                    last = now
                    print(f"{now:7.1f} s  tree {total:6.1f}  {line}", flush=True)
                time.sleep(0.1)
            if child.poll() is None:
                child.kill()
            child.wait()
            print(f"peak of the tree {peak[0]:.1f} MB at {peak[1]}")
    return 0


_STARTUP_CHILD = """
import asyncio, sys, tracemalloc
from pathlib import Path
from collector.cli import _store
from collector.config import load_config, parse_config
from collector.scheduler import Worker
config_path, batch = sys.argv[1], int(sys.argv[2])
def rss():
    with open("/proc/self/status") as f:
        got = {k: int(v.split()[0]) / 1024 for k, v in (x.split(":", 1) for x in f)
               if k in ("VmRSS", "VmHWM")}
    return f"VmRSS {got['VmRSS']:6.1f} MB  VmHWM {got['VmHWM']:6.1f} MB"
print(f"{'imports':28} {rss()}")
config = load_config(config_path)
print(f"{'load_config':28} {rss()}")
store = _store(config)
async def main():
    worker = Worker(config, store, metrics=False)
    await worker.start()
    print(f"{'worker started':28} {rss()}")
    ids = [s.id for s in config.sources]
    step = batch or len(ids)
    if batch:
        try:   # the claim order of all of them first, as `Worker.poll_ids` reads it
            from collector.store import claims
        except ImportError:   # a checkout from before collector.store.claims: slices of ids
            pass
        else:
            ids = await asyncio.to_thread(claims.claim_order, store, worker.clock(), set(ids),
                                          due_only=False)
            print(f"{'claim order read':28} {rss()}")
    claimed = []
    for i in range(0, len(ids), step):
        claimed += await asyncio.to_thread(
            store.claim, worker.clock(), owner=worker.id, lease_s=600, limit=step,
            ids=ids[i:i + step], due_only=False)
    print(f"{f'claimed {len(claimed)} ({step} a claim)':28} {rss()}")
    await worker.close()
asyncio.run(main())
store.close()
# the configuration's parse again, traced (the file's read is left out: it asks for a buffer
# of the largest size allowed, which tracemalloc counts whole though only the file's pages
# are ever touched)
text = Path(config_path).read_text(encoding="utf-8")
n = len(config.sources)
del config
tracemalloc.start(1)
again = parse_config(text, Path(config_path))
kept, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(f"{'parse_config (traced)':28} {kept / n:6.0f} B a source kept, {peak / n:6.0f} at the peak")
"""


def _run_unpolled(args: argparse.Namespace, prefix: str, child: str, arg: int, *,
                  upgrade: bool) -> int:
    """Run `child` with the checkout `args.tree` on a configuration of `args.n` sources that
    nothing serves (the discard port: no poll runs, the URLs only have to be valid) and `arg`;
    print what it prints."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        config = work / "sources.yaml"
        collector_config(config, [f"http://127.0.0.1:9/{i}/feed.xml" for i in range(args.n)],
                         concurrency=None, backfill=0)
        if upgrade:
            _upgrade(config, args.tree)
        got = subprocess.run([PY, "-c", child, str(config), str(arg)],
                             cwd=args.tree, capture_output=True, text=True, timeout=600)
        print(got.stdout + got.stderr)
        return got.returncode
    finally:
        shutil.rmtree(work, ignore_errors=True)


def startup_main(args: argparse.Namespace) -> int:
    return _run_unpolled(args, "poll-startup-", _STARTUP_CHILD, args.batch, upgrade=True)


_TICK_CHILD = """
import sys, time, tracemalloc
from collector.cli import _store
from collector.config import load_config
from collector.store import claims
config_path, k = sys.argv[1], int(sys.argv[2])
config = load_config(config_path)
store = _store(config)
store.upgrade()
from datetime import UTC, datetime
now = datetime.now(UTC)
store.sync_sources(config.sources, now)
ids = [s.id for s in config.sources]
def every_id(owner):   # what a tick did at each freed slot: an IN of every enabled id
    return [store.claim(now, owner=owner, lease_s=600, limit=1, ids=ids, due_only=False)
            for _ in range(k)]
def ordered(owner):    # the order read once, then the next id of it at each freed slot
    order = claims.claim_order(store, now, set(ids), due_only=False)
    return [store.claim(now, owner=owner, lease_s=600, limit=1, ids=order[j:j + 1],
                        due_only=False) for j in range(k)]
for name, run in (("IN of every id", every_id), ("order, then its next id", ordered)):
    store.clear_leases(lambda o: True)
    tracemalloc.start(1)
    cpu = time.process_time()
    got = run(name)
    cpu = time.process_time() - cpu
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sum(map(len, got)) == k, name
    print(f"{name:26} {k} claims of 1 among {len(ids)}: {cpu * 1000 / k:7.2f} ms CPU a claim,"
          f" traced peak {peak / 1e6:6.2f} MB")
store.close()
"""


def tick_main(args: argparse.Namespace) -> int:
    return _run_unpolled(args, "poll-tick-", _TICK_CHILD, args.claims, upgrade=False)


_ROBOTS_CHILD = """
import asyncio, gc, sys, tempfile, tracemalloc
from collector import robots
from collector.store import Store
from collector.store.robots import StoredRobots
n, body = int(sys.argv[1]), sys.argv[2].encode()
class Kept:
    def __init__(self):
        self.saved = []
    def load(self):
        return {}
    def save(self, entries):
        self.saved += entries
async def fetch(url, policy, etag, last_modified):
    host = url.split("/")[2]
    return robots.RobotsAnswer(200, body + f"Sitemap: http://{host}/wp-sitemap.xml\\n".encode(),
                               etag='"5f3a-1c"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
async def main():
    kept = Kept()
    cache = robots.RobotsCache(fetch, store=kept)
    gc.collect()
    tracemalloc.start(1)
    before = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        await cache.check(f"http://127.20.{i // 250}.{i % 250 + 1}:8000/feed/", "collector/1.0")
    await cache.flush()
    gc.collect()
    print(f"{n} hosts checked: {(tracemalloc.get_traced_memory()[0] - before) / n:6.0f} B a host")
    tracemalloc.stop()
    return kept.saved
saved = asyncio.run(main())
with tempfile.TemporaryDirectory() as work:
    store = Store(f"sqlite:///{work}/robots.db")
    store.upgrade()
    StoredRobots(store).save(saved)
    del saved
    gc.collect()
    tracemalloc.start(1)
    before = tracemalloc.get_traced_memory()[0]
    loaded = StoredRobots(store).load()
    now, peak = tracemalloc.get_traced_memory()
    print(f"{len(loaded)} saved entries loaded: {(now - before) / n:6.0f} B a host kept, "
          f"{(peak - before) / n:6.0f} at the peak")
    store.close()
"""


def robots_main(args: argparse.Namespace) -> int:
    got = subprocess.run([PY, "-c", _ROBOTS_CHILD, str(args.n), ROBOTS.decode()],
                         cwd=args.tree, capture_output=True, text=True, timeout=600)
    print(got.stdout + got.stderr)
    return got.returncode


_WORKER_CHILD = """
import os, sys
from collector.discover.feed import parse_feed
from collector.isolate import Isolator
small, big = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
def status(pid):
    with open(f"/proc/{pid}/status") as f:
        got = {k: int(v.split()[0]) / 1024 for k, v in (x.split(":", 1) for x in f)
               if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}
    return (f"VmRSS {got['VmRSS']:5.1f}  anon {got['RssAnon']:5.1f}  file {got['RssFile']:4.1f}"
            f"  VmHWM {got['VmHWM']:5.1f} MB")
iso = Isolator(1, memory_mb=None)
pid = iso.call(os.getpid, timeout_s=60)
print(f"{'worker started':24} {status(pid)}")
for name, feed, times in (("20 feed scans", small, 20), ("a big feed's scan", big, 1),
                          ("20 more feed scans", small, 20)):
    for _ in range(times):
        iso.call(parse_feed, feed, "http://127.20.0.8/feed/", timeout_s=60, scan=True)
    print(f"{name:24} {status(pid)}")
print(f"{'the main process':24} {status(os.getpid())}")
iso.close()
"""


def worker_main(args: argparse.Namespace) -> int:
    shape = farm_content.SiteShape(7, "http://127.20.0.8:8000", full=True, atom=False,
                                   items=15)
    small = farm_content.feed_body(shape, 20)
    probe = len(farm_content.feed_body(shape, 30, items=20, blocks=10, full=True))
    big = farm_content.feed_body(shape, 30, items=20, full=True,
                                 blocks=12 * args.big_mb * 2**20 // probe + 1)
    with tempfile.TemporaryDirectory(prefix="poll-worker-") as work:
        paths = [Path(work) / "small.xml", Path(work) / "big.xml"]
        for path, body in zip(paths, (small, big), strict=True):
            path.write_bytes(body)
        print(f"a farm feed of {len(small):,} bytes, a big one of {len(big):,}")
        got = subprocess.run([PY, "-c", _WORKER_CHILD, *map(str, paths)], cwd=args.tree,
                             capture_output=True, text=True, timeout=600)
    print(got.stdout + got.stderr)
    return got.returncode


def diff_main(args: argparse.Namespace) -> int:
    one = tracemalloc.Snapshot.load(args.snap1)
    two = tracemalloc.Snapshot.load(args.snap2)
    per = max(1, args.n2 - args.n1)
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    one, two = one.filter_traces(ignore), two.filter_traces(ignore)
    total = sum(t.size for t in two.traces) - sum(t.size for t in one.traces)
    print(f"traced at the end: {sum(t.size for t in one.traces) / 2**20:.1f} MB at N = "
          f"{args.n1}, {sum(t.size for t in two.traces) / 2**20:.1f} MB at N = {args.n2}: "
          f"{total / per:+.0f} B per source")
    for kind in ("filename", "lineno", "traceback"):
        print(f"\n-- top {args.top} growths by {kind} (B per source, blocks per source) --")
        for stat in two.compare_to(one, kind)[:args.top]:
            print(f"{stat.size_diff / per:8.0f} B {stat.count_diff / per:6.1f} blocks "
                  f"({stat.size / 2**20:6.2f} MB at N2)")
            if kind != "filename":
                frames = stat.traceback.format(limit=args.frames if kind == "traceback" else 1,
                                               most_recent_first=True)
                print("\n".join("    " + x for x in frames if x.strip()))
            else:
                print("    " + str(stat.traceback[0].filename))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tree", default=str(ROOT), help="checkout of collector to run")
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("imports")
    i.add_argument("modules", nargs="*", default=list(IMPORTS))
    q = sub.add_parser("poll")
    q.add_argument("--n", type=int, default=5000)
    q.add_argument("--farm", choices=("easy", "hard"), default="hard",
                   help="the farm's profile (bench/farm.py)")
    q.add_argument("--top", type=int, default=15)
    q.add_argument("--limit", type=float, default=1800.0)
    q.add_argument("--frames", type=int, default=25, help="tracemalloc's frames per block")
    q.add_argument("--cycles", type=int, choices=(1, 2), default=2,
                   help="1: the cold cycle only")
    q.add_argument("--dump", help="directory for the end-of-poll snapshots (end-<cycle>.snap)")
    t = sub.add_parser("timeline")
    t.add_argument("--n", type=int, default=5000)
    t.add_argument("--farm", choices=("easy", "hard"), default="hard")
    t.add_argument("--every", type=float, default=1.0)
    t.add_argument("--limit", type=float, default=900.0)
    t.add_argument("--cycles", type=int, choices=(1, 2), default=1,
                   help="2: the warm cycle too")
    t.add_argument("--cpu", type=int, default=1,
                   help="the core collector runs on (-1: every core)")
    u = sub.add_parser("startup")
    u.add_argument("--n", type=int, default=5000)
    u.add_argument("--batch", type=int, default=0, help="ids a claim (0: all in one)")
    k = sub.add_parser("tick")
    k.add_argument("--n", type=int, default=5000)
    k.add_argument("--claims", type=int, default=200)
    r = sub.add_parser("robots")
    r.add_argument("--n", type=int, default=5000)
    w = sub.add_parser("worker")
    w.add_argument("--big-mb", type=int, default=2, help="the big feed's size (the farm's)")
    d = sub.add_parser("diff")
    d.add_argument("snap1")
    d.add_argument("n1", type=int)
    d.add_argument("snap2")
    d.add_argument("n2", type=int)
    d.add_argument("--top", type=int, default=25)
    d.add_argument("--frames", type=int, default=10)
    args = p.parse_args(argv)
    if args.cmd == "diff":
        return diff_main(args)
    if args.cmd == "timeline":
        return timeline_main(args)
    if args.cmd == "startup":
        return startup_main(args)
    if args.cmd == "tick":
        return tick_main(args)
    if args.cmd == "robots":
        return robots_main(args)
    if args.cmd == "worker":
        return worker_main(args)
    return imports_main(args) if args.cmd == "imports" else poll_main(args)


if __name__ == "__main__":
    sys.exit(main())
