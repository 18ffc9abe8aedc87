"""Train the block classifier (collector/extract_blocks.py) on the tuning parts only.

    .venv/bin/python bench/train_blocks.py        # writes collector/extract_blocks.json

Labels come from the truth of the tuning pages of both shared sets (bench/extract_split.json):

- `../shared/extraction/`: a chosen block whose text (white space collapsed) occurs in the
  page's true text is article (1); one of whose word tokens fewer than 30 % occur in the true
  text is furniture (0); anything between is left out.
- `../shared/extraction-multilingual/`: a chosen block holding one of the page's `without`
  snippets is furniture (0); one holding a `with` snippet is article (1); others are left out.

The model is a logistic regression (numpy, full-batch gradient descent from zero weights for a
fixed number of steps, classes weighted to equal mass, small L2): deterministic, so the same
data give the same weights. The threshold is then chosen on the same tuning pages, among a
fixed grid: the probability under which a block is dropped that gives the highest all-correct
share on the second set while costing at most `F1_COST` of F1 on the first and `WITH_COST` of
the second's with-found share, both against the extractor without the classifier (the
classifier is for furniture the rules leave; it must not buy that with the article's own
lines). The
untouched parts are never read here.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
OUT = ROOT / "collector" / "extract_blocks.json"
# the weights are made anew: the extractor must not load old ones (they may be for other
# features) while the pages are walked for training
OUT.unlink(missing_ok=True)

import extract as bench  # noqa: E402

from collector import extract_blocks, extract_clean, extract_walk  # noqa: E402
from collector.parse_worker import precheck_html  # noqa: E402

STEPS = 3000
RATE = 0.5
L2 = 1e-3
GRID = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)
F1_COST = 0.001
WITH_COST = 0.005


def page_rows(html: str) -> list[tuple[str, list[float]]]:
    """(clean block text, feature row) for each block the walk chooses on the page."""
    tree = extract_walk.LexborHTMLParser(precheck_html(html.encode("utf-8", "replace")),
                                         options=extract_walk.PARSE_OPTIONS)
    root = extract_walk.body_root(tree)
    if root is None:
        return []
    w = extract_walk.Walk(True, root)
    w.enter(root.tag_id)
    w.walk(root)
    w.leave()
    keep = w.chosen()
    if not keep:
        return []
    todo, rows = extract_clean.block_rows(w, keep)
    return [(bench.squash(extract_walk.clean(w.blocks[keep[k]])), row)
            for k, row in zip(todo, rows, strict=True)]


def labelled() -> tuple[np.ndarray, np.ndarray]:
    xs: list[list[float]] = []
    ys: list[float] = []
    for page in bench.load(bench.FULL, {"tuning"}, None):
        truth = bench.squash(page.text or "")
        truth_bag = Counter(bench.tokens(truth))
        for text, row in page_rows(page.html):
            if not text:
                continue
            if text in truth:
                xs.append(row)
                ys.append(1.0)
                continue
            toks = bench.tokens(text)
            if toks and sum(t in truth_bag for t in toks) < 0.3 * len(toks):
                xs.append(row)
                ys.append(0.0)
    for page in bench.load(bench.SNIPPETS, {"tuning"}, None):
        for text, row in page_rows(page.html):
            if any(s in text for s in page.without):
                xs.append(row)
                ys.append(0.0)
            elif any(s in text for s in page.with_):
                xs.append(row)
                ys.append(1.0)
    return np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64)


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    pos = y.sum()
    neg = len(y) - pos
    weight = np.where(y == 1.0, 0.5 / pos, 0.5 / neg)
    w = np.zeros(x.shape[1])
    for _ in range(STEPS):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (weight * (p - y)) + L2 * np.r_[0.0, w[1:]]
        w -= RATE * grad
    return w


def tuning_score(model: extract_blocks.Model | None,
                 full: list, snippets: list) -> tuple[float, float, float]:
    """(F1 on the first set's tuning part, all-correct and with-found shares on the
    second's)."""
    saved = extract_blocks.MODEL
    extract_blocks.MODEL = model
    try:
        outs = [bench.run_ours(p) for p in full]
        f1 = bench.score_full(full, outs)["F1"]
        outs = [bench.run_ours(p) for p in snippets]
        group = bench.score_snippets(snippets, outs)["groups"]["all"]
    finally:
        extract_blocks.MODEL = saved
    return f1, group[3], group[1]


def main() -> int:
    x, y = labelled()
    print(f"{len(y)} labelled blocks, {int(y.sum())} article, {int(len(y) - y.sum())} furniture",
          file=sys.stderr)
    w = fit(x, y)
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    print(f"training accuracy at 0.5: {((p >= 0.5) == (y == 1.0)).mean():.3f}", file=sys.stderr)
    full = bench.load(bench.FULL, {"tuning"}, None)
    snippets = bench.load(bench.SNIPPETS, {"tuning"}, None)
    base = tuning_score(None, full, snippets)
    print(f"without the classifier: F1 {base[0]:.4f}, all-correct {base[1]:.4f}, "
          f"with {base[2]:.4f}", file=sys.stderr)
    best = (base[1], None)
    weights = [round(float(v), 6) for v in w]
    for t in GRID:
        f1, ok, found = tuning_score(extract_blocks.Model(weights, t), full, snippets)
        print(f"threshold {t:.2f}: F1 {f1:.4f}, all-correct {ok:.4f}, with {found:.4f}",
              file=sys.stderr)
        if ok > best[0] and f1 >= base[0] - F1_COST and found >= base[2] - WITH_COST:
            best = (ok, t)
    if best[1] is None:
        print("the classifier does not help on the tuning parts: no weights written",
              file=sys.stderr)
        OUT.unlink(missing_ok=True)
        return 0
    OUT.write_text(json.dumps({
        "features": list(extract_blocks.FEATURES), "weights": weights, "threshold": best[1],
        "trained_on": "tuning parts of ../shared/extraction and "
                      "../shared/extraction-multilingual (bench/extract_split.json)",
        "labelled_blocks": len(y),
    }, indent=1) + "\n", "utf-8")
    print(f"threshold {best[1]} written to {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
