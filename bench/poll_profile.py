"""Where `collector poll` spends its CPU: a cold and repeated warm cycles against the farm.

Starts the farm of bench/poll.py (bench/farm.py), writes the same configuration as its
collector contender, runs one cold `collector poll`, keeps a copy of the data directory, and
then runs the warm cycle `--warm` times, each from that copy (so every warm run meets the
same state: steadier than one run, and what a before/after comparison needs). Per run: wall
time, CPU seconds of the whole process tree (user+sys of the child and its reaped children,
from os.wait4), peak RSS of the largest process and of the tree.

    .venv/bin/python -m bench.poll_profile --n 1000 --farm hard --warm 3
    .venv/bin/python -m bench.poll_profile --n 1000 --cprofile /tmp/prof   # + cProfile files
    .venv/bin/python -m bench.poll_profile --n 1000 --tree /tmp/base       # another checkout
    .venv/bin/python -m bench.poll_profile --n 1000 --workitems /tmp/items # CPU per store call

`--workitems DIR` counts, in the main process, the CPU time of every work item its thread
pools run (the store's calls, the corpus and WARC writes), by function, and its main
thread's CPU: each a thread's own CPU, where cProfile's clock is the whole process's (a
function that waits in a system call is charged there with what the other threads did
meanwhile).

`--cprofile DIR` runs the main process under cProfile with a CPU clock (`DIR/cold0.prof`,
`DIR/warm0.prof`, ...) and prints its top functions by cumulative and by own time; the parse
worker is a separate process and is not in these files (profile it with py-spy
--subprocesses). cProfile slows the process down: compare CPU seconds only
between runs without it.
"""

from __future__ import annotations

import argparse
import json
import pstats
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.poll import PY, ROOT, collector_config, run_measured

#: Runs `collector.cli` under cProfile with a CPU-time clock; argv: output file, cli args.
_PROFILED = """
import cProfile, runpy, sys, time
out = sys.argv[1]
sys.argv = ["collector", *sys.argv[2:]]
profile = cProfile.Profile(time.process_time)
try:
    profile.runcall(runpy.run_module, "collector.cli", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
finally:
    profile.dump_stats(out)
"""


#: Runs `collector.cli` counting the CPU time (`time.thread_time`) of every work item the
#: process's thread pools run (the store's calls through `asyncio.to_thread`, the corpus and
#: WARC writes), by the function called, and the main thread's and the process's CPU;
#: argv: output file, cli args. Unlike cProfile's CPU clock (the whole process's), each
#: figure is one thread's own.
_WORKITEMS = """
import collections, json, runpy, sys, threading, time
import concurrent.futures.thread as pool
out = sys.argv[1]
sys.argv = ["collector", *sys.argv[2:]]
cpu = collections.Counter()
calls = collections.Counter()
lock = threading.Lock()
run = pool._WorkItem.run

def counted(item):
    start = time.thread_time()
    try:
        return run(item)
    finally:
        fn, args = item.fn, tuple(item.args)
        while hasattr(fn, "func"):  # functools.partial (asyncio.to_thread wraps Context.run)
            fn, args = fn.func, fn.args + args
        if getattr(fn, "__name__", "") == "run" and args and callable(args[0]):
            fn = args[0]
            while hasattr(fn, "func"):
                fn = fn.func
        name = getattr(fn, "__qualname__", repr(fn))
        with lock:
            cpu[name] += time.thread_time() - start
            calls[name] += 1

pool._WorkItem.run = counted
started, main_started = time.process_time(), time.thread_time()
try:
    runpy.run_module("collector.cli", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
finally:
    with open(out, "w") as fh:
        json.dump({"process_cpu_s": time.process_time() - started,
                   "main_thread_cpu_s": time.thread_time() - main_started,
                   "work_items": [[k, round(v, 4), calls[k]] for k, v in cpu.most_common()]},
                  fh, indent=1)
"""


def workitems_summary(path: Path, top: int) -> str:
    data = json.loads(path.read_text(encoding="utf-8"))
    out = [f"process {data['process_cpu_s']:.2f} CPU s, main thread "
           f"{data['main_thread_cpu_s']:.2f}; work items (CPU s, calls, ms per call):"]
    out += [f"{cpu:8.3f} {n:7d} {1000 * cpu / n:8.3f}  {name}"
            for name, cpu, n in data["work_items"][:top]]
    return "\n".join(out)


def _top(path: Path, sort: str, n: int) -> str:
    import io

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(n)
    text = out.getvalue()
    return text[text.find("   ncalls"):]


#: Where a sampled thread is waiting, not working (py-spy cannot always tell): a pool thread
#: waiting for work, a condition, the parse worker's pipe, the event loop's poll, the store's
#: write lock.
_IDLE = {"_worker (thread.py)", "Condition.wait (threading.py)", "_Worker._wait (isolate.py)",
         "EpollSelector.select (selectors.py)", "Store.session (__init__.py)",
         "Store._writing (__init__.py)", "read_exactly (parse_worker.py)"}


