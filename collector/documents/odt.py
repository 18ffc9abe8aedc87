"""ODT (OpenDocument text) → blocks and metadata, read as ZIP + XML with lxml.

Runs in a parse worker after `zipcheck.check_archive`. The XML parser resolves no entities,
loads nothing from the network and refuses huge trees. Headings (`text:h`), paragraphs and
list items come out as blocks; tracked changes come out accepted (the deleted text lives in
`text:tracked-changes`, which is skipped), and notes, annotations and the like are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dateutil import parser as dateparser
from lxml import etree

from ..document import clean_line
from ..errors import ExtractError
from .reflow import Block
from .zipcheck import read_member

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_DC = "http://purl.org/dc/elements/1.1/"
_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
_H, _P, _LIST, _ITEM = (f"{{{_TEXT}}}h", f"{{{_TEXT}}}p", f"{{{_TEXT}}}list",
                        f"{{{_TEXT}}}list-item")
_SPACE, _TAB, _BREAK = f"{{{_TEXT}}}s", f"{{{_TEXT}}}tab", f"{{{_TEXT}}}line-break"
_SKIP = frozenset({f"{{{_TEXT}}}tracked-changes", f"{{{_TEXT}}}note",
                   f"{{{_OFFICE}}}annotation", f"{{{_TEXT}}}deletion",
                   f"{{{_TEXT}}}table-of-content", f"{{{_TEXT}}}sequence-decls"})


@dataclass
class OdtText:
    blocks: list[Block]
    title: str | None
    created: datetime | None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           load_dtd=False, remove_comments=True)


def read_odt(archive: object, what: str) -> OdtText:
    content = read_member(archive, "content.xml", what)  # type: ignore[arg-type]
    if content is None:
        raise ExtractError(f"{what}: no content.xml: not an OpenDocument text")
    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as exc:
        raise ExtractError(f"{what}: damaged content.xml ({exc})") from None
    blocks: list[Block] = []
    body = root.find(f"{{{_OFFICE}}}body/{{{_OFFICE}}}text")
    if body is not None:
        _walk(body, blocks, in_list=False)
    title = created = None
    meta = read_member(archive, "meta.xml", what)  # type: ignore[arg-type]
    if meta:
        try:
            mroot = etree.fromstring(meta, _parser())
            node = mroot.find(f".//{{{_DC}}}title")
            title = clean_line(node.text or "") if node is not None else None
            node = mroot.find(f".//{{{_META}}}creation-date")
            if node is None:
                node = mroot.find(f".//{{{_DC}}}date")
            if node is not None and node.text:
                created = dateparser.isoparse(node.text.strip())
        except (etree.XMLSyntaxError, ValueError, OverflowError):
            pass  # metadata is a hint; the text stands without it
    return OdtText(blocks, title or None, created)


def _walk(el: etree._Element, out: list[Block], in_list: bool) -> None:
    for child in el:
        tag = child.tag
        if tag in _SKIP or not isinstance(tag, str):
            continue
        if tag == _H:
            raw_level = child.get(f"{{{_TEXT}}}outline-level") or "1"
            level = int(raw_level) if raw_level.isdigit() else 1
            _add(out, "h", _inline(child), 20.0 - min(level, 6))
        elif tag == _P:
            _add(out, "li" if in_list else "p", _inline(child), 11.0)
        elif tag in (_LIST, _ITEM):
            _walk(child, out, in_list=True)
        else:
            _walk(child, out, in_list)


def _add(out: list[Block], kind: str, text: str, size: float) -> None:
    text = clean_line(text)
    if text:
        out.append(Block(kind, text, size, 0))


def _inline(el: etree._Element) -> str:
    parts = [el.text or ""]
    for child in el:
        tag = child.tag
        if isinstance(tag, str) and tag not in _SKIP:
            if tag == _SPACE:
                parts.append(" " * int(child.get(f"{{{_TEXT}}}c") or 1))
            elif tag in (_TAB, _BREAK):
                parts.append(" ")
            else:
                parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)
