"""Benchmark of the poll history's cost on the outcome write (collector.store.history).

The outcome writer saves polls that finish together in one transaction (`Store.save_polls`).
This measures, in the same run and on the same SQLite file, batches of outcomes shaped like a
warm cycle's 304s (the commonest write):

- without history: the source UPDATE alone (the write as it was before the history existed);
- with history: the same UPDATE plus one history row a poll and the pruning DELETE a source,
  every source already at its full `POLL_HISTORY_PER_SOURCE` rows (the steady state of a
  service that has run for a while: every write prunes).

    .venv/bin/python bench/poll_history.py                   # 1,000 sources, batches of 64
    .venv/bin/python bench/poll_history.py --sources 5000 --batch 16 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector import limits
from collector.config import Source
from collector.store import PollRecord, Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _values(i: int, now: datetime) -> dict[str, object]:
    return {"etag": f'"e{i}"', "last_modified": None, "body_hash": "h" * 64,
            "next_poll_at": now + timedelta(minutes=30), "last_poll_at": now,
            "last_success_at": now, "first_failure_at": None, "consecutive_failures": 0,
            "last_error": None, "last_error_kind": None, "last_items_at": None,
            "consecutive_empty": 0, "consecutive_crashes": 0, "health": "healthy",
            "polls": i + 1}


def _cycle(store: Store, ids: list[str], batch: int, now: datetime, history: bool) -> float:
    start = time.perf_counter()
    for b in range(0, len(ids), batch):
        chunk = ids[b:b + batch]
        store.save_polls([(sid, _values(i, now), None) for i, sid in enumerate(chunk)],
                         [PollRecord(sid, now, ok=True, not_modified=True, elapsed_s=0.1)
                          for sid in chunk] if history else ())
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sources", type=int, default=1000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.upgrade()
        ids = [f"s{i}" for i in range(args.sources)]
        store.sync_sources([Source(id=sid, name=sid, url=f"http://127.0.0.1:9/{sid}",
                                   kind="feed") for sid in ids], T0)
        full = limits.POLL_HISTORY_PER_SOURCE
        t = time.perf_counter()
        for k in range(full):            # fill every source's history to the bound
            store.save_polls([], [PollRecord(sid, T0 + timedelta(minutes=k), ok=True)
                                  for sid in ids])
        fill_s = time.perf_counter() - t
        plain, with_history = [], []
        for r in range(args.rounds):     # interleaved, so drift on a shared host hits both
            now = T0 + timedelta(days=1, minutes=r)
            plain.append(_cycle(store, ids, args.batch, now, history=False))
            with_history.append(_cycle(store, ids, args.batch, now, history=True))
        rows = store.engine.connect().exec_driver_sql(
            "SELECT count(*) FROM poll_history").scalar()
        store.close()
    a, b = statistics.median(plain), statistics.median(with_history)
    print(f"{args.sources} sources at {full} history rows each ({rows} rows; filled in "
          f"{fill_s:.1f} s), batches of {args.batch}, median of {args.rounds} rounds")
    print("| write | ms per cycle | µs per outcome |")
    print("|---|---|---|")
    print(f"| source UPDATE only | {a * 1000:.1f} | {a / args.sources * 1e6:.0f} |")
    print(f"| UPDATE + history row + prune | {b * 1000:.1f} | "
          f"{b / args.sources * 1e6:.0f} |")
    print(f"ratio with/without history: {b / a:.2f}")


if __name__ == "__main__":
    main()
