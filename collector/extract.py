"""HTML → Extracted (title, date, blocks) with selectolax. Pure: no I/O, no clock.

(First version: paragraphs and headings of the page; the extraction work replaces it.)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from selectolax.lexbor import LexborHTMLParser

from .document import clean_line
from .models import Extracted


def decode_html(body: bytes, content_type: str | None = None) -> str:
    return body.decode("utf-8", errors="replace")


def html_to_blocks(html: str) -> list[str]:
    tree = LexborHTMLParser(html)
    out = []
    for node in tree.css("p, h1, h2, h3, h4, li, blockquote"):
        text = clean_line(node.text(separator=" "))
        if text:
            out.append(text)
    return out


def extract(html: bytes | str, *, url: str | None = None,
            headers: Mapping[str, str] | None = None, content_selector: str | None = None,
            now: datetime | None = None) -> Extracted:
    if isinstance(html, bytes):
        html = decode_html(html, (headers or {}).get("content-type"))
    tree = LexborHTMLParser(html)
    h1 = tree.css_first("h1")
    title = clean_line(h1.text()) if h1 else ""
    root = tree.css_first(content_selector) if content_selector else None
    blocks = [clean_line(n.text(separator=" ")) for n in (root or tree).css("p")]
    return Extracted(title=title, blocks=tuple(b for b in blocks if b), method="page")
