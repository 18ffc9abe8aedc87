"""Documents (PDF, DOCX, ODT) become statements: reflow, title, date, scans, passwords, bombs.

The fixtures are made by tests/docgen.py from text written there (LibreOffice-like layouts by
WeasyPrint, Word files by python-docx); bombs are made here at test time with pypdf.
"""

from __future__ import annotations

import io
import random
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector import limits
from collector.document import canonical_form, render
from collector.documents import is_document_link, kind_of, url_kind
from collector.documents.parse import parse_document
from collector.documents.reflow import Line, Page, reflow
from collector.errors import ExtractError
from collector.isolate import Isolator
from tests import docgen

FIX = Path(__file__).parent / "fixtures" / "documents"
SEED = "003_7a40c7074827a100.txt"


def stored_text(name: str, **kwargs: object) -> tuple[str, object]:
    data = (FIX / name).read_bytes()
    parsed = parse_document(data, name.rsplit(".", 1)[1], url=f"https://ex.org/{name}",
                            **kwargs)  # type: ignore[arg-type]
    return render(parsed.extracted.title, parsed.extracted.blocks), parsed


@pytest.mark.parametrize("name", ["statement-2col.pdf", "statement-1col.pdf",
                                  "statement-tracked.docx", "statement.odt"])
def test_document_reflows_to_the_text_it_was_made_from(name: str) -> None:
    text, parsed = stored_text(name)
    assert text == (FIX / name).with_suffix(".txt").read_text("utf-8")
    assert parsed.extracted.method == name.rsplit(".", 1)[1]  # type: ignore[attr-defined]


def test_two_column_pdf_loses_headers_footers_page_numbers_and_hyphens() -> None:
    text, parsed = stored_text("statement-2col.pdf")
    assert parsed.pages == 2  # type: ignore[attr-defined]
    assert docgen.RUNNING_RIGHT not in text and text.count(docgen.LETTERHEAD) == 2
    assert "Page 1" not in text and "\u2010" not in text
    # a hyphenated compound broken at its own hyphen keeps it; hyphenated words are whole
    assert "private-sector" in text and "condemns" in text and "Holdings" in text


def test_word_processor_title_is_ignored_for_the_largest_first_line() -> None:
    text, _parsed = stored_text("statement-1col.pdf")
    assert text.split("\n")[0] == docgen.STATEMENT[0][1]


def test_tracked_changes_come_out_accepted() -> None:
    text, parsed = stored_text("statement-tracked.docx")
    assert docgen.DELETED_WORDS not in text
    assert parsed.extracted.published == datetime(2025, 3, 14, 9, 0,  # type: ignore[attr-defined]
                                                  tzinfo=UTC)


def test_date_comes_from_the_text_when_metadata_has_none() -> None:
    _, parsed = stored_text("statement-2col.pdf")
    assert parsed.extracted.published == datetime(2025, 3, 14,  # type: ignore[attr-defined]
                                                  tzinfo=UTC)


@pytest.mark.parametrize("name", ["seed003.pdf", "seed003.docx"])
def test_seed_statement_laid_out_as_a_document_is_stored_exactly(name: str,
                                                                 shared_dir: Path) -> None:
    seed = (shared_dir / "seeds" / SEED).read_text("utf-8")
    text, _ = stored_text(name)
    assert text == canonical_form(seed)


def test_scan_without_text_layer_is_flagged_and_titled_from_the_listing() -> None:
    _, parsed = stored_text("scanned.pdf", fallback_title="Statement on the shipyard",
                            ocr=False)
    ex = parsed.extracted  # type: ignore[attr-defined]
    assert ex.flags == ("scanned",) and ex.blocks == ()
    assert ex.title == "Statement on the shipyard"


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_scan_is_read_by_ocr_when_tesseract_is_installed() -> None:
    _, parsed = stored_text("scanned.pdf", fallback_title="Listing title")
    ex = parsed.extracted  # type: ignore[attr-defined]
    assert "ocr" in ex.flags and "Ellis" in " ".join(ex.blocks)


