"""Starvation: how long sources whose parses overrun delay the healthy sources beside them.

    .venv/bin/python -m bench.starvation --hostile 12 --healthy 100

A loopback farm (bench/farm.py, one address per site) serves `--healthy + --hostile` feeds of
three items each, with article pages. The feeds of the first `--hostile` sites hang the parser
(bench/hostile_parse.py: the parse sleeps for an hour, so each one runs to the parse deadline,
`limits.EXTRACT_TIMEOUT_S`, and its worker is killed). One in-process worker (`collector
poll`'s: claim, fetch, parse, store on a SQLite file) polls every source at once, twice:

- round 1 (cold): every source is new; each healthy source parses its feed and three pages;
- round 2 (warm): every healthy site has published one new item (a feed and a page to parse);
  the hostile sources failed their first poll with `parse_timeout`.

Per healthy source, the figure is the time from the start of the round until its poll
finished. The same rounds without hostile sources give the reference. The parse pool is
whatever the collector under test makes of this machine (its default). Traffic goes only to
the farm on loopback; every wait is bounded (the rounds by the poll deadlines).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import collector
from bench import hostile_parse
from bench.farm import Farm, site_ip, wait_until_reachable
from collector import limits, pipeline
from collector.config import load_config
from collector.scheduler import Worker
from collector.store import Store


def _config(farm: Farm, indices: range, data: Path) -> Path:
    lines = ["settings:", f"  data_dir: {data}", "  fetch:", "    per_host_delay: 0s",
             "defaults:", "  allow_private_addresses: true", "  robots: false",
             "  every: 30m", "sources:"]
    for i in indices:
        lines += [f"  - id: s{i:03d}", f"    url: {farm.url(i)}", "    kind: feed"]
    path = data / "sources.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o644)
    return path


async def _rounds(config: Any, hostile: set[str], farm: Farm) -> list[dict[str, Any]]:
    store = Store(config.settings.database_url)
    now = [datetime.now(UTC)]
    worker = Worker(config, store, clock=lambda: now[0])
    out = []
    try:
        await worker.start()
        for rnd in (1, 2):
            farm.set_cycle(rnd - 1)
            done: dict[str, float] = {}
            outcomes: dict[str, Any] = {}
            start = time.monotonic()

            def progress(source: Any, outcome: Any, start: float = start,
                         done: dict[str, float] = done, outcomes: dict[str, Any] = outcomes
                         ) -> None:
                done[source.id] = time.monotonic() - start
                outcomes[source.id] = outcome

            await worker.poll_ids([s.id for s in config.sources], progress=progress)
            healthy = sorted(v for k, v in done.items() if k not in hostile)
            failed_healthy = sorted(k for k, o in outcomes.items()
                                    if k not in hostile and not o.ok)
            out.append({
                "round": rnd, "wall_s": round(time.monotonic() - start, 2),
                "healthy_worst_s": round(healthy[-1], 2) if healthy else None,
                "healthy_median_s": round(statistics.median(healthy), 2) if healthy else None,
                "healthy_failed": failed_healthy,
                "hostile_failed": sum(1 for k in hostile if not outcomes[k].ok),
                "new_documents": sum(o.new_documents for o in outcomes.values())})
            now[0] += timedelta(days=2)
    finally:
        await worker.close()
        store.close()
    return out


def run(hostile_n: int, healthy_n: int, *, with_hostile: bool) -> dict[str, Any]:
    """Sites 0 .. hostile_n - 1 are hostile (named to the parse workers before any starts, as
    a process-wide pool keeps its workers across runs); without `with_hostile` only the
    healthy ones are polled."""
    n = hostile_n + healthy_n
    # change_share 1: in round 2 every healthy site has a new item to parse
    with Farm(n, fault_share=0, change_share=1.0, items=3) as farm, \
            tempfile.TemporaryDirectory(prefix="starvation-") as tmp:
        wait_until_reachable(farm)
        first = 0 if with_hostile else hostile_n
        config = load_config(_config(farm, range(first, n), Path(tmp)), env={})
        hostile = {f"s{i:03d}" for i in range(first, hostile_n)}
        rounds = asyncio.run(_rounds(config, hostile, farm))
    return {"hostile": len(hostile), "healthy": healthy_n, "rounds": rounds}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hostile", type=int, default=12)
    ap.add_argument("--healthy", type=int, default=100)
    ap.add_argument("--no-reference", action="store_true",
                    help="skip the rounds without hostile sources")
    args = ap.parse_args(argv)
    # the parse workers import the replacement by its module path
    pipeline.parse_feed = hostile_parse.hostile_parse_feed  # type: ignore[attr-defined]
    from collector import isolate

    workers = getattr(isolate, "parse_workers", lambda: "?")()
    print(f"collector from {Path(collector.__file__).parent}; python {platform.python_version()}"
          f"; {os.cpu_count()} cpus; parse deadline {limits.EXTRACT_TIMEOUT_S:g} s;"
          f" default parse workers {workers}", file=sys.stderr)
    os.environ[hostile_parse.HOSTILE_ENV] = ",".join(site_ip(i) for i in range(args.hostile))
    results = []
    if not args.no_reference:
        results.append(run(args.hostile, args.healthy, with_hostile=False))
    results.append(run(args.hostile, args.healthy, with_hostile=True))
    for res in results:
        for r in res["rounds"]:
            print(f"hostile {res['hostile']:3d}  healthy {res['healthy']:3d}  round {r['round']}:"
                  f" healthy worst {r['healthy_worst_s']:7.2f} s, median"
                  f" {r['healthy_median_s']:6.2f} s; wall {r['wall_s']:7.2f} s;"
                  f" healthy failed {len(r['healthy_failed'])}, hostile failed"
                  f" {r['hostile_failed']}, new documents {r['new_documents']}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
