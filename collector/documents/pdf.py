"""PDF → positioned lines and metadata, with pypdfium2 (PDFium); the only pypdfium2 user.

Runs in a parse worker. Before PDFium sees a file, `check_streams` inflates every Flate stream
it can find with a running budget and no output kept, so a decompression bomb or a file of
endless object streams is refused with a message instead of filling the worker's memory. The
page count is checked before any page is read; the time budget after every page.
"""

from __future__ import annotations

import ctypes
import re
import time
import zlib
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .. import limits
from ..errors import ExtractError
from .reflow import BREAK_HYPHENS, Line, Page

_STREAM = re.compile(rb"stream\r?\n")
_FLATE = re.compile(rb"/(?:FlateDecode|Fl)\b")
#: What PDFium puts where a producer's hyphen ends a line and it joins the two lines (U+0002
#: per character, U+FFFE in its page text).
_PDFIUM_HYPHENS = ("\x02", "\ufffe")
#: A bullet set as a glyph of its own, which PDFium may list after the page's text.
_BULLET_ONLY = frozenset("•◦▪▫●○■□►▸‣⁃∙·")


@dataclass
class PdfText:
    pages: list[Page]
    page_count: int
    metadata: dict[str, str]
    chars: int


def check_streams(data: bytes, what: str) -> None:
    """Refuse a decompression bomb: inflate each Flate stream, keeping nothing, up to the
    per-stream and per-file budgets of `limits`."""
    total = 0
    streams = 0
    for match in _STREAM.finditer(data):
        head = data[max(0, match.start() - 400):match.start()]
        if not _FLATE.search(head[head.rfind(b"<<"):] if b"<<" in head else head):
            continue
        streams += 1
        if streams > limits.MAX_DOCUMENT_STREAMS:
            raise ExtractError(f"{what}: more than {limits.MAX_DOCUMENT_STREAMS:,} compressed"
                               " streams; refused as a PDF bomb")
        inflater = zlib.decompressobj()
        size = 0
        pos = match.end()
        end = data.find(b"endstream", pos)
        end = len(data) if end < 0 else end
        pending = data[pos:end]
        try:
            while pending:
                out = inflater.decompress(pending, 1 << 20)
                size += len(out)
                if size > limits.MAX_DOCUMENT_INFLATED_BYTES:
                    raise ExtractError(
                        f"{what}: a stream inflates to more than "
                        f"{limits.MAX_DOCUMENT_INFLATED_BYTES // 2**20} MiB; refused as a"
                        " decompression bomb")
                pending = inflater.unconsumed_tail
                if inflater.eof or not out:
                    break
        except zlib.error:
            continue  # a damaged stream: PDFium decides what to make of it
        total += size
        if total > limits.MAX_DOCUMENT_TOTAL_INFLATED_BYTES:
            raise ExtractError(f"{what}: its streams inflate to more than "
                               f"{limits.MAX_DOCUMENT_TOTAL_INFLATED_BYTES // 2**20} MiB;"
                               " refused as a decompression bomb")


def read_pdf(data: bytes, what: str, *, max_pages: int = limits.MAX_DOCUMENT_PAGES,
             deadline: float | None = None) -> PdfText:
    """Lines of every page of a PDF, its page count and metadata. `what` names the document
    (source and URL) in every error."""
    check_streams(data, what)
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ExtractError(f"{what}: the PDF is password-protected; its text cannot be"
                               " read") from None
        raise ExtractError(f"{what}: not a readable PDF ({exc})") from None
    try:
        count = len(pdf)
        if count > max_pages:
            raise ExtractError(f"{what}: the PDF has {count:,} pages, more than the"
                               f" {max_pages} read; refused as a page-count bomb")
        metadata = {k: v for k, v in pdf.get_metadata_dict(skip_empty=True).items()}
        pages = []
        chars = 0
        for index in range(count):
            if deadline is not None and time.monotonic() > deadline:
                raise ExtractError(f"{what}: reading took too long (stopped at page"
                                   f" {index + 1} of {count})")
            page = pdf[index]
            try:
                width, height = page.get_size()
                textpage = page.get_textpage()
                try:
                    lines = _lines(textpage, index)
                finally:
                    textpage.close()
            finally:
                page.close()
            chars += sum(len(ln.text) for ln in lines)
            if chars > limits.MAX_DOCUMENT_CHARS:
                raise ExtractError(f"{what}: more than {limits.MAX_DOCUMENT_CHARS:,}"
                                   " characters of text; refused")
            pages.append(Page(width, height, lines))
        return PdfText(pages, count, metadata, chars)
    finally:
        pdf.close()


def render_gray(data: bytes, index: int, dpi: int) -> tuple[bytes, int, int]:
    """Page `index` as 8-bit grey pixels (rows top to bottom), its width and height: for OCR."""
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[index]
        bitmap = page.render(scale=dpi / 72, grayscale=True)
        width, height, stride = bitmap.width, bitmap.height, bitmap.stride
        buf = bytes(bitmap.buffer)
        rows = b"".join(buf[r * stride:r * stride + width] for r in range(height))
        return rows, width, height
    finally:
        pdf.close()


