"""OPML import: the feeds of a feed reader's export appended to sources.yaml.

The YAML file is edited round-trip (ruamel.yaml), so its comments, key order and layout survive;
only new entries are appended to `sources:`. Feeds whose URL is already present are skipped.
Ids are made from the feed's title (else its host and path), are unique in the file, and are
the same for the same feed on every import. The OPML is read without DOCTYPE or entities, so a
hostile export cannot expand or fetch anything. The file is replaced atomically.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from .discover.links import normalise_url
from .errors import ConfigError

#: Feeds taken from one OPML file: real exports hold hundreds, not hundreds of thousands.
_MAX_FEEDS = 10_000
_MAX_OPML_BYTES = 10 * 1024 * 1024
_DECLARATION = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class Skipped:
    """An OPML entry that was not imported, and why (in words)."""

    url: str
    title: str | None
    reason: str


@dataclass(frozen=True)
class ImportReport:
    added: list[str]
    skipped: list[Skipped] = field(default_factory=list)


def read_opml(opml_path: Path | str, skipped: list[Skipped] | None = None
              ) -> list[tuple[str, str | None, tuple[str, ...]]]:
    """(feed URL, title, categories) for every feed outline, in file order; outlines that are
    not feeds are added to `skipped` when given. Raises ConfigError for a file that is not
    OPML."""
    path = Path(opml_path)
    try:
        raw = path.read_bytes()[: _MAX_OPML_BYTES + 1]
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
    if len(raw) > _MAX_OPML_BYTES:
        raise ConfigError([f"{path}: larger than {_MAX_OPML_BYTES} bytes"])
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    if _DECLARATION.search(text):
        raise ConfigError([f"{path}: DOCTYPE or entity declarations are not accepted in OPML"])
    try:
        root = ElementTree.fromstring(text.encode("utf-8"))
    except ElementTree.ParseError as exc:
        raise ConfigError([f"{path}: not well-formed XML ({exc})"]) from exc
    if root.tag.lower() != "opml" or root.find("body") is None:
        raise ConfigError([f"{path}: not an OPML file (no <opml><body>)"])
    feeds: list[tuple[str, str | None, tuple[str, ...]]] = []

    def walk(node: ElementTree.Element, categories: tuple[str, ...]) -> None:
        for outline in node.findall("outline"):
            attrs = {k.lower(): v for k, v in outline.attrib.items()}
            title = (attrs.get("title") or attrs.get("text") or "").strip() or None
            url = (attrs.get("xmlurl") or "").strip()
            if url and len(feeds) >= _MAX_FEEDS:
                if skipped is not None:
                    skipped.append(Skipped(url, title, f"more than {_MAX_FEEDS} feeds in one "
                                                        "file; import the rest separately"))
            elif url:
                feeds.append((url, title, categories))
            elif outline.find("outline") is not None:
                walk(outline, (*categories, title) if title else categories)
            elif skipped is not None and (attrs.get("htmlurl") or title):
                skipped.append(Skipped((attrs.get("htmlurl") or "").strip(), title,
                                       "no feed address (xmlUrl); add the site by hand as a "
                                       "page source"))

    walk(root.find("body"), ())  # type: ignore[arg-type]
    return feeds


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", plain))[:48].strip("-")


def _base_id(url: str, title: str | None) -> str:
    slug = _slug(title or "")
    if not slug:
        parts = urlsplit(url)
        host = (parts.hostname or "feed").removeprefix("www.")
        slug = _slug(f"{host} {parts.path}") or "feed"
    return slug


def _load(sources_yaml_path: Path, yaml: YAML) -> CommentedMap:
    if not sources_yaml_path.exists() or not sources_yaml_path.read_text(encoding="utf-8").strip():
        return CommentedMap(sources=CommentedSeq())
    try:
        data = yaml.load(sources_yaml_path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        raise ConfigError([f"{sources_yaml_path}: not valid YAML: {exc}"]) from exc
    if not isinstance(data, CommentedMap):
        raise ConfigError([f"{sources_yaml_path}: the top level must be a mapping with sources:"])
    if data.get("sources") is None:
        data["sources"] = CommentedSeq()
    if not isinstance(data["sources"], CommentedSeq):
        raise ConfigError([f"{sources_yaml_path}: 'sources' must be a list"])
    return data


def import_opml(opml_path: Path | str, sources_yaml_path: Path | str) -> list[str]:
    """Append the OPML's feeds to sources.yaml as `kind: feed` sources; returns the ids added.
    Raises ConfigError for an unreadable or invalid OPML or sources.yaml."""
    return import_opml_report(opml_path, sources_yaml_path).added


def import_opml_report(opml_path: Path | str, sources_yaml_path: Path | str) -> ImportReport:
    """`import_opml`, also saying which entries were skipped and why."""
    skipped: list[Skipped] = []
    feeds = read_opml(opml_path, skipped)
    target = Path(sources_yaml_path)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    # ruamel re-emits lists with its own indentation: use the file's (`  - id:` by default).
    existing = target.read_text(encoding="utf-8") if target.exists() else ""
    dash = re.search(r"^sources:[^\n]*\n(?:[ \t]*(?:#[^\n]*)?\n)*( *)- ", existing, re.MULTILINE)
    offset = len(dash.group(1)) if dash else 2
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    data = _load(target, yaml)
    sources: CommentedSeq = data["sources"]
    present_urls: dict[str | None, str] = {}
    ids = set()
    for entry in sources:
        if isinstance(entry, dict):
            if entry.get("url"):
                present_urls[normalise_url(str(entry["url"]), str(entry["url"]))] = (
                    f"source '{entry.get('id')}'")
            if entry.get("id"):
                ids.add(str(entry["id"]))
    added: list[str] = []
    for url, title, categories in feeds:
        key = normalise_url(url, url)
        if key is None:
            skipped.append(Skipped(url, title, "not an http(s) address"))
            continue
        if key in present_urls:
            skipped.append(Skipped(url, title, f"already in sources.yaml as "
                                               f"{present_urls[key]}"))
            continue
        base = _base_id(url, title)
        sid, n = base, 2
        while sid in ids:
            sid, n = f"{base}-{n}", n + 1
        ids.add(sid)
        present_urls[key] = f"source '{sid}' (earlier in this file)"
        entry = CommentedMap()
        entry["id"] = sid
        if title:
            entry["name"] = title
        entry["url"] = url
        entry["kind"] = "feed"
        tags = [_slug(c) for c in categories if _slug(c)]
        if tags:
            entry["tags"] = tags
        sources.append(entry)
        added.append(sid)
    if added:
        _write_atomically(target, yaml, data)
    return ImportReport(added, skipped)


def _write_atomically(target: Path, yaml: YAML, data: CommentedMap) -> None:
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
