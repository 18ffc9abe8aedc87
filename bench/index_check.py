"""Benchmark of the start-up check of index.jsonl against the database (collector.store.corpus).

For corpora of several sizes (documents with one location each, in a SQLite file), measures
in the same run:

- the check when index and database agree (what every start costs: a counter read, a stat,
  a small file read);
- the full rewrite from a database snapshot (what a start costs when they disagree, and what
  every start would cost if the index were simply rewritten each time).

    .venv/bin/python bench/index_check.py                   # 1,000 / 10,000 / 50,000
    .venv/bin/python bench/index_check.py --sizes 1000 5000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector.config import Source
from collector.store import NewDocument, Store
from collector.store.corpus import Corpus

T0 = datetime(2024, 1, 1, tzinfo=UTC)
TEXT = "A statement\n\n" + "\n\n".join(["The workers of the port refused to load the ship, "
                                        "and the union called on others to follow."] * 12) + "\n"


def fill(store: Store, n: int) -> None:
    store.sync_sources([Source(id="s", name="S", url="https://example.org/feed",
                               kind="feed")], T0)
    for i in range(n):
        url = f"https://example.org/statements/{i}"
        store.insert_document(NewDocument(
            id=f"{i:016x}", source_id="s", url=url, canonical_url=url,
            url_key=f"example.org/statements/{i}", title=f"Statement {i}", text=TEXT,
            published_at=T0 + timedelta(minutes=i), content_hash=f"{i:064x}", signature=None,
            method="page", language="en", author=None, word_count=180, flags=(),
            backfill=False), seen_key=url, digests=[], now=T0 + timedelta(minutes=i))


def best_of(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'documents':>10} {'check (agrees)':>16} {'full rewrite':>14} {'index size':>12}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            measure(Path(tmp), n, args.runs)


def measure(tmp: Path, n: int, runs: int) -> None:
    store = Store(f"sqlite:///{tmp / 'collector.db'}")
    try:
        store.upgrade()
        fill(store, n)
        corpus = Corpus(tmp / "documents")

        def rewrite() -> None:
            with store.index_snapshot() as (generation, records):
                corpus.rewrite_index(records, generation)

        def check() -> None:
            assert corpus.agrees(store.index_generation())

        rewrite_s = best_of(rewrite, max(1, runs // 2))
        check_s = statistics.median(best_of(check, 1) for _ in range(runs * 20))
        print(f"{n:>10,} {check_s * 1e3:>13.3f} ms {rewrite_s:>12.3f} s "
              f"{corpus.index_path.stat().st_size / 2**20:>9.1f} MiB")
    finally:
        store.close()


if __name__ == "__main__":
    main()
