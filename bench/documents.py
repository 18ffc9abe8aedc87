"""Text quality and speed of PDF text extraction: pypdfium2, pypdf and pdfminer.six.

Usage: .venv/bin/python bench/documents.py [--rounds N]     (after `make bench`)

Reads the PDFs of tests/fixtures/documents/ that have an expected text beside them (made by
tests/docgen.py from text written for them: two columns, running letterhead, page numbers,
automatic hyphenation) and, for each library, extracts the plain text of every page with the
library's own text call. Quality: word tokens (`\\w+`, lower-cased) compared as bags with the
expected text (precision, recall, F1), and the share of the expected text's hyphenated-at-line-
end words that come out whole. Speed: pages per second of CPU time over `--rounds` passes, one
core, files read beforehand. Last row: collector's own reading (pypdfium2 plus the reflow of
collector.documents), which is what the service stores.

With `--seeds` (needs the `fixtures` extra: WeasyPrint) the five seed statements of
../shared/seeds are also laid out in two columns at run time and read back by collector: for
each, whether the stored text equals the seed's canonical form, and how many characters differ
(difflib's edit operations, the longer side of each).
"""

from __future__ import annotations

import argparse
import collections
import difflib
import io
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.document import canonical_form  # noqa: E402 - after the path is set

FIXTURES = ROOT / "tests" / "fixtures" / "documents"
_WORD = re.compile(r"\w+")


def words(text: str) -> collections.Counter[str]:
    return collections.Counter(w.lower() for w in _WORD.findall(text))


def score(found: str, truth: str) -> tuple[float, float, float]:
    f, t = words(found), words(truth)
    hit = sum((f & t).values())
    p = hit / max(1, sum(f.values()))
    r = hit / max(1, sum(t.values()))
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def with_pdfium(data: bytes) -> tuple[str, int]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
        return "\n".join(texts), len(texts)
    finally:
        pdf.close()


def with_pypdf(data: bytes) -> tuple[str, int]:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data))
    texts = [page.extract_text() or "" for page in reader.pages]
    return "\n".join(texts), len(texts)


def with_pdfminer(data: bytes) -> tuple[str, int]:
    from pdfminer.high_level import extract_pages, extract_text

    text = extract_text(io.BytesIO(data))
    return text, sum(1 for _ in extract_pages(io.BytesIO(data)))


def with_collector(data: bytes) -> tuple[str, int]:
    from collector.documents.parse import parse_document

    parsed = parse_document(data, "pdf", url="file:bench.pdf")
    ex = parsed.extracted
    return "\n\n".join([ex.title, *ex.blocks]), parsed.pages or 0


LIBRARIES: dict[str, Callable[[bytes], tuple[str, int]]] = {
    "pypdfium2": with_pdfium,
    "pypdf": with_pypdf,
    "pdfminer.six": with_pdfminer,
    "collector (pypdfium2 + reflow)": with_collector,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seeds", action="store_true")
    args = parser.parse_args()
    cases = []
    for pdf in sorted(FIXTURES.glob("*.pdf")):
        truth = pdf.with_suffix(".txt")
        if truth.exists():
            cases.append((pdf.name, pdf.read_bytes(), truth.read_text("utf-8")))
    seed = ROOT.parent / "shared" / "seeds" / "003_7a40c7074827a100.txt"
    if seed.exists():  # the seed statement laid out by tests/docgen.py
        cases.append(("seed003.pdf", (FIXTURES / "seed003.pdf").read_bytes(),
                      seed.read_text("utf-8")))
    print(f"{len(cases)} PDFs: {', '.join(name for name, _, _ in cases)}; "
          f"{args.rounds} rounds for speed\n")
    print(f"{'library':<32}{'precision':>10}{'recall':>8}{'F1':>7}{'exact':>7}{'pages/s':>10}")
    for name, fn in LIBRARIES.items():
        ps, rs, fs, exact = [], [], [], 0
        for _, data, truth in cases:
            text, _ = fn(data)
            p, r, f = score(text, truth)
            ps.append(p)
            rs.append(r)
            fs.append(f)
            exact += canonical_form(text) == canonical_form(truth)
        pages = 0
        start = time.process_time()
        for _ in range(args.rounds):
            for _, data, _ in cases:
                pages += fn(data)[1]
        cpu = time.process_time() - start
        n = len(cases)
        print(f"{name:<32}{sum(ps) / n:>10.3f}{sum(rs) / n:>8.3f}{sum(fs) / n:>7.3f}"
              f"{exact:>5}/{n}{pages / cpu:>10.1f}")
    if args.seeds:
        seeds_read_back()
    return 0


def seeds_read_back() -> None:
    from tests import docgen

    print("\nseed  pages  exact  characters differing (of)")
    for seed in sorted((ROOT.parent / "shared" / "seeds").glob("*.txt")):
        statement = docgen.seed_statement(seed)
        data = docgen.make_pdf(statement, meta_title=statement[0][1])
        text, pages = with_collector(data)
        want, got = canonical_form(seed.read_text("utf-8")), canonical_form(text)
        ops = difflib.SequenceMatcher(None, want, got, autojunk=False).get_opcodes()
        differing = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in ops if op != "equal")
        print(f"{seed.name[:3]:<6}{pages:>5}  {'yes' if want == got else 'no':>5}"
              f"  {differing} ({len(want):,})")


if __name__ == "__main__":
    sys.exit(main())
