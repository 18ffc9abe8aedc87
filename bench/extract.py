"""Main-text extraction benchmark: collector.extract vs trafilatura vs readability-lxml.

Usage (from the repository root):

    .venv/bin/python bench/extract.py [--data ../shared/extraction] [--limit N] [--only NAME]
                                      [--worst N] [--json OUT]

Pages are read and decompressed before any clock starts. Every extractor then runs over the
same pages, one after another, in this one process (one core). For each it prints:

- P, R, F1: word-token precision, recall and F1 per page, then averaged over pages. Tokens are
  the maximal runs of Unicode word characters (regex `\\w+`), lower-cased; prediction and truth
  are bags (multisets) of tokens and the overlap is the size of their multiset intersection
  (P = overlap / predicted tokens, R = overlap / true tokens, F1 their harmonic mean). An empty
  prediction scores 0 on all three; a page whose truth is empty is skipped. This is the
  scrapinghub article-extraction-benchmark way of averaging per page, on single tokens.
- F1(4): the same on 4-token shingles (the scrapinghub benchmark's own unit), for reference.
- title: share of pages whose extracted title equals the truth title after case-folding and
  dropping everything but letters and digits.
- date: on pages whose truth has a date, share where the extracted date's day (YYYY-MM-DD,
  or YYYY-MM when the truth only has a month) equals the truth's. Our dates are in UTC.
- pages/s: pages divided by the CPU time of this (single-threaded) process spent in the
  extraction calls alone: parse + extract, including our pre-check and readability's text
  conversion. Extractors take turns in batches of 20 pages. trafilatura's metadata run for
  title/date happens afterwards and is not timed, so its speed is flattered, not ours.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collector.extract import extract  # noqa: E402

TOKEN = re.compile(r"\w+")
BATCH = 20  # pages each extractor runs before the next one takes its turn
NOW = datetime(2026, 6, 1, tzinfo=UTC)  # after every page of the set was captured


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def shingles(toks: list[str], n: int = 4) -> list[tuple[str, ...]]:
    if len(toks) < n:
        return [tuple(toks)] if toks else []
    return [tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)]


def prf(pred: list, true: list) -> tuple[float, float, float]:
    if not pred or not true:
        return 0.0, 0.0, 0.0
    overlap = sum((Counter(pred) & Counter(true)).values())
    p = overlap / len(pred)
    r = overlap / len(true)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def norm_title(t: str | None) -> str:
    return re.sub(r"[\W_]+", "", (t or "").casefold())


class Page:
    __slots__ = ("date", "html", "id", "text", "title", "url")

    def __init__(self, pid: str, html: str, truth: dict, text: str):
        self.id = pid
        self.html = html
        self.url = truth.get("url")
        self.title = truth.get("title")
        self.date = truth.get("date")
        self.text = text


def load(data: Path, limit: int | None) -> list[Page]:
    pages = []
    for path in sorted((data / "pages").glob("*.html.gz"))[:limit]:
        pid = path.name.split(".")[0]
        truth = json.loads((data / "truth" / f"{pid}.json").read_text("utf-8"))
        text = (data / "truth" / f"{pid}.txt").read_text("utf-8")
        html = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        pages.append(Page(pid, html, truth, text))
    return pages


# Each runner returns (body text, title, date as YYYY-MM-DD or None).

def run_ours(page: Page) -> tuple[str, str | None, str | None]:
    r = extract(page.html, url=page.url, now=NOW)
    return "\n\n".join(r.blocks), r.title, (r.published.date().isoformat()
                                             if r.published else None)


def run_trafilatura(page: Page) -> tuple[str, str | None, str | None]:
    import trafilatura

    return trafilatura.extract(page.html, url=page.url) or "", None, None


def meta_trafilatura(page: Page) -> tuple[str | None, str | None]:
    from trafilatura.metadata import extract_metadata

    m = extract_metadata(page.html, default_url=page.url)
    return (m.title, m.date) if m is not None else (None, None)


def run_readability(page: Page) -> tuple[str, str | None, str | None]:
    from lxml import html as lxml_html
    from readability import Document

    doc = Document(page.html, url=page.url)
    summary = doc.summary(html_partial=True)
    root = lxml_html.fromstring(summary) if summary.strip() else None
    text = root.text_content() if root is not None else ""
    return text, doc.short_title(), None


RUNNERS: dict[str, Callable[[Page], tuple[str, str | None, str | None]]] = {
    "collector": run_ours,
    "trafilatura": run_trafilatura,
    "readability": run_readability,
}


def run_all(names: list[str], pages: list[Page]) -> dict[str, tuple[list, float, int]]:
    """Every extractor on every page, taking turns in batches of BATCH pages, so that whatever
    else the machine is doing weighs on all of them alike while each runs with its own data
    in the caches (as it would in a worker of its own); time is this process's CPU time."""
    outputs: dict[str, list] = {name: [] for name in names}
    spent = dict.fromkeys(names, 0.0)
    failures = dict.fromkeys(names, 0)
    clock = time.process_time
    for at in range(0, len(pages), BATCH):
        for name in names:
            runner = RUNNERS[name]
            for page in pages[at:at + BATCH]:
                start = clock()
                try:
                    out = runner(page)
                except Exception:  # a crashing extractor scores 0 on that page
                    failures[name] += 1
                    out = ("", None, None)
                spent[name] += clock() - start
                outputs[name].append(out)
    return {name: (outputs[name], spent[name], failures[name]) for name in names}


