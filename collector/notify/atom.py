"""Atom 1.0 feeds of digests (RFC 4287), and writing them into place atomically.

Each entry's id is a urn:uuid derived from the document id and its revision: the first
revision's id never changes, and each correction of the stored text (revision 2, 3, ...) gets
an id of its own, because many readers ignore `updated` and would never show a correction that
kept its id. A feed holds one entry per statement, for its latest revision; `updated` is the
document's last change, for the readers that do track it. All times are written in UTC.

Statements a re-check found edited, removed or restored (collector.watch) are entries of
their own, one per transition, with an id made from the transition's: a reader shows each
once, and a feed rewritten later carries the same entry, never a second one.
Characters XML 1.0 cannot carry (NUL and most C0 controls, lone surrogates, U+FFFE/U+FFFF) are
dropped before writing, so the output is well-formed whatever the input held.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from collector import limits
from collector.errors import DeliveryError
from collector.notify import ChangeNote, DigestItem
from collector.notify.render import safe_url

ATOM_NS = "http://www.w3.org/2005/Atom"
#: Namespace of the entry and feed UUIDs (a fixed, random UUID: changing it changes every id).
ID_NAMESPACE = uuid.UUID("5d1c3f8e-2b7a-4e0c-9a31-7c4e2f6d8b90")
GENERATOR = "collector"

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

ET.register_namespace("", ATOM_NS)


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 cannot represent."""
    return _NOT_XML.sub("", value)


def entry_id(document_id: str, revision: int = 1) -> str:
    """The Atom id of one revision of a statement.

    Revision 1 keeps the id entries have always had (no churn for existing subscribers);
    later revisions name the revision in the UUID's name, so each is a distinct, still valid
    urn:uuid.
    """
    if revision < 1:
        raise ValueError(f"a document revision is 1 or more, not {revision}")
    name = f"document:{document_id}"
    if revision > 1:
        name += f":r{revision}"
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, name)}"


def change_entry_id(event_id: int) -> str:
    """The Atom id of one transition of a statement (edited, removed, restored)."""
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, f'change:{event_id}')}"


_CHANGE_TITLES = {"edited": "Edited", "removed": "Removed", "restored": "Back again"}


def _change_html(change: ChangeNote) -> str:
    parts = [f"<p>{html.escape(xml_text(change.reason), quote=False)}</p>"]
    if change.status:
        parts.append(f"<p>HTTP status: {change.status}</p>")
    if change.final_url and change.final_url != change.url and safe_url(change.final_url):
        parts.append(f"<p>Now leads to: {html.escape(xml_text(change.final_url))}</p>")
    return "\n".join(parts)


def feed_id(feed_key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, 'feed:' + feed_key)}"


def rfc3339(dt: datetime) -> str:
    """UTC, second precision, `Z` suffix. A naive time is taken to be UTC already."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}",
                       {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        el.text = xml_text(text)
    return el


def _content_html(blocks: Sequence[str]) -> str:
    """The full text as HTML paragraphs (escaped here; ElementTree escapes it again as text,
    which is what type="html" content means)."""
    return "\n".join(f"<p>{html.escape(xml_text(b), quote=False)}</p>" for b in blocks)


def render_atom(feed_id_key: str, title: str, items: Sequence[DigestItem], *,
                self_url: str, updated: datetime | None = None,
                alternate_url: str | None = None,
                max_entries: int = limits.FEED_MAX_ENTRIES,
                changes: Sequence[ChangeNote] = ()) -> bytes:
    """The Atom document (UTF-8 bytes) of a feed holding `items`, newest first.

    `updated` is the feed's own last change; when None it is the newest entry's (or the Unix
    epoch for an empty feed, so an unchanged feed renders to the same bytes).
    """
    ordered = sorted(items, key=lambda i: (i.collected if i.collected.tzinfo
                                           else i.collected.replace(tzinfo=UTC), i.seq),
                     reverse=True)[:max_entries]
    if updated is None:
        stamps = [i.updated_at if i.updated_at.tzinfo else i.updated_at.replace(tzinfo=UTC)
                  for i in ordered]
        stamps += [c.at if c.at.tzinfo else c.at.replace(tzinfo=UTC) for c in changes]
        updated = max(stamps) if stamps else datetime(1970, 1, 1, tzinfo=UTC)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(feed, "id", feed_id(feed_id_key))
    _sub(feed, "title", title)
    _sub(feed, "updated", rfc3339(updated))
    _sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    if alternate_url and safe_url(alternate_url):
        _sub(feed, "link", rel="alternate", href=alternate_url, type="text/html")
    _sub(feed, "generator", GENERATOR)
    # A feed-level author makes the feed valid even for an entry whose source has no name.
    _sub(_sub(feed, "author"), "name", title or GENERATOR)
    for item in ordered:
        entry = _sub(feed, "entry")
        _sub(entry, "id", entry_id(item.id, item.revision))
        _sub(entry, "title", item.title)
        _sub(entry, "updated", rfc3339(item.updated_at))
        if item.published is not None:
            _sub(entry, "published", rfc3339(item.published))
        if safe_url(item.url):
            _sub(entry, "link", rel="alternate", href=item.url, type="text/html")
        for name, url in item.also_published:
            if safe_url(url):
                _sub(entry, "link", rel="related", href=url, title=name)
        if item.source_name:
            _sub(_sub(entry, "author"), "name", item.source_name)
        _sub(entry, "category", term=item.source_id, label=item.source_name)
        for tag in item.tags:
            _sub(entry, "category", term=tag)
        _sub(entry, "content", _content_html(item.blocks), type="html")
    for change in changes[:max_entries]:
        entry = _sub(feed, "entry")
        _sub(entry, "id", change_entry_id(change.event_id))
        _sub(entry, "title", f"{_CHANGE_TITLES[change.kind]}: {change.title}")
        _sub(entry, "updated", rfc3339(change.at))
        if safe_url(change.url):
            _sub(entry, "link", rel="alternate", href=change.url, type="text/html")
        if change.source_name:
            _sub(_sub(entry, "author"), "name", change.source_name)
        _sub(entry, "category", term=change.source_id, label=change.source_name)
        _sub(entry, "category", term=change.kind)
        _sub(entry, "content", _change_html(change), type="html")
    ET.indent(feed, space=" ")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def write_atomic(path: Path, data: bytes) -> None:
    """Put `data` at `path` so a reader sees the old file or the new one, never a part.

    A temporary file in the same directory is written, flushed and fsynced, then renamed over
    `path`; the directory is fsynced so the rename survives a power cut.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise DeliveryError(f"cannot write feed {path}: {exc}", temporary=True) from exc
