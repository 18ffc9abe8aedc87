"""robots.txt in the database: what keeping N hosts' entries costs a poll.

    .venv/bin/python -m bench.robots_store --hosts 5000

On a SQLite file in a temporary directory (the default deployment), with N origins whose
robots.txt is a typical one (a `*` group of a few rules, and a group for another crawler that
is not kept):

- batch: the N entries written as collector writes them (`StoredRobots.save`, one
  transaction per ROBOTS_SAVE_BATCH origins);
- one by one: the same N entries in one transaction each (the peer: a write per host);
- load: the N entries read back at a process's first check, and the memory they hold;
- first check: a RobotsCache answering N origins from the loaded entries, no request made.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import tracemalloc
from pathlib import Path

from collector import limits, robots
from collector.store import Store
from collector.store.robots import StoredRobots

TYPICAL = ("User-agent: somebot\nDisallow: /\n\nUser-agent: *\nDisallow: /wp-admin/\n"
           "Allow: /wp-admin/admin-ajax.php\nDisallow: /search\nDisallow: /*?replytocom=\n"
           "Sitemap: https://example.org/sitemap.xml\n")


def entries(n: int, now: float) -> list[robots.Saved]:
    rules = robots.parse(TYPICAL).dump("collector/1.0")
    return [robots.Saved(f"https://site{i:05d}.example.org", "collector", 200, rules,
                         f'"e{i}"', "Mon, 01 Jan 2029 00:00:00 GMT", now, now + 86400)
            for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=5000)
    args = ap.parse_args()
    now = time.time()
    batch = entries(args.hosts, now)
    with tempfile.TemporaryDirectory() as tmp:
        figures: dict[str, float] = {}
        for name in ("batch", "one by one"):
            store = Store(f"sqlite:///{Path(tmp) / (name.replace(' ', '_') + '.db')}")
            store.upgrade()
            kept = StoredRobots(store)
            t0 = time.perf_counter()
            if name == "batch":
                for i in range(0, len(batch), limits.ROBOTS_SAVE_BATCH):
                    kept.save(batch[i:i + limits.ROBOTS_SAVE_BATCH])
            else:
                for e in batch:
                    kept.save([e])
            figures[name] = time.perf_counter() - t0
            if name == "batch":
                t0 = time.perf_counter()
                loaded = kept.load()
                figures["load"] = time.perf_counter() - t0
                del loaded
                tracemalloc.start()
                loaded = kept.load()
                figures["load MB"] = tracemalloc.get_traced_memory()[0] / 1e6
                tracemalloc.stop()
                assert len(loaded) == args.hosts

                async def never(*_a: object) -> robots.RobotsAnswer:
                    raise AssertionError("a fresh saved entry was fetched again")

                async def check_all(kept: StoredRobots) -> None:
                    cache = robots.RobotsCache(never, store=kept)
                    for e in batch:
                        assert await cache.allowed(e.origin + "/news/", "collector/1.0")
                t0 = time.perf_counter()
                asyncio.run(check_all(kept))
                figures["first check"] = time.perf_counter() - t0
            store.close()
    n = args.hosts
    print(f"robots.txt entries of {n} hosts, SQLite file (rules kept: "
          f"{len(batch[0].rules)} bytes a host)")
    print(f"  write, batched ({limits.ROBOTS_SAVE_BATCH} a transaction): "
          f"{figures['batch']:.3f} s")
    print(f"  write, one transaction per host:            {figures['one by one']:.3f} s "
          f"({figures['one by one'] / figures['batch']:.0f}x the batched write)")
    print(f"  load all at the first check:                {figures['load']:.3f} s, "
          f"{figures['load MB']:.1f} MB held")
    print(f"  {n} checks answered from them (no request): {figures['first check']:.3f} s "
          "(load included)")


if __name__ == "__main__":
    main()
