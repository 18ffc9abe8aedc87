"""Extract the first pages of a set's tuning part in one process: the work whose instructions
valgrind's callgrind counts for docs/extraction.md's speed figures (a loaded machine does not
move instruction counts, as it moves times).

Usage (from the repository root), the extraction's instructions being the difference:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=run.out \\
        .venv/bin/python bench/extract_loop.py run [--set NAME] [--pages N]
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=load.out \\
        .venv/bin/python bench/extract_loop.py load [--set NAME] [--pages N]

Both modes read the pages (each page's bytes, as fetched), import the date parser the date
stage imports on first use, and extract the part's last 20 pages (one-time costs: the
class-name caches' first fill, lazily built tables); `run` then extracts the first N pages
(100 by default) with the cyclic garbage collector off (its runs would move with the
allocations of a change). `callgrind_annotate` on the two outputs gives the costs by function.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from extract import NOW, load  # noqa: E402

from collector.extract import extract  # noqa: E402

WARM_PAGES = 20


def tuning_pages(name: str) -> list[tuple[bytes | str, str | None]]:
    """(bytes, URL) of every page of the set's tuning part, in the order of their names (as
    bench/extract.py reads them)."""
    return [(page.input, page.url) for page in load(name, {"tuning"}, None)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("run", "load"))
    ap.add_argument("--set", default="extraction",
                    choices=("extraction", "extraction-multilingual"))
    ap.add_argument("--pages", type=int, default=100)
    args = ap.parse_args()
    pages = tuning_pages(args.set)
    from dateutil import parser  # noqa: F401  (imported by the date stage on first use)

    for raw, url in pages[-WARM_PAGES:]:
        extract(raw, url=url, now=NOW)
    gc.disable()
    if args.mode == "run":
        for raw, url in pages[:args.pages]:
            extract(raw, url=url, now=NOW)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
