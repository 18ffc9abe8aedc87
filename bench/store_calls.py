"""CPU of the store calls a warm poll makes per feed and per new document, one at a time.

Each figure is this thread's CPU (`time.thread_time`) per call, on a fresh SQLite store and
corpus directory in a temporary directory:

    seen_keys     `Store.seen_keys` of a changed feed's 21 item keys (20 known), for 50 sources
    save_polls    `Store.save_polls` of 1,000 poll outcomes (a 304's fields and its history
                  row) in batches of `--batch`, per outcome
    append        `Corpus.append_index` of one new document's line, 2,000 in a row (a warm
                  cycle at N = 10,000 stores 2,000), by quarter: the index state grows by a
                  line per append until MAX_AHEAD

    .venv/bin/python -m bench.store_calls
    .venv/bin/python -m bench.store_calls --tree /tmp/before     # another checkout
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _seen_keys(store: Any, now: datetime, rounds: int) -> float:
    from collector.store.tables import SourceRow

    with store.session() as s:
        for i in range(50):
            s.add(SourceRow(id=f"k{i}", name=f"k{i}", url=f"http://x{i}/feed", kind="feed",
                            created_at=now, next_poll_at=now))
    for i in range(50):
        store.mark_seen_many(f"k{i}", [(f"http://x{i}/p/{k}", f"http://x{i}/p/{k}")
                                       for k in range(20)], status="baseline", now=now)
    keys = [[f"http://x{i}/p/{k}" for k in range(21)] for i in range(50)]
    assert store.seen_keys("k3", keys[3], retry_below=3) == set(keys[3][:20])
    start = time.thread_time()
    for _ in range(rounds):
        for i in range(50):
            store.seen_keys(f"k{i}", keys[i], retry_below=3)
    return (time.thread_time() - start) / (rounds * 50)


def _save_polls(store: Any, now: datetime, batch: int) -> float:
    from collector.store.tables import SourceRow
    from collector.store.views import PollRecord

    n = 1000
    with store.session() as s:
        for i in range(n):
            s.add(SourceRow(id=f"p{i}", name=f"p{i}", url=f"http://y{i}/feed", kind="feed",
                            created_at=now, next_poll_at=now))
    best = float("inf")
    for poll in range(3):
        outcomes = [(f"p{i}", {
            "etag": f'"e{i}"', "last_modified": "Mon, 07 Dec 2026 03:00:00 GMT",
            "body_hash": None, "next_poll_at": now + timedelta(seconds=1800 + i),
            "last_poll_at": now, "last_success_at": now, "first_failure_at": None,
            "consecutive_failures": 0, "last_error": None, "last_error_kind": None,
            "last_items_at": now, "consecutive_empty": 0, "consecutive_crashes": 0,
            "health": "ok", "polls": poll + 1}, None) for i in range(n)]
        records = [PollRecord(f"p{i}", now, ok=True, not_modified=True, error_kind=None,
                              error=None, new_documents=0, duplicates=0, elapsed_s=0.1)
                   for i in range(n)]
        start = time.thread_time()
        for j in range(0, n, batch):
            store.save_polls(outcomes[j:j + batch], records[j:j + batch])
        best = min(best, (time.thread_time() - start) / n)
    return best


def _appends(directory: Path, n: int) -> list[float]:
    from collector.store.corpus import Corpus

    corpus = Corpus(directory)
    corpus.adopt_empty(0)
    line = {"id": "0123456789abcdef", "seq": 1, "url": "https://example.org/2026/12/post",
            "title": "A statement of about sixty characters, as titles often are",
            "locations": []}
    quarter = n // 4
    out = []
    start = time.thread_time()
    for i in range(n):
        corpus.append_index([dict(line, seq=i + 1)], i + 1)
        if (i + 1) % quarter == 0:
            out.append((time.thread_time() - start) / quarter)
            start = time.thread_time()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tree", default=str(ROOT), help="checkout of collector to measure")
    p.add_argument("--rounds", type=int, default=10, help="seen_keys calls per source")
    p.add_argument("--batch", type=int, default=10, help="outcomes per save_polls call")
    p.add_argument("--appends", type=int, default=2000)
    args = p.parse_args(argv)
    sys.path.insert(0, str(Path(args.tree).resolve()))
    from collector.store import Store

    with tempfile.TemporaryDirectory(prefix="store-calls-") as tmp:
        work = Path(tmp)
        store = Store(f"sqlite:///{work / 'collector.db'}")
        store.upgrade()
        now = datetime.now(UTC)
        try:
            result = {
                "tree": args.tree,
                "seen_keys_ms": round(1000 * _seen_keys(store, now, args.rounds), 3),
                "save_polls_ms_per_outcome": round(1000 * _save_polls(store, now, args.batch),
                                                   3),
                "append_ms_by_quarter": [round(1000 * t, 3)
                                         for t in _appends(work / "documents", args.appends)],
            }
        finally:
            store.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
