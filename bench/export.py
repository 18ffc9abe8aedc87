"""Benchmark of `collector export`: time, output size and memory of each format as the corpus
grows, against the corpus-directory export (the default) as the peer.

A SQLite store is filled with N synthetic statements (about 3 KB of text each); then each
export runs in a fresh process, which reports its wall time and the peak of the memory the
export allocated (Python's allocations, traced with tracemalloc from the start of the export,
plus the peak of Arrow's memory pool for Parquet). The file formats read 500 statements a
transaction (collector.store.query), so their memory should stay flat as N grows; the
directory export builds index.jsonl in memory.

    .venv/bin/python bench/export.py                     # N = 1,000 and 5,000
    .venv/bin/python bench/export.py --sizes 500 20000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector.config import Source
from collector.document import document_id, render
from collector.store import NewDocument, Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FORMATS = ("jsonl", "csv", "parquet", "dir")
PARAGRAPH = ("The committee calls on every worker of the harbour to join the strike on "
             "Monday, for wages that keep up with prices and for the right to organise. ")


def fill(url: str, n: int) -> None:
    store = Store(url)
    store.upgrade()
    store.sync_sources([Source(id="s", name="S", url="http://127.0.0.1:9/")], T0)
    for i in range(n):
        address = f"http://127.0.0.1:9/s/{i}/"
        paragraphs = [f"Paragraph {j} of statement {i}. " + PARAGRAPH * 3 for j in range(5)]
        store.add_document(NewDocument(
            id=document_id(address), source_id="s", url=address, canonical_url=address,
            url_key=address, title=f"Statement {i}", text=render(f"Statement {i}", paragraphs),
            published_at=T0 + timedelta(minutes=i), content_hash=f"{i:064x}", signature=None,
            method="page", language="en", author=None, word_count=400, flags=(),
            backfill=False), seen_key=address, digests=[], now=T0 + timedelta(minutes=i))
    store.close()


def child(url: str, fmt: str, out: Path) -> None:
    """One export in this process; prints its figures as JSON."""
    from collector import export
    from collector.selection import Selection
    from collector.store.browse import Filters

    if fmt == "parquet":
        import pyarrow.parquet  # its import is not the export's memory

    store = Store(url)
    store.count_documents()  # the engine connected before the measurement
    tracemalloc.start()
    started = time.perf_counter()
    if fmt == "dir":
        count = export.export_directory(store, out)
        size = sum(p.stat().st_size for p in out.iterdir())
    else:
        with out.open("wb") as fh:
            count = export.export(export.Job(store, Selection(Filters()), text=True), fmt,
                                  fh).count
        size = out.stat().st_size
    elapsed = time.perf_counter() - started
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    arrow = 0
    if fmt == "parquet":
        import pyarrow

        arrow = pyarrow.default_memory_pool().max_memory()
    store.close()
    print(json.dumps({"count": count, "seconds": elapsed, "heap_peak": peak + arrow,
                      "bytes": size}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--child", nargs=3, metavar=("URL", "FORMAT", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], Path(args.child[2]))
        return
    results: dict[int, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            url = f"sqlite:///{tmp}/n{n}.db"
            fill(url, n)
            results[n] = {}
            for fmt in FORMATS:
                out = Path(tmp) / f"out-{n}.{fmt}"
                done = subprocess.run([sys.executable, __file__, "--child", url, fmt, str(out)],
                                      capture_output=True, text=True, check=True)
                results[n][fmt] = json.loads(done.stdout)
    print(f"{'N':>7} {'format':8} {'seconds':>8} {'stmts/s':>8} {'MB out':>8} "
          f"{'peak MB':>8}")
    for n, by_format in results.items():
        for fmt, r in by_format.items():
            assert r["count"] == n, (fmt, r)
            print(f"{n:>7} {fmt:8} {r['seconds']:8.2f} {n / r['seconds']:8.0f} "
                  f"{r['bytes'] / 1e6:8.1f} {r['heap_peak'] / 1e6:8.1f}")
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"\nmemory growth at N={large} over N={small} (1.0 = flat):")
        for fmt in FORMATS:
            a = max(results[small][fmt]["heap_peak"], 1)
            b = results[large][fmt]["heap_peak"]
            print(f"  {fmt:8} {b / a:5.1f}x")
        print(f"\ntime against the directory export at N={large}:")
        for fmt in FORMATS:
            ratio = results[large][fmt]["seconds"] / results[large]["dir"]["seconds"]
            print(f"  {fmt:8} {ratio:5.2f}x")


if __name__ == "__main__":
    main()
