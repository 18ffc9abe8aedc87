"""Precision and recall of article links found on listing pages without selectors.

Usage: .venv/bin/python bench/listing.py [--per-template N] [--seed S] [--split dev|heldout]
       [--verbose]

Builds the pages of bench/listing_sites/generate.py (13 templates × N, 39 by default, plus the
tables-of-documents and posts-on-another-host families: 7 templates × N of the chosen split),
runs collector.discover.page.find_links on each with no selectors, and compares the links found
with the true article links: precision = true found / found, recall = true found / true
(summed over all pages), overall and per layout family, plus the parse time per page. The
`heldout` split of the two new families is built from a seed no rule was written against.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from listing_sites.generate import build, build_families

from collector.discover.page import find_links


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-template", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--split", choices=["dev", "heldout"], default="dev")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    pages = build(args.per_template, args.seed) + build_families(args.per_template, args.split)
    per_family: dict[str, list[int]] = {}
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
        fam = per_family.setdefault(page.family, [0, 0, 0])
        fam[0] += hits
        fam[1] += len(found)
        fam[2] += len(truth)
        if args.verbose and (false_links or missed):
            print(f"{page.name}: false {false_links} missed {missed}")
    precision = hits_total / found_total if found_total else 0.0
    recall = hits_total / true_total if true_total else 0.0
    print(f"{'page':<16}{'true':>6}{'found':>7}{'false':>7}{'missed':>8}")
    for name, t, f, fp, fn in rows:
        print(f"{name:<16}{t:>6}{f:>7}{fp:>7}{fn:>8}")
    print(f"\n{'family':<22}{'precision':>10}{'recall':>8}")
    worst = 1.0
    for family, (hits, found_n, true_n) in per_family.items():
        p = hits / found_n if found_n else 0.0
        r = hits / true_n if true_n else 0.0
        worst = min(worst, p, r)
        print(f"{family:<22}{p:>10.3f}{r:>8.3f}")
    exact = sum(1 for r in rows if r[3] == 0 and r[4] == 0)
    print(f"\npages: {len(pages)} ({exact} exact), article links: {true_total}, found: "
          f"{found_total}, false: {found_total - hits_total}, missed: {true_total - hits_total}")
    print(f"precision: {precision:.3f}  recall: {recall:.3f}  (target ≥ 0.95 each)")
    print(f"time per page: median {statistics.median(times) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms")
    print(f"lowest precision or recall of a family: {worst:.3f}")
    return 0 if precision >= 0.95 and recall >= 0.95 and worst >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
