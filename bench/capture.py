"""Capture benchmark: what WARC capture costs in disk and in polling time.

One run starts the farm of bench/farm.py (N simulated sites on loopback, 50-300 ms latency per
request, a share of faulty sites) and polls it cold with `collector poll`, its article pages
fetched and stored (`backfill: B` per feed source), alternately with capture off and on
(`settings: capture: enabled`), each a fresh data directory, `--repeat` times each. Per run:
wall time and CPU seconds of the child (bench/poll.py's `run_measured`), statements stored,
the bytes of the corpus texts (`documents/*.txt`) and of the WARC files (`warc/*.warc.gz`).

Reported: WARC bytes per 1,000 statements (and against the texts' bytes), and the throughput
(statements per second of wall time, and per CPU second) with capture on as a ratio of the
same with capture off, measured in the same run against the same farm.

    .venv/bin/python -m bench.capture --n 1000 --backfill 2 --repeat 2

Traffic goes only to the farm on 127.20.0.0/16. Every child has a time limit (`--limit`).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.poll import PY, ROOT, collector_config, run_measured


@dataclass
class Run:
    capture: bool
    wall_s: float
    cpu_s: float
    statements: int
    text_bytes: int
    warc_bytes: int
    returncode: int


def _config(path: Path, urls: Sequence[str], *, backfill: int, capture: bool) -> None:
    collector_config(path, urls, concurrency=None, backfill=backfill)
    text = path.read_text(encoding="utf-8")
    text = text.replace("settings:\n", "settings:\n  capture:\n    enabled: "
                        f"{'true' if capture else 'false'}\n", 1)
    path.write_text(text, encoding="utf-8")


def _one(urls: Sequence[str], *, capture: bool, backfill: int, work_root: Path,
         limit_s: float) -> Run:
    work = Path(tempfile.mkdtemp(prefix="capture-", dir=work_root))
    try:
        config = work / "sources.yaml"
        _config(config, urls, backfill=backfill, capture=capture)
        subprocess.run([PY, "-m", "collector.cli", "--config", str(config), "db", "upgrade"],
                       cwd=ROOT, check=True, capture_output=True, timeout=300)
        m = run_measured("collector", "cold", [PY, "-m", "collector.cli", "--config",
                                               str(config), "poll", "--quiet"],
                         cwd=ROOT, limit_s=limit_s, log=work / "run.log")
        data = work / "data"
        with sqlite3.connect(data / "collector.db") as con:
            statements = con.execute("SELECT count(*) FROM documents").fetchone()[0]
        texts = sum(p.stat().st_size for p in (data / "documents").glob("*.txt"))
        warcs = sum(p.stat().st_size for p in (data / "warc").glob("*.warc.gz"))
        return Run(capture, m.wall_s, m.cpu_s, statements, texts, warcs, m.returncode)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    from bench.farm import Farm

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="sites (feed sources)")
    ap.add_argument("--backfill", type=int, default=2, help="articles stored per source")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each, alternated")
    ap.add_argument("--limit", type=float, default=900.0, help="time limit per run, seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hang", type=float, default=5.0, help="how long hanging sites hang")
    args = ap.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-capture-"))
    runs: list[Run] = []
    try:
        with Farm(args.n, seed=args.seed, hang_s=args.hang) as farm:
            urls = farm.feed_urls()
            print(f"farm: {args.n} sites, faults {dict(farm.faults())}; backfill "
                  f"{args.backfill}\n\ncapture  wall_s  cpu_s  statements  text_bytes  "
                  "warc_bytes  rc", flush=True)
            for _ in range(args.repeat):
                for capture in (False, True):
                    farm.set_cycle(0)
                    farm.reset_stats()
                    r = _one(urls, capture=capture, backfill=args.backfill, work_root=root,
                             limit_s=args.limit)
                    runs.append(r)
                    print(f"{'on ' if r.capture else 'off'}      {r.wall_s:6.1f} "
                          f"{r.cpu_s:6.1f}  {r.statements:10d}  {r.text_bytes:10d}  "
                          f"{r.warc_bytes:10d}  {r.returncode}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    on = [r for r in runs if r.capture]
    off = [r for r in runs if not r.capture]
    if any(r.returncode for r in runs) or not all(r.statements for r in runs):
        print("a run failed or stored nothing: no figures", file=sys.stderr)
        return 1
    per_k = statistics.mean(r.warc_bytes / r.statements * 1000 for r in on)
    text_k = statistics.mean(r.text_bytes / r.statements * 1000 for r in on)
    rate = {k: statistics.mean(r.statements / r.wall_s for r in v) for k, v in
            (("on", on), ("off", off))}
    cpu = {k: statistics.mean(r.statements / r.cpu_s for r in v) for k, v in
           (("on", on), ("off", off))}
    print(f"\nWARC per 1,000 statements: {per_k / 2**20:.2f} MiB "
          f"({per_k / text_k:.1f}x the corpus texts' {text_k / 2**20:.2f} MiB)")
    print(f"statements per wall second: off {rate['off']:.1f}, on {rate['on']:.1f} "
          f"(on/off {rate['on'] / rate['off']:.3f})")
    print(f"statements per CPU second:  off {cpu['off']:.1f}, on {cpu['on']:.1f} "
          f"(on/off {cpu['on'] / cpu['off']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
