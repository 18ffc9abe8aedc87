"""Parse one document into a statement; the function a parse worker runs for documents.

`parse_document` imports the reader of the document's kind (pypdfium2, python-docx, lxml) and
applies the caps of `limits` (pages, inflated bytes, characters, time). Every error names the
document as `what` (the source and the URL), so a bomb is reported where it came from.

The readers are imported inside the functions on purpose: the poller pickles `parse_document`
to send it to a worker, so it imports this module, and must not load pypdfium2 (10 MB, 54 ms),
python-docx (13 MB, 97 ms) or lxml (9 MB) that only the workers use; a worker loads the one
reader of the kind it parses.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from dateutil import parser as dateparser

from .. import limits
from ..discover.links import parse_date
from ..document import clean_line
from ..errors import ExtractError
from ..models import Extracted
from . import DocumentText
from .reflow import Block, reflow
from .zipcheck import check_archive, page_count

#: Titles that word processors and printers write by themselves.
_GENERIC_TITLE = re.compile(
    r"^(microsoft\s+(word|powerpoint|excel)\b|untitled|document\s*\d*$|doc\d*$|"
    r"new document|title$|print$|pdf$|slide\s*\d+|powerpoint presentation|"
    r"(press|news)\s*release$|statement$|draft$)", re.IGNORECASE)
#: A file name standing where a title should be (no spaces, or ending in an extension).
_FILE_NAME = re.compile(r"\.(docx?|pdf|odt|rtf|txt|indd|pages|html?|qxd|pub)\s*$|^\S+$",
                        re.IGNORECASE)
_PDF_DATE = re.compile(r"^D:(\d{4})(\d\d)?(\d\d)?(\d\d)?(\d\d)?(\d\d)?")
_NORM = re.compile(r"[\W_]+")


def parse_document(data: bytes, kind: str, *, url: str, source_id: str | None = None,
                   fallback_title: str | None = None,
                   max_pages: int = limits.MAX_DOCUMENT_PAGES,
                   time_budget_s: float = limits.DOCUMENT_TIMEOUT_S * 0.9,
                   ocr: bool = True) -> DocumentText:
    """The statement in a document's bytes. ExtractError (naming the source and URL) for a
    bomb, a password, a damaged file or a document over the caps."""
    what = f"source {source_id}: {url}" if source_id else url
    deadline = time.monotonic() + time_budget_s
    if len(data) > limits.MAX_BODY_BYTES:
        raise ExtractError(f"{what}: {len(data):,} bytes, more than the"
                           f" {limits.MAX_BODY_BYTES:,}-byte cap")
    if kind == "pdf":
        return _pdf(data, what, url, fallback_title, max_pages, deadline, ocr)
    if kind in ("docx", "odt"):
        archive = check_archive(data, what)
        pages = page_count(archive, what)
        if pages is not None and pages > max_pages:
            raise ExtractError(f"{what}: the document has {pages:,} pages, more than the"
                               f" {max_pages} read; refused")
        if kind == "docx":
            from .docx import read_docx  # deferred: see the module's docstring

            d = read_docx(data, what)
            blocks, meta_title, created = d.blocks, d.title, d.created
        else:
            from .odt import read_odt  # deferred: see the module's docstring

            o = read_odt(archive, what)
            blocks, meta_title, created = o.blocks, o.title, o.created
        if sum(len(b.text) for b in blocks) > limits.MAX_DOCUMENT_CHARS:
            raise ExtractError(f"{what}: more than {limits.MAX_DOCUMENT_CHARS:,} characters"
                               " of text; refused")
        return DocumentText(_statement(blocks, meta_title, created, kind, url, fallback_title),
                            kind, pages)
    raise ExtractError(f"{what}: {kind!r} is not a document kind this service reads")


def _pdf(data: bytes, what: str, url: str, fallback_title: str | None, max_pages: int,
         deadline: float, ocr: bool) -> DocumentText:
    from .pdf import read_pdf  # deferred: see the module's docstring

    text = read_pdf(data, what, max_pages=max_pages, deadline=deadline)
    meta_title = clean_line(text.metadata.get("Title", "")) or None
    created = _pdf_date(text.metadata.get("CreationDate") or text.metadata.get("ModDate"))
    visible = sum(len(ln.text.strip()) for p in text.pages for ln in p.lines)
    if visible < 20 * max(1, min(text.page_count, 3)) // 3 + 1:
        # no text layer: a scan. OCR only if the user installed tesseract, in this worker.
        blocks: list[Block] = []
        flags = ["scanned"]
        if ocr and shutil.which("tesseract"):
            blocks = _ocr(data, text.page_count, what, deadline)
            if blocks:
                flags.append("ocr")
        title = (fallback_title or (meta_title if _meaningful(meta_title) else None)
                 or (blocks.pop(0).text if blocks else None) or _file_title(url))
        ex = Extracted(title=title, blocks=tuple(b.text for b in blocks), published=created,
                       method="pdf", flags=tuple(flags))
        return DocumentText(ex, "pdf", text.page_count)
    blocks = reflow(text.pages)
    return DocumentText(_statement(blocks, meta_title, created, "pdf", url, fallback_title),
                        "pdf", text.page_count)


def _statement(blocks: list[Block], meta_title: str | None, created: datetime | None,
               kind: str, url: str, fallback_title: str | None) -> Extracted:
    """Title and date chosen by their order of trust; the title's own block leaves the body."""
    blocks = list(blocks)
    heading = _first_heading(blocks)
    title: str | None = None
    if _meaningful(meta_title):
        title = meta_title
        if heading is not None and _norm(blocks[heading].text) == _norm(meta_title or ""):
            blocks.pop(heading)
    elif heading is not None:
        title = blocks.pop(heading).text
    if not title:
        title = fallback_title or ""
    published = created or _text_date(blocks)
    flags = ("short",) if sum(len(b.text.split()) for b in blocks) < limits.MIN_BODY_WORDS \
        else ()
    if not title and not blocks:
        raise ExtractError(f"{url}: no text found in the document")
    return Extracted(title=title, blocks=tuple(b.text for b in blocks), published=published,
                     method=kind, flags=flags)