def evaluate(name: str, pages: list[Page], outputs: list, elapsed: float, failures: int) -> dict:
    if name == "trafilatura":  # metadata outside the timed loop
        outputs = [(o[0], *meta_trafilatura(p)) for o, p in zip(outputs, pages, strict=True)]
    ps, rs, fs, f4s, per_page = [], [], [], [], {}
    titles = dates = dated = 0
    for page, (text, title, date) in zip(pages, outputs, strict=True):
        true_toks = tokens(page.text)
        if not true_toks:
            continue
        pred_toks = tokens(text)
        p, r, f = prf(pred_toks, true_toks)
        _, _, f4 = prf(shingles(pred_toks), shingles(true_toks))
        ps.append(p)
        rs.append(r)
        fs.append(f)
        f4s.append(f4)
        per_page[page.id] = (p, r, f)
        titles += bool(title) and norm_title(title) == norm_title(page.title)
        if page.date:
            dated += 1
            dates += bool(date) and date[: len(page.date)] == page.date
    n = len(fs)
    return {
        "name": name, "pages": n, "P": sum(ps) / n, "R": sum(rs) / n, "F1": sum(fs) / n,
        "F1_4": sum(f4s) / n, "title": titles / n, "date": dates / max(1, dated),
        "dated": dated, "pages_per_s": len(pages) / elapsed, "failures": failures,
        "per_page": per_page,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / ".." / "shared" / "extraction")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--only", action="append", choices=sorted(RUNNERS))
    ap.add_argument("--worst", type=int, default=0, help="list our N worst pages by F1")
    ap.add_argument("--json", type=Path, help="write per-page scores here")
    args = ap.parse_args()
    pages = load(args.data, args.limit)
    names = args.only or list(RUNNERS)
    runs = run_all(names, pages)
    results = [evaluate(name, pages, *runs[name]) for name in names]
    print(f"{len(pages)} pages from {args.data.resolve()}")
    print(f"{'extractor':<12} {'P':>6} {'R':>6} {'F1':>6} {'F1(4)':>6} {'title':>6} "
          f"{'date':>6} {'pages/s':>8}")
    for r in results:
        print(f"{r['name']:<12} {r['P']:6.3f} {r['R']:6.3f} {r['F1']:6.3f} {r['F1_4']:6.3f} "
              f"{r['title']:6.3f} {r['date']:6.3f} {r['pages_per_s']:8.1f}"
              + (f"  ({r['failures']} failed)" if r["failures"] else ""))
    by = {r["name"]: r for r in results}
    if "collector" in by and "trafilatura" in by:
        ours, traf = by["collector"], by["trafilatura"]
        print(f"F1 difference (collector - trafilatura): {ours['F1'] - traf['F1']:+.3f}; "
              f"speed ratio: {ours['pages_per_s'] / traf['pages_per_s']:.1f}x")
    if args.worst and "collector" in by:
        worst = sorted(by["collector"]["per_page"].items(), key=lambda kv: kv[1][2])
        for pid, (p, r, f) in worst[: args.worst]:
            print(f"  {pid}  P={p:.2f} R={r:.2f} F1={f:.2f}")
    if args.json:
        args.json.write_text(json.dumps({r["name"]: r for r in results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
