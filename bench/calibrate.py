"""Sweep the extractor's global thresholds that trade recall for precision, on the tuning
parts only, with bench/extract.py's loading and scoring.

    .venv/bin/python bench/calibrate.py [--threshold T ...] [--sibling S ...] [--prose-links L ...]

For every pair of the block classifier's decision threshold (`extract_blocks.MODEL`; a block
whose probability of being the article's is under it is dropped) and the prose share a
sibling of the container needs to join it (`extract_walk._SIBLING_PROSE_SHARE`) and the
largest share of a block's characters in links for it to count as prose
(`extract_walk._PROSE_MAX_LINK_SHARE`: prose weighs for the container, is not judged as a
link line and is judged by the classifier only at the container's edges), prints the
first set's tuning F1 and the multilingual tuning part's with / without / all-correct
shares, their with+without mean, and how many pages moved against the shipped setting
(helped / hurt: first set by F1, multilingual by with + without). Only our extractor runs,
so the loop takes seconds per setting. `--weights FILE` tries the classifier's weights of
FILE (as bench/train_blocks.py writes them) at the thresholds given. The untouched parts
are never read here.
"""

from __future__ import annotations

import argparse
import sys
from itertools import product
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import extract as bench  # noqa: E402

from collector import extract_blocks, extract_walk  # noqa: E402

GRID_THRESHOLD = (0.10, 0.15, 0.20, 0.25, 0.30)
GRID_SIBLING = (0.5, 0.55, 0.6, 0.7)
GRID_PROSE_LINKS = (0.35,)


def measure(full: list, snippets: list) -> tuple[dict, dict]:
    f = bench.score_full(full, [bench.run_ours(p) for p in full])
    s = bench.score_snippets(snippets, [bench.run_ours(p) for p in snippets])
    return f, s


def moved(base: dict, now: dict, key) -> tuple[int, int]:
    up = down = 0
    for pid, b in base.items():
        d = key(now[pid]) - key(b)
        if d > 1e-9:
            up += 1
        elif d < -1e-9:
            down += 1
    return up, down


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threshold", type=float, action="append")
    ap.add_argument("--sibling", type=float, action="append")
    ap.add_argument("--prose-links", type=float, action="append")
    ap.add_argument("--weights", type=Path,
                    help="the classifier's weights from this file (as bench/train_blocks.py "
                         "writes it) instead of the shipped ones; pages moved are still "
                         "counted against the shipped weights and setting")
    args = ap.parse_args()
    shipped = extract_blocks.MODEL
    if shipped is None:
        print("no classifier weights (collector/extract_blocks.json)", file=sys.stderr)
        return 1
    candidate = extract_blocks.Model.load(args.weights) if args.weights else shipped
    if candidate is None:
        print(f"{args.weights}: no such weights file", file=sys.stderr)
        return 1
    weights = [float(w) for w in candidate.weights]
    base_setting = (round(shipped.threshold, 6), extract_walk._SIBLING_PROSE_SHARE,
                    extract_walk._PROSE_MAX_LINK_SHARE)
    full = bench.load(bench.FULL, {"tuning"}, None)
    snippets = bench.load(bench.SNIPPETS, {"tuning"}, None)
    base_f, base_s = measure(full, snippets)
    print("| classifier threshold | sibling prose share | prose link share | first set F1 | "
          "pages +/- | with | without | all-correct | (with+without)/2 | pages +/- |")
    print("|---:|---:|---:|---:|---|---:|---:|---:|---:|---|")
    try:
        for t, s, lk in product(args.threshold or GRID_THRESHOLD, args.sibling or GRID_SIBLING,
                                args.prose_links or GRID_PROSE_LINKS):
            extract_blocks.MODEL = extract_blocks.Model(weights, t)
            extract_walk._SIBLING_PROSE_SHARE = s
            extract_walk._PROSE_MAX_LINK_SHARE = lk
            f, sn = measure(full, snippets)
            _n, w, wo, ok = sn["groups"]["all"]
            fu, fd = moved(base_f["per_page"], f["per_page"], lambda v: v[2])
            su, sd = moved(base_s["per_page"], sn["per_page"], lambda v: v[0] + v[1])
            mark = " (shipped)" if (t, s, lk) == base_setting and not args.weights else ""
            print(f"| {t:.2f}{mark} | {s:.2f} | {lk:.2f} | {f['F1']:.5f} | {fu} / {fd} | "
                  f"{w:.5f} | {wo:.5f} | {ok:.5f} | {(w + wo) / 2:.5f} | {su} / {sd} |",
                  flush=True)
    finally:
        extract_blocks.MODEL = shipped
        extract_walk._SIBLING_PROSE_SHARE = base_setting[1]
        extract_walk._PROSE_MAX_LINK_SHARE = base_setting[2]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
