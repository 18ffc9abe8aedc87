"""Splitting one page that holds several statements (a newspaper issue, a bulletin) into pieces.

Either at a CSS selector (each match is one piece) or at headings of one level (each heading
and what follows it, up to the next such heading, is one piece). Each piece comes back as
(fragment key, HTML): the key is a stable slug of its heading or id, unique within the page,
and the HTML starts with the piece's heading as <h1> so the extractor takes it as the title.
Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from . import limits
from .document import clean_line
from .errors import ParseError

_HEADING_LEVELS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", plain))[:60].strip("-")


def _key(node: LexborNode, heading: str, index: int, used: set[str]) -> str:
    base = node.attributes.get("id") or _slug(heading) or f"part-{index + 1}"
    key, n = base, 2
    while key in used:
        key, n = f"{base}-{n}", n + 1
    used.add(key)
    return key


def _ancestors(node: LexborNode) -> list[LexborNode]:
    out = []
    cur = node.parent
    while cur is not None:
        out.append(cur)
        cur = cur.parent
    return out


def split_document(html: str, *, selector: str | None, headings: str | None,
                   url: str) -> list[tuple[str, str]]:
    """The pieces of a page, in page order. Exactly one of `selector` or `headings` (a heading
    tag such as "h2") must be given. Raises ParseError for a bad selector or heading level.
    A page with no match yields no pieces (the caller keeps the page whole)."""
    if bool(selector) == bool(headings):
        raise ParseError(f"{url}: split needs either a selector or a heading level, not both")
    tree = LexborHTMLParser(html[: limits.MAX_HTML_BYTES])
    if selector:
        return _by_selector(tree, selector, url)
    level = (headings or "").strip().lower()
    if level not in _HEADING_LEVELS:
        raise ParseError(f"{url}: split headings must be one of h1..h6, not {headings!r}")
    return _by_headings(tree, level)


def _by_selector(tree: LexborHTMLParser, selector: str, url: str) -> list[tuple[str, str]]:
    try:
        nodes = tree.css(selector)
    except (SelectolaxError, ValueError) as exc:
        raise ParseError(f"{url}: split selector {selector!r} is not valid CSS") from exc
    # A match inside another match is part of it, not a piece of its own.
    ids = {n.mem_id for n in nodes}
    nodes = [n for n in nodes if not any(a.mem_id in ids for a in _ancestors(n))]
    out: list[tuple[str, str]] = []
    used: set[str] = set()
    for index, node in enumerate(nodes[: limits.MAX_SPLIT_PIECES]):
        heading_node = node.css_first(", ".join(_HEADING_LEVELS))
        heading = clean_line(heading_node.text(separator=" ")) if heading_node else ""
        body = node.html or ""
        if heading_node is not None:
            # The piece's own heading becomes its <h1>; the rest stays as it is.
            inner = heading_node.html or ""
            body = body.replace(inner, "", 1)
        out.append((_key(node, heading, index, used),
                    f"<article><h1>{_escape(heading)}</h1>{body}</article>" if heading
                    else f"<article>{body}</article>"))
    return out


def _by_headings(tree: LexborHTMLParser, level: str) -> list[tuple[str, str]]:
    heads = tree.css(level)
    if not heads:
        return []
    # The container whose children are the pieces: the deepest element holding every heading.
    common = _ancestors(heads[0])
    for head in heads[1:]:
        ids = {a.mem_id for a in _ancestors(head)}
        common = [a for a in common if a.mem_id in ids]
    container = common[0]
    top_of = {}
    for head in heads:
        cur = head
        while cur.parent is not None and cur.parent.mem_id != container.mem_id:
            cur = cur.parent
        top_of[head.mem_id] = cur.mem_id
    starts = {top_of[h.mem_id]: h for h in heads}
    out: list[tuple[str, str]] = []
    used: set[str] = set()
    current: tuple[LexborNode, list[str]] | None = None

    def flush() -> None:
        if current is None or len(out) >= limits.MAX_SPLIT_PIECES:
            return
        head, parts = current
        title = clean_line(head.text(separator=" "))
        out.append((_key(head, title, len(out), used),
                    f"<article><h1>{_escape(title)}</h1>{''.join(parts)}</article>"))

    child = container.child
    while child is not None:
        start = starts.get(child.mem_id)
        if start is not None:
            flush()
            own = child.html or ""
            # The child is the heading itself, or a wrapper (a <section>) that begins with it.
            rest = "" if child.mem_id == start.mem_id else own.replace(start.html or "", "", 1)
            current = (start, [rest])
        elif current is not None:
            current[1].append(child.html or (child.text() if child.tag == "-text" else ""))
        child = child.next
    flush()
    return out


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
