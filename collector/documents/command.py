"""`collector extract FILE` for a saved document (PDF, DOCX, ODT): print it as it would be
stored, with its title, date, method, pages and flags on standard error. The parse runs in a
bounded worker, as in the service, so a bomb is refused the same way."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import limits
from ..document import print_extracted, render
from ..errors import ExtractError
from ..isolate import Isolator
from . import kind_of
from .parse import parse_document


def extract_document(path: str, url: str | None) -> int | None:
    """The command's exit status, or None when `path` is not a document (standard input and
    HTML pages are left to the HTML extractor)."""
    if path == "-":
        return None
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None  # the HTML extractor reports the error in its usual words
    kind = kind_of(data, "", url or path)
    if kind is None:
        return None
    target = url or Path(path).resolve().as_uri()
    try:
        with Isolator(1) as worker:
            parsed = worker.call(parse_document, data, kind, url=target,
                                 timeout_s=limits.DOCUMENT_TIMEOUT_S)
        ex = parsed.extracted
        render(ex.title, ex.blocks)  # a document that cannot be written is an error here
    except (ExtractError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print_extracted(ex, pages=parsed.pages)
    return 0
