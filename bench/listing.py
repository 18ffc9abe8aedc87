"""Precision and recall of article links found on listing pages without selectors.

Usage: .venv/bin/python bench/listing.py [--per-template N] [--seed S] [--verbose]

Builds the pages of bench/listing_sites/generate.py (13 templates × N, 39 by default), runs
collector.discover.page.find_links on each with no selectors, and compares the links found with
the true article links: precision = true found / found, recall = true found / true (summed over
all pages), plus the worst pages and the parse time per page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from listing_sites.generate import build

from collector.discover.page import find_links


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-template", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    pages = build(args.per_template, args.seed)
    found_total = true_total = hits_total = 0
    rows, times = [], []
    for page in pages:
        start = time.perf_counter()
        found = [c.url for c in find_links(page.html, page.url)]
        times.append(time.perf_counter() - start)
        truth = set(page.truth)
        hits = sum(1 for u in found if u in truth)
        found_total += len(found)
        true_total += len(truth)
        hits_total += hits
        false_links = [u for u in found if u not in truth]
        missed = [u for u in page.truth if u not in found]
        rows.append((page.name, len(truth), len(found), len(false_links), len(missed)))
        if args.verbose and (false_links or missed):
            print(f"{page.name}: false {false_links} missed {missed}")
    precision = hits_total / found_total if found_total else 0.0
    recall = hits_total / true_total if true_total else 0.0
    print(f"{'page':<16}{'true':>6}{'found':>7}{'false':>7}{'missed':>8}")
    for name, t, f, fp, fn in rows:
        print(f"{name:<16}{t:>6}{f:>7}{fp:>7}{fn:>8}")
    exact = sum(1 for r in rows if r[3] == 0 and r[4] == 0)
    print(f"\npages: {len(pages)} ({exact} exact), article links: {true_total}, found: "
          f"{found_total}, false: {found_total - hits_total}, missed: {true_total - hits_total}")
    print(f"precision: {precision:.3f}  recall: {recall:.3f}  (target ≥ 0.95 each)")
    print(f"time per page: median {statistics.median(times) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms")
    return 0 if precision >= 0.95 and recall >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
