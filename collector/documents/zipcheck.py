"""Archive bombs: DOCX and ODT are ZIP files, checked here before any parser opens them.

Members are counted, their declared sizes added up and capped, and each member the parser
will read is inflated once with the same caps (a declared size can lie).
"""

from __future__ import annotations

import io
import re
import zipfile

from .. import limits
from ..errors import ExtractError

_PAGES = re.compile(rb"<(?:\w+:)?Pages>(\d{1,7})</(?:\w+:)?Pages>")
_ODF_PAGES = re.compile(rb'meta:page-count="(\d{1,7})"')


def check_archive(data: bytes, what: str) -> zipfile.ZipFile:
    """The opened archive, or ExtractError for a damaged file or a bomb."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ExtractError(f"{what}: not a readable document archive ({exc})") from None
    infos = archive.infolist()
    if len(infos) > limits.MAX_DOCUMENT_STREAMS:
        raise ExtractError(f"{what}: {len(infos):,} archive members; refused as a bomb")
    total = 0
    for info in infos:
        if info.file_size > limits.MAX_DOCUMENT_INFLATED_BYTES:
            raise ExtractError(f"{what}: member {info.filename} inflates to"
                               f" {info.file_size:,} bytes; refused as a decompression bomb")
        total += info.file_size
        if total > limits.MAX_DOCUMENT_TOTAL_INFLATED_BYTES:
            raise ExtractError(f"{what}: the archive inflates to more than "
                               f"{limits.MAX_DOCUMENT_TOTAL_INFLATED_BYTES // 2**20} MiB;"
                               " refused as a decompression bomb")
    return archive


def read_member(archive: zipfile.ZipFile, name: str, what: str) -> bytes | None:
    """A member's bytes, read with the cap whatever its header claims; None if absent."""
    try:
        with archive.open(name) as member:
            data = member.read(limits.MAX_DOCUMENT_INFLATED_BYTES + 1)
    except KeyError:
        return None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ExtractError(f"{what}: damaged archive member {name} ({exc})") from None
    if len(data) > limits.MAX_DOCUMENT_INFLATED_BYTES:
        raise ExtractError(f"{what}: member {name} inflates to more than"
                           f" {limits.MAX_DOCUMENT_INFLATED_BYTES // 2**20} MiB; refused as a"
                           " decompression bomb")
    return data


def page_count(archive: zipfile.ZipFile, what: str) -> int | None:
    """Pages as the word processor last counted them (docProps/app.xml or meta.xml)."""
    for name, pattern in (("docProps/app.xml", _PAGES), ("meta.xml", _ODF_PAGES)):
        data = read_member(archive, name, what)
        if data:
            found = pattern.search(data)
            if found:
                return int(found.group(1))
    return None
