"""Main-text extraction benchmark: collector.extract vs trafilatura vs readability-lxml.

Usage (from the repository root):

    .venv/bin/python bench/extract.py [--part tuning|untouched|both] [--set NAME]
                                      [--only NAME] [--limit N] [--worst N] [--json OUT]

Two sets, each split by host into a tuning part and an untouched part (bench/split.py; the
committed list bench/extract_split.json decides). Pages are read and decompressed before any
clock starts. Every extractor then runs over the same pages, one after another, in this one
process (one core); readability-lxml runs on the first set only. Printed, for each part:

- `../shared/extraction/` (full-text truth): P, R, F1 — word-token precision, recall and F1
  per page, then averaged over pages. Tokens are the maximal runs of Unicode word characters
  (regex `\\w+`), lower-cased; prediction and truth are bags (multisets) of tokens and the
  overlap is the size of their multiset intersection. The prediction is the stored document
  without its title line (the body blocks). An empty prediction scores 0; a page whose truth
  is empty is skipped. title: share of pages whose extracted title equals the truth title
  after case-folding and dropping everything but letters and digits. date: on pages whose
  truth has a date, share where the extracted day (YYYY-MM-DD, or YYYY-MM when the truth only
  has a month) equals the truth's. Our dates are in UTC.
- `../shared/extraction-multilingual/` (snippet truth, its README's measure): per page, the
  share of `with` snippets found in the body and the share of `without` snippets absent
  (white space collapsed, NFC on both sides), averaged over pages; and all-correct, the share
  of pages where every `with` is found and no `without` is. Also by script group of the page
  (the script of most letters of its `with` snippets: Latin, Cyrillic, CJK, Arabic/Hebrew,
  other).
- pages/s: pages divided by the CPU time of this (single-threaded) process spent in the
  extraction calls alone, and the ratio to trafilatura's. Extractors take turns in batches of
  20 pages. trafilatura's metadata run for title/date happens afterwards and is not timed, so
  its speed is flattered, not ours.

`--input bytes` (the default) gives every extractor each page's bytes as they were fetched,
as the service gives them to its extractor: each decodes them by its own rules (ours: BOM,
header, meta, detection; a body that is valid UTF-8 with multi-byte sequences is UTF-8).
`--input text` gives them the bytes decoded as UTF-8 (errors replaced), as runs before
2026-12-07 did: our extractor then spends about a tenth of its time encoding that text back
to UTF-8 for lexbor.

`--worst N` lists our N worst pages of the tuning part only: the untouched part is for the
report, never for looking at.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from split import compute as compute_split  # noqa: E402
from split import load as load_split  # noqa: E402

from collector.extract import extract  # noqa: E402

DATA = ROOT / ".." / "shared"
FULL, SNIPPETS = "extraction", "extraction-multilingual"
TOKEN = re.compile(r"\w+")
BATCH = 20  # pages each extractor runs before the next one takes its turn
NOW = datetime(2026, 6, 1, tzinfo=UTC)  # after every page of the sets was captured
PARTS = ("tuning", "untouched")
SCRIPTS = ("Latin", "Cyrillic", "CJK", "Arabic/Hebrew", "other")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def prf(pred: list, true: list) -> tuple[float, float, float]:
    if not pred or not true:
        return 0.0, 0.0, 0.0
    overlap = sum((Counter(pred) & Counter(true)).values())
    p = overlap / len(pred)
    r = overlap / len(true)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def norm_title(t: str | None) -> str:
    return re.sub(r"[\W_]+", "", (t or "").casefold())


def squash(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def script_of(texts: list[str]) -> str:
    """The script group of most letters in these texts."""
    counts: Counter[str] = Counter()
    for ch in "".join(texts):
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith("LATIN"):
            counts["Latin"] += 1
        elif name.startswith("CYRILLIC"):
            counts["Cyrillic"] += 1
        elif name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL")):
            counts["CJK"] += 1
        elif name.startswith(("ARABIC", "HEBREW")):
            counts["Arabic/Hebrew"] += 1
        else:
            counts["other"] += 1
    return counts.most_common(1)[0][0] if counts else "other"


class Page:
    __slots__ = ("date", "html", "id", "input", "part", "script", "text", "title", "url",
                 "with_", "without")

    def __init__(self, pid: str, part: str, raw: bytes, truth: dict, text: str | None,
                 as_bytes: bool):
        self.id = pid
        self.part = part
        # the text, as the earlier runs gave every extractor (bytes that are not UTF-8 are
        # replaced); `input` is what the extractors are given: these bytes or that text
        self.html = raw.decode("utf-8", errors="replace")
        self.input: bytes | str = raw if as_bytes else self.html
        self.url = truth.get("url")
        self.title = truth.get("title")
        self.date = truth.get("date")
        self.text = text
        self.with_ = [squash(s) for s in truth.get("with", [])]
        self.without = [squash(s) for s in truth.get("without", [])]
        self.script = script_of(self.with_)


def load(name: str, parts: set[str], limit: int | None, as_bytes: bool = True) -> list[Page]:
    split = load_split()[name]
    pages = []
    data = DATA / name
    for path in sorted((data / "pages").glob("*.html.gz")):
        pid = path.name.removesuffix(".html.gz")
        part = "untouched" if pid in split["untouched"] else "tuning"
        if part not in parts:
            continue
        truth = json.loads((data / "truth" / f"{pid}.json").read_text("utf-8"))
        txt = data / "truth" / f"{pid}.txt"
        text = txt.read_text("utf-8") if txt.exists() else None
        raw = gzip.decompress(path.read_bytes())
        pages.append(Page(pid, part, raw, truth, text, as_bytes))
        if limit and len(pages) >= limit:
            break
    return pages


# Each runner returns (body text, title, date as YYYY-MM-DD or None).

def run_ours(page: Page) -> tuple[str, str | None, str | None]:
    r = extract(page.input, url=page.url, now=NOW)
    return "\n\n".join(r.blocks), r.title, (r.published.date().isoformat()
                                             if r.published else None)


def run_trafilatura(page: Page) -> tuple[str, str | None, str | None]:
    return trafilatura.extract(page.input, url=page.url) or "", None, None


def meta_trafilatura(page: Page) -> tuple[str | None, str | None]:
    m = extract_metadata(page.html, default_url=page.url)
    return (m.title, m.date) if m is not None else (None, None)


def run_readability(page: Page) -> tuple[str, str | None, str | None]:
    doc = Document(page.input, url=page.url)
    summary = doc.summary(html_partial=True)
    root = lxml_html.fromstring(summary) if summary.strip() else None
    text = root.text_content() if root is not None else ""
    return text, doc.short_title(), None


try:  # the peers are bench dependencies only: `--only collector` runs without them
    import trafilatura
    from lxml import html as lxml_html
    from readability import Document
    from trafilatura.metadata import extract_metadata
except ImportError:  # pragma: no cover
    trafilatura = None  # type: ignore[assignment]

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


def score_full(pages: list[Page], outputs: list) -> dict:
    ps, rs, fs, per_page = [], [], [], {}
    titles = dates = dated = 0
    for page, (text, title, date) in zip(pages, outputs, strict=True):
        true_toks = tokens(page.text or "")
        if not true_toks:
            continue
        p, r, f = prf(tokens(text), true_toks)
        ps.append(p)
        rs.append(r)
        fs.append(f)
        per_page[page.id] = (p, r, f)
        titles += bool(title) and norm_title(title) == norm_title(page.title)
        if page.date:
            dated += 1
            dates += bool(date) and date[: len(page.date)] == page.date
    n = max(1, len(fs))
    return {"pages": len(fs), "P": sum(ps) / n, "R": sum(rs) / n, "F1": sum(fs) / n,
            "title": titles / n, "date": dates / max(1, dated), "dated": dated,
            "per_page": per_page}


def score_snippets(pages: list[Page], outputs: list) -> dict:
    """{group: (pages, with-found, without-absent, all-correct)} with group "all" too."""
    acc: dict[str, list[float]] = {}
    per_page = {}
    for page, (text, _title, _date) in zip(pages, outputs, strict=True):
        body = squash(text)
        found = sum(s in body for s in page.with_)
        absent = sum(s not in body for s in page.without)
        w = found / len(page.with_) if page.with_ else 1.0
        wo = absent / len(page.without) if page.without else 1.0
        ok = float(found == len(page.with_) and absent == len(page.without))
        per_page[page.id] = (w, wo, ok)
        for group in ("all", page.script):
            a = acc.setdefault(group, [0, 0.0, 0.0, 0.0])
            a[0] += 1
            a[1] += w
            a[2] += wo
            a[3] += ok
    return {"groups": {g: (int(a[0]), a[1] / a[0], a[2] / a[0], a[3] / a[0])
                       for g, a in acc.items()}, "per_page": per_page}


def with_meta(name: str, pages: list[Page], outputs: list) -> list:
    if name != "trafilatura":
        return outputs
    return [(o[0], *meta_trafilatura(p)) for o, p in zip(outputs, pages, strict=True)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("tuning", "untouched", "both"), default="both")
    ap.add_argument("--set", action="append", choices=(FULL, SNIPPETS), dest="sets")
    ap.add_argument("--limit", type=int, help="at most N pages of each set")
    ap.add_argument("--only", action="append", choices=sorted(RUNNERS))
    ap.add_argument("--worst", type=int, default=0, help="list our N worst tuning pages")
    ap.add_argument("--json", type=Path, help="write per-page scores here")
    ap.add_argument("--input", choices=("bytes", "text"), default="bytes",
                    help="give the extractors each page's bytes as fetched (the service's "
                         "path; default) or its text decoded as UTF-8 (earlier runs)")
    args = ap.parse_args()
    listed = json.loads((ROOT / "bench" / "extract_split.json").read_text("utf-8"))
    if compute_split()["sets"] != listed["sets"]:
        print("bench/extract_split.json no longer follows the rule of bench/split.py",
              file=sys.stderr)
        return 2
    parts = set(PARTS) if args.part == "both" else {args.part}
    names = args.only or list(RUNNERS)
    report: dict = {}
    speed: dict[str, list[float]] = {n: [0, 0.0] for n in names}
    print(f"input: each page's {'bytes as fetched' if args.input == 'bytes' else 'text'}")
    for set_name in args.sets or (FULL, SNIPPETS):
        pages = load(set_name, parts, args.limit, as_bytes=args.input == "bytes")
        set_names = [n for n in names if n != "readability" or set_name == FULL]
        runs = run_all(set_names, pages)
        print(f"\n== {set_name}: {len(pages)} pages "
              f"({', '.join(f'{p} {sum(pg.part == p for pg in pages)}' for p in PARTS)})")
        for name in set_names:
            outputs, spent, failures = runs[name]
            speed[name][0] += len(pages)
            speed[name][1] += spent
            outputs = with_meta(name, pages, outputs)
            for part in PARTS:
                if part not in parts:
                    continue
                sel = [i for i, pg in enumerate(pages) if pg.part == part]
                pp = [pages[i] for i in sel]
                oo = [outputs[i] for i in sel]
                key = (set_name, part, name)
                report[key] = score_full(pp, oo) if set_name == FULL else score_snippets(pp, oo)
                report[key]["failures"] = failures
            print(f"  {name:<12} {len(pages) / spent:8.1f} pages/s"
                  + (f"  ({failures} failed)" if failures else ""))
        for part in PARTS:
            if part not in parts:
                continue
            print(f"-- {part}")
            if set_name == FULL:
                print(f"  {'extractor':<12} {'pages':>5} {'P':>6} {'R':>6} {'F1':>6} "
                      f"{'title':>6} {'date':>6}")
                for name in set_names:
                    r = report[(set_name, part, name)]
                    date = f"{r['date']:6.3f}" if name != "readability" else f"{'—':>6}"
                    print(f"  {name:<12} {r['pages']:5d} {r['P']:6.3f} {r['R']:6.3f} "
                          f"{r['F1']:6.3f} {r['title']:6.3f} {date}")
            else:
                print(f"  {'group':<14} {'pages':>5}  " + "  ".join(
                    f"{n[:11]:>11} with/without/all" for n in set_names))
                for group in ("all", *SCRIPTS):
                    cells = []
                    n_pages = 0
                    for name in set_names:
                        g = report[(set_name, part, name)]["groups"].get(group)
                        if g is None:
                            cells.append(f"{'—':>28}")
                            continue
                        n_pages = g[0]
                        cells.append(f"{g[1]:8.3f} {g[2]:8.3f} {g[3]:8.3f}  ")
                    if n_pages:
                        print(f"  {group:<14} {n_pages:5d}  " + "  ".join(cells))
    if "collector" in speed and "trafilatura" in speed:
        ours = speed["collector"][0] / speed["collector"][1]
        traf = speed["trafilatura"][0] / speed["trafilatura"][1]
        print(f"\nall pages: collector {ours:.1f} pages/s, trafilatura {traf:.1f} pages/s; "
              f"speed ratio {ours / traf:.1f}x")
    if args.worst and (FULL, "tuning", "collector") in report:
        per = report[(FULL, "tuning", "collector")]["per_page"]
        for pid, (p, r, f) in sorted(per.items(), key=lambda kv: kv[1][2])[: args.worst]:
            print(f"  {FULL} {pid}  P={p:.2f} R={r:.2f} F1={f:.2f}")
    if args.worst and (SNIPPETS, "tuning", "collector") in report:
        per = report[(SNIPPETS, "tuning", "collector")]["per_page"]
        for pid, (w, wo, _ok) in sorted(per.items(), key=lambda kv: kv[1])[: args.worst]:
            print(f"  {SNIPPETS} {pid}  with={w:.2f} without={wo:.2f}")
    if args.json:
        args.json.write_text(json.dumps(
            {"/".join(k): {kk: vv for kk, vv in v.items()} for k, v in report.items()},
            indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
