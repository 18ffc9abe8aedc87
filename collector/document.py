"""The document format of FORMAT.md: ids, file names, canonical text, rendering and parsing.

The writer is strict (one block per line, one blank line between blocks, NFC, no control
characters, exactly one final newline); the reader is lenient (first non-empty line is the title,
any run of blank lines separates blocks, the ending does not matter).
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Extracted

#: Control characters other than LF (which never survives inside a block anyway).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Zero-width and bidi formatting characters that carry nothing in plain text.
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def document_id(canonical_url: str) -> str:
    """16 lowercase hex digits: the first 64 bits of SHA-256 over the canonical URL (UTF-8)."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:16]


def file_name(seq: int, doc_id: str) -> str:
    """`NNN_<id>.txt`, the sequence number zero-padded to at least three digits."""
    if seq < 0:
        raise ValueError("sequence numbers start at 0")
    return f"{seq:03d}_{doc_id}.txt"


def clean_line(text: str) -> str:
    """One block as one line: NFC, no control characters, white space runs collapsed, trimmed."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    # runs of ordinary white space collapse to one space; the non-breaking spaces (U+00A0,
    # U+202F) are characters "as published" and are kept. `str.split()` splits at exactly the
    # ordinary white space, and at those two and at controls (gone by now): the kept spaces
    # stand in as two controls meanwhile (about twice as fast as a pattern of the ordinary
    # white space on a line holding them)
    if "\xa0" not in text and "\u202f" not in text:
        return " ".join(text.split())
    text = " ".join(text.replace("\xa0", "\x00").replace("\u202f", "\x01").split())
    return text.replace("\x00", "\xa0").replace("\x01", "\u202f").strip()


@dataclass(frozen=True)
class ParsedDocument:
    title: str
    blocks: tuple[str, ...]


def render(title: str, blocks: list[str] | tuple[str, ...]) -> str:
    """The canonical text of a document: title, blank line, blocks separated by one blank line."""
    title_line = clean_line(title)
    body = [line for line in (clean_line(b) for b in blocks) if line]
    if not title_line:
        if not body:
            raise ValueError("a document needs a title or at least one block")
        title_line, body = body[0], body[1:]
    parts = [title_line, *body]
    return "\n\n".join(parts) + "\n"


def parse(text: str) -> ParsedDocument:
    """Read a document leniently: first non-empty line is the title, blank-line runs separate."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[str] = []
    current: list[str] = []
    for raw in text.split("\n"):
        if raw.strip():
            current.append(raw)
        elif current:
            blocks.append(" ".join(current))
            current = []
    if current:
        blocks.append(" ".join(current))
    if not blocks:
        raise ValueError("empty document")
    return ParsedDocument(title=blocks[0], blocks=tuple(blocks[1:]))


def canonical_form(text: str) -> str:
    """Re-render any document text in the canonical form (only white space may change).

    Lines inside a block are kept as separate blocks would not be; FORMAT.md never wraps, so a
    block is always one line and this is the identity on text.
    """
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = [line.rstrip() for line in lines if line.strip()]
    if not kept:
        raise ValueError("empty document")
    return "\n\n".join(kept) + "\n"


def validate(text: str) -> list[str]:
    """Problems that keep `text` from being a canonical document; empty when it is one."""
    problems: list[str] = []
    if text.startswith("\ufeff"):
        problems.append("starts with a byte-order mark")
    if "\r" in text:
        problems.append("contains CR line endings")
    if "\t" in text:
        problems.append("contains a tab")
    if _CONTROL.search(text.replace("\n", "")):
        problems.append("contains control characters")
    if not text.endswith("\n") or text.endswith("\n\n"):
        problems.append("does not end with exactly one newline")
    if unicodedata.normalize("NFC", text) != text:
        problems.append("is not NFC")
    lines = text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")
    for i, line in enumerate(lines, 1):
        if line != line.strip():
            problems.append(f"line {i} starts or ends with white space")
        if i % 2 == 0 and line:
            problems.append(f"line {i} should be blank (blocks are separated by one blank line)")
        if i % 2 == 1 and not line:
            problems.append(f"line {i} is blank where a block should stand")
    return problems


def print_extracted(ex: Extracted, *, pages: int | None = None) -> None:
    """`collector extract`'s output: the document as it would be stored on standard output,
    what was learned about it (title, date, method, pages of a document, words, flags) on
    standard error."""
    sys.stdout.write(render(ex.title, ex.blocks))
    sys.stdout.flush()
    print(f"title: {ex.title}", file=sys.stderr)
    print(f"date: {ex.published.isoformat() if ex.published else '-'}", file=sys.stderr)
    print(f"method: {ex.method}", file=sys.stderr)
    if pages is not None:
        print(f"pages: {pages}", file=sys.stderr)
    print(f"words: {ex.word_count}", file=sys.stderr)
    print(f"flags: {','.join(ex.flags) or '-'}", file=sys.stderr)