def test_password_protected_pdf_is_a_clear_error_naming_source_and_url() -> None:
    with pytest.raises(ExtractError, match=r"source un: https://ex.org/p.pdf: .*password"):
        parse_document((FIX / "statement-password.pdf").read_bytes(), "pdf",
                       url="https://ex.org/p.pdf", source_id="un")


@pytest.fixture(scope="module")
def worker() -> object:
    with Isolator(1) as iso:
        yield iso


def test_page_count_bomb_is_refused_in_the_worker(worker: Isolator) -> None:
    bomb = docgen.page_bomb(20_000)
    assert len(bomb) < limits.MAX_BODY_BYTES
    with pytest.raises(ExtractError, match=r"source un: https://ex.org/b.pdf: .*20,000 pages"):
        worker.call(parse_document, bomb, "pdf", url="https://ex.org/b.pdf", source_id="un",
                    timeout_s=limits.DOCUMENT_TIMEOUT_S)


def test_decompression_bomb_is_refused_in_the_worker(worker: Isolator) -> None:
    bomb = docgen.inflate_bomb(256)
    assert len(bomb) < 2 * 2**20
    with pytest.raises(ExtractError, match=r"https://ex.org/z.pdf: .*decompression bomb"):
        worker.call(parse_document, bomb, "pdf", url="https://ex.org/z.pdf", source_id="un",
                    timeout_s=limits.DOCUMENT_TIMEOUT_S)


def test_zip_bomb_docx_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b" " * (limits.MAX_DOCUMENT_INFLATED_BYTES + 1))
    with pytest.raises(ExtractError, match="decompression bomb"):
        parse_document(out.getvalue(), "docx", url="https://ex.org/z.docx")


def test_a_document_parses_in_the_bounded_worker(worker: Isolator) -> None:
    parsed = worker.call(parse_document, (FIX / "statement-2col.pdf").read_bytes(), "pdf",
                         url="https://ex.org/s.pdf", timeout_s=limits.DOCUMENT_TIMEOUT_S)
    assert parsed.extracted.title == docgen.STATEMENT[0][1]


def test_kinds_are_told_by_bytes_first() -> None:
    assert kind_of((FIX / "statement-2col.pdf").read_bytes(), "text/html") == "pdf"
    assert kind_of((FIX / "statement-tracked.docx").read_bytes(),
                   "application/octet-stream", "https://x/a") == "docx"
    assert kind_of((FIX / "statement.odt").read_bytes()) == "odt"
    assert kind_of(b"<html><body>%PDF-</body></html>") is None
    assert url_kind("https://x/a/Statement.PDF") == "pdf"
    assert is_document_link("https://x/file?id=3", "Read the statement (PDF)")
    assert not is_document_link("https://x/news/one", "Read more")


# --- reflow on lines made by hand --------------------------------------------------------

def _column(x0: float, lines: list[str], top: float, page: int = 0,
            full: float = 200.0, open_end: bool = False) -> list[Line]:
    """Lines of one column, each `full` wide unless it is the last of a paragraph ("" after,
    or the column's end unless the paragraph goes on in the next column: `open_end`)."""
    out = []
    y = top
    for i, text in enumerate(lines):
        last = (i + 1 == len(lines) and not open_end) or (i + 1 < len(lines)
                                                          and lines[i + 1] == "")
        if text == "":
            y -= 6
            continue
        width = full * 0.5 if last else full
        out.append(Line(page, x0, x0 + width, y, y + 8, 10.0, text, first_word=30.0))
        y -= 12
    return out


