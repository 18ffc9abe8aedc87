"""CPU per stored document: the storing stage alone (dedup, store, corpus file, WARC capture).

Stores `--n` new documents (distinct URLs and texts, about 400 words each, with a fetch to
capture) through `Storing.store_text` into a fresh SQLite store, after `--prior` documents
stored the same way (so that the near-duplicate index and the tables are not empty), with
`--concurrency` texts in flight at once like a poll's. Prints CPU seconds of the process (all
threads) per document, wall time, and the SQL statements and commits per document, counted
with SQLAlchemy's engine events. Several `--rounds` give a median.

    .venv/bin/python -m bench.storing --n 200 --rounds 3
    .venv/bin/python -m bench.storing --tree /tmp/base    # another checkout, same measurement
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_VOCAB_SEED = 7


def _text(rng: random.Random, vocab: list[str], words: int) -> tuple[str, ...]:
    blocks = []
    left = words
    while left > 0:
        n = min(left, rng.randint(30, 80))
        blocks.append(" ".join(rng.choice(vocab) for _ in range(n)).capitalize() + ".")
        left -= n
    return tuple(blocks)


async def _measure(n: int, prior: int, concurrency: int, work: Path) -> dict[str, float]:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from collector.body import Body
    from collector.config import load_config
    from collector.models import Candidate, Extracted, Fetched, Wire
    from collector.store import Store
    from collector.storing import Storing

    counts: collections.Counter[str] = collections.Counter()

    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, params, context, executemany):  # type: ignore
        counts["statements"] += 1

    @event.listens_for(Engine, "commit")
    def _commit(conn):  # type: ignore
        counts["commits"] += 1

    config_path = work / "sources.yaml"
    config_path.write_text(
        f"settings:\n  data_dir: {work / 'data'}\nsources:\n"
        + "".join(f"  - id: s{i:03d}\n    url: http://127.0.0.1:9/s{i:03d}/feed.xml\n"
                  f"    kind: feed\n" for i in range(50)), encoding="utf-8")
    config = load_config(config_path)
    store = Store(config.settings.database_url)
    store.upgrade()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    store.sync_sources(config.sources, now)
    storing = Storing(config, store, clock=lambda: now)
    await storing.reconcile_corpus()
    rng = random.Random(_VOCAB_SEED)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))
             for _ in range(5000)]
    body = b"<html><body>" + b"x" * 30_000 + b"</body></html>"

    def item(i: int) -> tuple[object, Candidate, str, str, Extracted]:
        source = config.sources[i % len(config.sources)]
        url = (f"http://127.0.0.1:9/{source.id}/news/2026/12/"
               f"statement-on-the-matter-of-item-number-{i}-and-its-consequences")
        fetched_at = now
        wire = Wire(url=url, status=200,
                    request=f"GET {url} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n".encode(),
                    response=b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n"
                             + f"content-length: {len(body)}\r\n\r\n".encode() + body,
                    fetched_at=fetched_at, decoded_digest="sha256:" + "0" * 64,
                    decoded_length=len(body))
        fetched = Fetched(url=url, final_url=url, status=200,
                          headers={"content-type": "text/html"}, body=Body(body), wire=wire,
                          fetched_at=fetched_at)
        ex = Extracted(title=f"Statement number {i} on the matter", blocks=_text(rng, vocab, 400),
                       published=now, canonical_url=url, language="en", fetched=fetched)
        cand = Candidate(key=f"{url}#guid", url=url, title=ex.title, published=now)
        return source, cand, cand.key, url, ex

    async def store_all(items: list[tuple[object, Candidate, str, str, Extracted]]) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(it: tuple[object, Candidate, str, str, Extracted]) -> None:
            async with gate:
                action = await storing.store_text(it[0], it[1], it[2], it[3], it[4],  # type: ignore[arg-type]
                                                  False)
                assert action == "new", action

        await asyncio.gather(*(one(it) for it in items))
        await storing.flush_index()

    await store_all([item(i) for i in range(prior)])
    items = [item(prior + i) for i in range(n)]
    counts.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    await store_all(items)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    storing.close_files()
    store.close()
    return {"cpu_ms_per_doc": round(1000 * cpu / n, 2), "wall_s": round(wall, 2),
            "statements_per_doc": round(counts["statements"] / n, 2),
            "commits_per_doc": round(counts["commits"] / n, 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--prior", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tree", default=str(ROOT), help="checkout of collector to measure")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        work = Path(tempfile.mkdtemp(prefix="bench-storing-"))
        try:
            print(json.dumps(asyncio.run(_measure(args.n, args.prior, args.concurrency,
                                                  work))))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    rows = []
    for _ in range(args.rounds):
        out = subprocess.run(
            # this file run as a script: `collector` comes from the tree measured
            [sys.executable, str(Path(__file__).resolve()), "--child", "--n", str(args.n),
             "--prior", str(args.prior), "--concurrency", str(args.concurrency)],
            cwd=ROOT, env={"PYTHONPATH": str(Path(args.tree).resolve()),
                           "PATH": "/usr/bin:/bin"},
            check=True, capture_output=True, text=True, timeout=900)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"median_cpu_ms_per_doc": statistics.median(
        r["cpu_ms_per_doc"] for r in rows), "tree": str(Path(args.tree).resolve())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
