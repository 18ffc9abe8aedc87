"""The corpus directory: one FORMAT.md file per document, and `index.jsonl` beside them.

Files are written atomically (temporary file in the same directory, fsync, rename), so a reader
or a crash never sees half a document. The database is the source of truth: a document whose
file was not written before a crash is written at the next start (`reconcile`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..document import file_name

INDEX_NAME = "index.jsonl"


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Corpus:
    """Writes documents and index lines into one directory."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)

    @property
    def index_path(self) -> Path:
        return self.dir / INDEX_NAME

    def path_for(self, seq: int, doc_id: str) -> Path:
        return self.dir / file_name(seq, doc_id)

    def write(self, seq: int, doc_id: str, text: str) -> Path:
        path = self.path_for(seq, doc_id)
        write_atomic(path, text.encode("utf-8"))
        return path

    def append_index(self, records: Iterable[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        if not lines:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        with open(self.index_path, "a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())

    def _repair_tail(self) -> None:
        """A crash mid-append can leave a last line without its newline: cut it off."""
        try:
            with open(self.index_path, "rb+") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                if size == 0:
                    return
                fh.seek(size - 1)
                if fh.read(1) == b"\n":
                    return
                fh.seek(max(0, size - 1_000_000))
                tail = fh.read()
                cut = tail.rfind(b"\n")
                fh.truncate(size - len(tail) + cut + 1 if cut >= 0 else size - len(tail))
        except FileNotFoundError:
            return

    def rewrite_index(self, records: Iterable[dict[str, Any]]) -> None:
        """Write the whole index anew (after updates or new locations), atomically."""
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        write_atomic(self.index_path, data.encode("utf-8"))

    def indexed_ids(self) -> set[str]:
        ids: set[str] = set()
        try:
            with open(self.index_path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        ids.add(json.loads(line)["id"])
                    except (ValueError, KeyError, TypeError):
                        continue
        except FileNotFoundError:
            pass
        return ids