def _first_heading(blocks: list[Block]) -> int | None:
    """The block in the largest type among the first few of the first page, if it is larger
    than the body text (a title set like the body is not told apart from a paragraph)."""
    if not blocks:
        return None
    sizes = sorted(b.size for b in blocks)
    body = sizes[len(sizes) // 2]
    first = [i for i, b in enumerate(blocks[:6]) if b.page == blocks[0].page]
    best = max(first, key=lambda i: (blocks[i].size, -i))
    if blocks[best].size > body * 1.15 and len(blocks[best].text.split()) <= 40:
        return best
    return None


def _meaningful(title: str | None) -> bool:
    if not title or len(title) < 8:
        return False
    if _GENERIC_TITLE.match(title) or _FILE_NAME.search(title):
        return False
    return len(title.split()) >= 2


def _norm(text: str) -> str:
    return _NORM.sub("", text.casefold())


def _file_title(url: str) -> str:
    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    return clean_line(re.sub(r"[-_]+", " ", name.rsplit(".", 1)[0])) or url


def _pdf_date(value: str | None) -> datetime | None:
    if not value:
        return None
    m = _PDF_DATE.match(value.strip())
    if not m:
        return None
    parts = [int(g) if g else d for g, d in zip(m.groups(), (0, 1, 1, 0, 0, 0), strict=True)]
    try:
        return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type,misc]
    except ValueError:
        return None


def _text_date(blocks: list[Block]) -> datetime | None:
    """A dateline among the first blocks or in the closing lines (a signature's date)."""
    for block in [*blocks[:4], *blocks[-3:]]:
        if len(block.text.split()) <= 16:
            found = parse_date(block.text)
            if found:
                return found
    return None


def _ocr(data: bytes, pages: int, what: str, deadline: float) -> list[Block]:
    """Text of a scan by tesseract (only called where it is installed), page by page, within
    the parse's deadline; paragraphs are tesseract's blank-line-separated groups."""
    from .pdf import render_gray  # deferred: see the module's docstring

    blocks: list[Block] = []
    for index in range(min(pages, limits.MAX_OCR_PAGES)):
        left = deadline - time.monotonic()
        if left <= 1:
            break
        pixels, width, height = render_gray(data, index, 200)
        pgm = f"P5 {width} {height} 255\n".encode() + pixels
        try:
            done = subprocess.run(["tesseract", "stdin", "stdout"], input=pgm,
                                  capture_output=True,
                                  timeout=min(left, limits.OCR_PAGE_TIMEOUT_S), check=False)
        except (OSError, subprocess.TimeoutExpired):
            break
        text = done.stdout.decode("utf-8", "replace")
        for para in re.split(r"\n\s*\n", text):
            line = clean_line(re.sub(r"(\w)-\n(\w)", r"\1\2", para))
            if line:
                blocks.append(Block("p", line, 11.0, index))
    return blocks


def parse_date_text(value: str) -> datetime | None:
    """A metadata date in any common spelling (ISO, PDF `D:` dates)."""
    found = _pdf_date(value)
    if found:
        return found
    try:
        return dateparser.parse(value)
    except (ValueError, OverflowError):
        return None
