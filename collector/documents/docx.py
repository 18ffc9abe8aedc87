"""DOCX → blocks and metadata, with python-docx; the only python-docx user.

Runs in a parse worker, after `zipcheck.check_archive` has refused archive bombs. Paragraphs are
read from their XML so that tracked changes come out accepted: runs inside `w:ins` are kept,
`w:del` (and its `w:delText`) is dropped, as are moved-from runs. Headers, footers, comments
and footnotes live in other parts and never enter the body. Styles say what a paragraph is:
Title and Heading N are headings, list styles and numbered paragraphs list items.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import docx
from docx.oxml.ns import qn

from ..document import clean_line
from ..errors import ExtractError
from .reflow import Block

_P, _TBL, _R, _T, _TAB, _BR, _CR = (qn("w:p"), qn("w:tbl"), qn("w:r"), qn("w:t"), qn("w:tab"),
                                    qn("w:br"), qn("w:cr"))
_DROPPED = frozenset({qn("w:del"), qn("w:moveFrom"), qn("w:delText"), qn("w:instrText"),
                      qn("w:pPr"), qn("w:rPr")})


@dataclass
class DocxText:
    blocks: list[Block]
    title: str | None
    created: datetime | None
    pages: int | None


def read_docx(data: bytes, what: str) -> DocxText:
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several kinds for a damaged package
        raise ExtractError(f"{what}: not a readable DOCX ({type(exc).__name__}: {exc})"
                           ) from None
    blocks: list[Block] = []
    body = document.element.body
    for child in body.iterchildren():
        if child.tag == _P:
            _paragraph(child, document, blocks)
        elif child.tag == _TBL:
            for p in child.iter(_P):
                _paragraph(p, document, blocks)
    props = document.core_properties
    return DocxText(blocks, clean_line(props.title or "") or None,
                    props.created or props.modified, None)


def _text(p: object) -> str:
    parts: list[str] = []

    def walk(el: object) -> None:
        for child in el:  # type: ignore[attr-defined]
            tag = child.tag
            if tag in _DROPPED:
                continue
            if tag == _T:
                parts.append(child.text or "")
            elif tag in (_TAB, _BR, _CR):
                parts.append(" ")
            else:
                walk(child)

    walk(p)
    return "".join(parts)


def _paragraph(p: object, document: docx.document.Document, out: list[Block]) -> None:
    text = clean_line(_text(p))
    if not text:
        return
    style_id = None
    ppr = p.find(qn("w:pPr"))  # type: ignore[attr-defined]
    numbered = False
    if ppr is not None:
        ps = ppr.find(qn("w:pStyle"))
        style_id = ps.get(qn("w:val")) if ps is not None else None
        numbered = ppr.find(qn("w:numPr")) is not None
    name = ""
    if style_id:
        try:
            style = document.styles.get_by_id(style_id, 1)  # 1: paragraph styles
            name = (style.name or "").lower() if style is not None else ""
        except Exception:  # an unknown style id: the paragraph is plain text
            name = style_id.lower()
    if name == "title" or name.startswith("heading"):
        kind, size = "h", 20.0 if name == "title" else 16.0 - min(4, _level(name))
    elif "list" in name or numbered:
        kind, size = "li", 11.0
    else:
        kind, size = "p", 11.0
    out.append(Block(kind, text, size, 0))


def _level(name: str) -> int:
    digits = "".join(ch for ch in name if ch.isdigit())
    return int(digits) if digits else 1