def _lines(textpage: pdfium.PdfTextPage, page_index: int) -> list[Line]:
    """Group the page's characters into lines (PDFium's own line breaks, and any jump of the
    baseline), measuring each line's box, type size and first word."""
    raw = textpage.raw
    n = textpage.count_chars()
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    ox, oy = ctypes.c_double(), ctypes.c_double()
    lines: list[Line] = []
    chars: list[tuple[str, float, float, float, float, float, float]] = []

    def flush() -> None:
        _settle_generated_spaces(chars)
        visible = [c for c in chars if c[0] and not c[0].isspace()]
        if visible:
            # ordinary spaces only: a no-break space at a line end stood before a space
            text = "".join(c[0] for c in chars).strip(" ")
            hyphen = text.endswith(_PDFIUM_HYPHENS)
            for mark in _PDFIUM_HYPHENS:
                text = text.replace(mark, "-")
            first: list[tuple[str, float, float, float, float, float, float]] = []
            for c in chars:
                if not c[0] or c[0].isspace():
                    if first and c[0]:
                        break
                    continue
                first.append(c)
            lines.append(Line(
                page=page_index, x0=min(c[1] for c in visible), x1=max(c[2] for c in visible),
                y=statistics_median([c[5] for c in visible]),
                top=max(c[4] for c in visible),
                size=max(c[6] for c in visible), text=text,
                first_word=max(c[2] for c in first) - min(c[1] for c in first),
                break_hyphen=text.endswith(tuple(BREAK_HYPHENS)) and not hyphen))
        chars.clear()

    for i in range(n):
        code = pdfium_c.FPDFText_GetUnicode(raw, i)
        ch = chr(code) if 0 < code < 0x110000 else ""
        if ch in ("\r", "\n"):
            flush()
            continue
        if not ch:
            continue
        pdfium_c.FPDFText_GetCharBox(raw, i, left, right, bottom, top)
        pdfium_c.FPDFText_GetCharOrigin(raw, i, ox, oy)
        size = pdfium_c.FPDFText_GetFontSize(raw, i)
        if ch.isspace() and pdfium_c.FPDFText_IsGenerated(raw, i):
            ch = _GENERATED
        if chars and not _blank(ch):
            last = next((c for c in reversed(chars) if not _blank(c[0])), None)
            if last is not None and abs(last[5] - oy.value) > 0.6 * max(size, last[6], 1.0):
                flush()
        chars.append((ch, left.value, right.value, bottom.value, top.value, oy.value, size))
    flush()
    return _attach_bullets(lines)


#: A space PDFium inferred from a gap between glyphs (settled per line, see below).
_GENERATED = "\x00"
_NBSP = "\u00a0"


def _blank(ch: str) -> bool:
    return not ch or ch == _GENERATED or ch.isspace()


def _settle_generated_spaces(chars: list[tuple[str, float, float, float, float, float, float]]
                             ) -> None:
    """Turn PDFium's inferred spaces into spaces, except beside a no-break space, where it
    infers them from the stretch of the no-break space itself: there a space stays only when
    its gap is clearly wider than the gap on the no-break space's other side (a real space
    after it, as in "snipers.\u00a0 But")."""
    def gap(k: int, step: int) -> float | None:
        """The gap between the no-break space at k and the next glyph on side `step`."""
        j = k + step
        while 0 <= j < len(chars) and _blank(chars[j][0]) and chars[j][0] != _NBSP:
            j += step
        if not 0 <= j < len(chars):
            return None
        return chars[j][1] - chars[k][2] if step > 0 else chars[k][1] - chars[j][2]

    for k, c in enumerate(chars):
        if c[0] != _GENERATED:
            continue
        for step in (-1, 1):
            n = k + step
            if 0 <= n < len(chars) and chars[n][0] == _NBSP:
                this, other = gap(n, -step), gap(n, step)
                if this is None or other is None or this <= 1.5 * other:
                    chars[k] = ("", *c[1:])
                break
        if chars[k][0] == _GENERATED:
            chars[k] = (" ", *c[1:])


def _attach_bullets(lines: list[Line]) -> list[Line]:
    """Put a bullet that stands as a line of its own before the text on its baseline."""
    out: list[Line] = []
    bullets: list[Line] = []
    for ln in lines:
        (bullets if ln.text in _BULLET_ONLY else out).append(ln)
    for b in bullets:
        owner = min((ln for ln in out if abs(ln.y - b.y) < 0.3 * max(b.size, 1.0)
                     and ln.x0 >= b.x1), key=lambda ln: ln.x0 - b.x1, default=None)
        if owner is None:
            out.append(b)
            continue
        owner.text = f"{b.text} {owner.text}"
        owner.x0 = b.x0
    return out


def statistics_median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
