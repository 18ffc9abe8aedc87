"""Statements published as documents (PDF, DOCX, ODT): recognising them and what parsing gives.

This module is light on purpose (no PDF or Word library): the poller imports it to tell a
document from a page by its bytes, type or URL, and to find the document an article page only
links to. Parsing happens in a parse worker through `collector.documents.parse`, which alone
imports pypdfium2, python-docx and lxml.

    fetched body ──► kind_of (magic bytes first, then content type, then URL)
                 ──► parse.parse_document in a worker (caps on bytes, pages, inflation, time)
                     pdf.read_pdf ─► reflow.reflow   |   docx.read_docx   |   odt.read_odt
                 ──► title (meaningful metadata > largest first line > listing link text),
                     date (listing row > metadata > text), flags (`scanned`)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..models import Extracted

#: Content types of the documents read, by kind.
CONTENT_TYPES: dict[str, str] = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
}
#: File-name endings of documents in URLs, by kind.
EXTENSIONS: dict[str, str] = {".pdf": "pdf", ".docx": "docx", ".odt": "odt"}
#: How a kind's method is named in index.jsonl and on the web page.
METHODS = frozenset(EXTENSIONS.values())
#: Words a link to a document tends to say ("Read the statement (PDF)", "Download").
_DOC_WORDS = re.compile(r"\b(pdf|docx?|odt|download|télécharger|descargar|herunterladen)\b",
                        re.IGNORECASE)


#: A link to a document, or a word that names one, anywhere in a page's markup: a plain scan
#: (linear time) that spares a second parse of the many pages that mention none.
_MENTION = re.compile(r"\.(?:pdf|docx|odt)(?:[\"'?#&\s>]|$)|\b(?:PDF|DOCX|ODT)\b", re.IGNORECASE)


def mentions_document(html: str) -> bool:
    """Whether a page could link to a document at all (cheap; false positives are fine)."""
    return _MENTION.search(html) is not None


@dataclass(frozen=True)
class DocumentText:
    """What a document gave: its text as a statement, its kind and its page count."""

    extracted: Extracted
    kind: str                 # pdf | docx | odt
    pages: int | None


def kind_of(content: bytes, content_type: str = "", url: str = "") -> str | None:
    """"pdf", "docx", "odt" or None (not a document this service reads)."""
    head = content[:1024]
    if head.lstrip()[:5] == b"%PDF-" or (b"%PDF-" in head and not head.lstrip().startswith(b"<")):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        if b"mimetypeapplication/vnd.oasis.opendocument.text" in content[:200]:
            return "odt"
        by_type = CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())
        if by_type in ("docx", "odt"):
            return by_type
        if b"word/" in content or b"[Content_Types].xml" in content[:4096]:
            by_url = url_kind(url)
            return by_url if by_url in ("docx", "odt") else "docx"
    return None


def url_kind(url: str) -> str | None:
    """The document kind a URL's file name announces, if any."""
    path = urlsplit(url).path.lower()
    for ext, kind in EXTENSIONS.items():
        if path.endswith(ext):
            return kind
    return None


def is_document_link(url: str, text: str = "") -> bool:
    """A link that leads to a document: its file name, or its text saying PDF/DOCX/ODT."""
    return url_kind(url) is not None or bool(_DOC_WORDS.search(text))