def test_columns_are_read_in_column_order_whatever_the_content_order() -> None:
    left = _column(50, ["one two three four five six", "seven eight nine ten",
                        "eleven twelve", "", "Second para start", "and it goes on"], 700,
                   open_end=True)
    right = _column(300, ["in the right column", "words run on and on", "to the end here."],
                    700)
    pages = [Page(550, 800, right + left)]
    random.Random(4).shuffle(pages[0].lines)
    blocks = [b.text for b in reflow(pages)]
    assert blocks == ["one two three four five six seven eight nine ten eleven twelve",
                      "Second para start and it goes on in the right column words run on and on"
                      " to the end here."]


def test_plain_hyphen_is_dropped_only_for_a_word_the_document_knows() -> None:
    lines = _column(50, ["the work-", "ers of the ship-", "yard and the private-",
                         "sector; the workers and the shipyard."], 700)
    assert [b.text for b in reflow([Page(300, 800, lines)])] == [
        "the work-ers of the shipyard and the private-sector; the workers and the shipyard."
        .replace("work-ers", "workers")]


def test_running_header_and_page_numbers_are_dropped_on_every_page() -> None:
    pages = []
    for n in range(3):
        body = _column(50, [f"Body text of page {n} goes on", "and ends."], 600, page=n)
        head = Line(n, 50, 150, 780, 788, 8.0, "Union of Example Workers", first_word=20)
        foot = Line(n, 140, 160, 20, 28, 8.0, f"- {n + 1} -", first_word=20)
        pages.append(Page(300, 800, [head, *body, foot]))
    texts = [b.text for b in reflow(pages)]
    assert not any("Union of Example" in t or t.startswith("-") for t in texts)
    assert len(texts) == 3


def test_a_file_of_endless_compressed_streams_is_refused(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    # the cap is lowered so that a small file shows the rule (the real cap is 100,000 streams)
    monkeypatch.setattr(limits, "MAX_DOCUMENT_STREAMS", 40)
    data = docgen.page_bomb(60, compressed=True)
    with pytest.raises(ExtractError, match=r"https://ex.org/s.pdf: more than 40 compressed"):
        parse_document(data, "pdf", url="https://ex.org/s.pdf")


def test_extract_command_prints_a_saved_document_as_stored(capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    from collector.cli import main

    assert main(["extract", str(FIX / "statement-2col.pdf")]) == 0
    out, err = capsys.readouterr()
    assert out == (FIX / "statement-2col.txt").read_text("utf-8")
    assert "method: pdf" in err and "pages: 2" in err
    assert main(["extract", str(FIX / "statement-password.pdf")]) == 1
    assert "password-protected" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_the_same_statement_printed_by_chromium_comes_back_exactly(tmp_path: Path) -> None:
    data = docgen.chromium_pdf(docgen.statement_html(docgen.STATEMENT,
                                                     meta_title=docgen.STATEMENT[0][1]), tmp_path)
    parsed = parse_document(data, "pdf", url="https://ex.org/c.pdf")
    assert render(parsed.extracted.title, parsed.extracted.blocks) == \
        (FIX / "statement-2col.txt").read_text("utf-8")


_WORDS = st.lists(st.sampled_from(["port", "workers", "union", "strike", "rent", "Gaza",
                                   "statement", "shipyard", "vote", "plan"]),
                  min_size=1, max_size=8)
_LINE = st.tuples(st.floats(40, 400), st.floats(10, 300), st.floats(150, 650),
                  st.sampled_from([9.0, 10.0, 10.0, 10.0, 14.0]), _WORDS)


@settings(max_examples=100, deadline=None)
@given(st.lists(_LINE, min_size=1, max_size=40))
def test_reflow_loses_no_word_of_body_lines_whatever_their_layout(raw: list) -> None:
    lines = [Line(0, x0, x0 + width, y, y + size * 0.8, size, " ".join(words),
                  first_word=size * 2) for x0, width, y, size, words in raw]
    blocks = reflow([Page(600, 800, lines)])
    got = sorted(w for b in blocks for w in b.text.split())
    assert got == sorted(w for *_, words in raw for w in words)