def spy_summary(path: Path, top: int) -> str:
    """Samples per process (pid and command as py-spy names them), then the functions with
    the most samples on the stack (inclusive) and at its top (own), over all processes;
    samples of a waiting thread (`_IDLE`) left out."""
    from collections import Counter

    per_proc: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        names = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1]
                 + ")" if " (" in f else f for f in frames[1:]]
        if names and names[-1] in _IDLE:
            continue
        total += n
        per_proc[frames[0][:60]] += n
        for name in set(names):
            inclusive[name] += n
        if names:
            own[names[-1]] += n
    out = [f"{total} samples, waiting threads left out"]
    out += [f"{n:7d} {100 * n / total:5.1f} %  {k}" for k, n in per_proc.most_common(8)]
    out.append("-- inclusive --")
    out += [f"{n:7d} {100 * n / total:5.1f} %  {k}" for k, n in inclusive.most_common(top)]
    out.append("-- own --")
    out += [f"{n:7d} {100 * n / total:5.1f} %  {k}" for k, n in own.most_common(top)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=None)
    p.add_argument("--farm", choices=("easy", "hard"), default="hard",
                   help="the farm's profile (bench/farm.py)")
    p.add_argument("--change-share", type=float, default=None,
                   help="share of sites that publish before the warm cycle (the profile's)")
    p.add_argument("--hang-s", type=float, default=None, help="a hang's length (the profile's)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--warm", type=int, default=1, help="warm runs, each from the cold state")
    p.add_argument("--cold", type=int, default=1, help="cold runs, each from an empty store")
    p.add_argument("--tree", default=str(ROOT), help="checkout of collector to run")
    p.add_argument("--cprofile", help="directory for cProfile files of the main process")
    p.add_argument("--pyspy", help="directory for py-spy samples (raw, every process of the "
                   "tree, CPU only; py-spy must be installed and allowed to trace)")
    p.add_argument("--workitems", help="directory for the CPU of each thread-pool work item "
                   "of the main process, by function (and of its main thread); no profiler")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--limit", type=float, default=900.0)
    p.add_argument("--json", help="write the measurements to this file")
    args = p.parse_args(argv)

    import resource

    from bench.farm import Farm

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tree = Path(args.tree).resolve()
    subprocess.run([PY, "-m", "compileall", "-q", str(tree / "collector")], check=True,
                   capture_output=True, timeout=300)
    prof = Path(args.cprofile) if args.cprofile else None
    spy = Path(args.pyspy) if args.pyspy else None
    items = Path(args.workitems) if args.workitems else None
    if prof and items:
        p.error("--cprofile and --workitems each replace the main process: choose one")
    for d in (prof, spy, items):
        if d:
            d.mkdir(parents=True, exist_ok=True)
    results = []
    work = Path(tempfile.mkdtemp(prefix="poll-profile-"))
    try:
        with Farm(args.n, profile=args.farm, hang_s=args.hang_s, seed=args.seed,
                  change_share=args.change_share) as farm:
            config = work / "sources.yaml"
            collector_config(config, farm.feed_urls(), concurrency=args.concurrency, backfill=0)
            data = work / "data"

            def run(cycle: str, i: int) -> None:
                args_ = ["--config", str(config), "poll"]
                if prof:
                    # CPU time, not wall time: a poll mostly waits for answers
                    argv = [PY, "-c", _PROFILED, str(prof / f"{cycle}{i}.prof"), *args_]
                elif items:
                    argv = [PY, "-c", _WORKITEMS, str(items / f"{cycle}{i}.json"), *args_]
                else:
                    argv = [PY, "-m", "collector.cli", *args_]
                if spy:
                    argv = [str(Path(PY).parent / "py-spy"), "record", "--subprocesses",
                            "--rate", "250", "--format", "raw", "--output",
                            str(spy / f"{cycle}{i}.txt"), "--", *argv]
                farm.reset_stats()
                m = run_measured("collector", cycle, argv, cwd=tree, limit_s=args.limit,
                                 log=work / "run.log")
                st = farm.reset_stats()
                row = {"cycle": cycle, "run": i, "wall_s": round(m.wall_s, 2),
                       "cpu_s": round(m.cpu_s, 2), "max_rss_mb": round(m.maxrss_mb),
                       "tree_rss_mb": round(m.tree_rss_mb), "rc": m.returncode,
                       "load": round(m.load1, 1), "requests": st.requests,
                       "bytes": st.bytes_sent, **{str(k): v for k, v in st.by_status.items()}}
                results.append(row)
                print(json.dumps(row), flush=True)

            for i in range(args.cold):
                shutil.rmtree(data, ignore_errors=True)
                farm.set_cycle(0)
                subprocess.run([PY, "-m", "collector.cli", "--config", str(config), "db",
                                "upgrade"], cwd=tree, check=True, capture_output=True,
                               timeout=300)
                run("cold", i)
            saved = work / "data-cold"
            shutil.copytree(data, saved)
            farm.set_cycle(1)
            for i in range(args.warm):
                shutil.rmtree(data)
                shutil.copytree(saved, data)
                run("warm", i)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if prof:
        for f in sorted(prof.glob("*.prof")):
            for sort in ("cumulative", "tottime"):
                print(f"\n## {f.name} by {sort}\n")
                print(_top(f, sort, args.top))
    if items:
        for f in sorted(items.glob("*.json")):
            print(f"\n## {f.name}: work items\n")
            print(workitems_summary(f, args.top))
    if spy:
        for f in sorted(spy.glob("*.txt")):
            print(f"\n## {f.name}: py-spy samples\n")
            print(spy_summary(f, args.top))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
