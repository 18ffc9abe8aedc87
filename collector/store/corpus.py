"""The corpus directory: one FORMAT.md file per document, and `index.jsonl` beside them.

Files are written atomically (temporary file in the same directory, fsync, rename), so a reader
or a crash never sees half a document. The database is the source of truth: a document whose
file was not written before a crash is written at the next start.

Whether index.jsonl agrees with the database is told without reading either: the database
counts its changes that the index shows (`Store.index_generation`), and a small state file
beside the index, `.index.jsonl.state`, records the generation the index reflects and the
index's size. Appending the line of a new document advances the recorded generation when the
index was up to date just before it (appends that finish out of order are remembered until
the gap is filled); other changes (a new location, a new text) leave it behind until the
index is rewritten. Equal generations and the recorded size mean the index agrees; anything
else (a kill before the rewrite, a lost or cut file) means it is rewritten at start-up.
Writers of the index (several processes may share a data directory) take an exclusive
`flock` on `.index.jsonl.lock` while they write it and its state.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..document import file_name

INDEX_NAME = "index.jsonl"
STATE_NAME = ".index.jsonl.state"
LOCK_NAME = ".index.jsonl.lock"
#: Generations appended out of order (concurrent polls finish in any order) that the state
#: remembers until the ones before them arrive; past this many it stops remembering, and the
#: index is rewritten at the end of the round.
MAX_AHEAD = 1000


@dataclass(frozen=True)
class IndexState:
    """What `.index.jsonl.state` records: every change up to `generation` is in the index,
    and so are the changes in `ahead`; the index was `size` bytes long when this was written."""

    generation: int
    size: int
    ahead: tuple[int, ...] = ()
    #: (generation, offset, length) of each line appended since the index was last written
    #: whole: a rewrite built from an older snapshot carries these over
    appends: tuple[tuple[int, int, int], ...] = ()


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A file that appears at `path` whole or not at all: written beside it under a temporary
    name, flushed, fsynced and renamed over `path` when the block ends without an error (then
    the directory is fsynced, so the rename survives a power cut); removed otherwise."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except FileNotFoundError:   # the directory's first file (no mkdir call for every file)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a mix."""
    with atomic_file(path) as fh:
        fh.write(data)


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
        #: the state file's bytes as this object last read or wrote them, what they say, and
        #: the JSON of their `appends`: the state grows by a line per append (up to
        #: MAX_AHEAD), and parsing and encoding it whole at every append made a round of
        #: 1,000 new documents quadratic (0.9-1.8 ms of CPU per append in its second half)
        self._known: tuple[bytes, IndexState, str] | None = None

    @property
    def index_path(self) -> Path:
        return self.dir / INDEX_NAME

    def path_for(self, seq: int, doc_id: str) -> Path:
        return self.dir / file_name(seq, doc_id)

    def write(self, seq: int, doc_id: str, text: str) -> Path:
        path = self.path_for(seq, doc_id)
        write_atomic(path, text.encode("utf-8"))
        return path

    @property
    def state_path(self) -> Path:
        return self.dir / STATE_NAME

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive use of the index and its state among processes sharing the directory."""
        try:
            fd = os.open(self.dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:   # no directory yet
            self.dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)   # releases the lock

    def index_state(self) -> IndexState | None:
        """The recorded state, or None (never written, unreadable)."""
        try:
            data = self.state_path.read_bytes()
        except OSError:
            return None
        known = self._known
        if known is not None and known[0] == data:
            # the bytes this object last wrote or read (the same bytes say the same,
            # whoever wrote them): no need to parse them again
            return known[1]
        try:
            raw = json.loads(data)
            state = IndexState(int(raw["generation"]), int(raw["size"]),
                               tuple(int(g) for g in raw.get("ahead", ())),
                               tuple((int(g), int(o), int(n))
                                     for g, o, n in raw.get("appends", ())))
        except (ValueError, KeyError, TypeError):
            return None
        self._known = (data, state, _appends_json(state.appends))
        return state

    def _write_state(self, state: IndexState | None) -> None:
        if state is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.state_path)
            return
        # Renamed into place but not fsynced: the index it vouches for is already on disk, so
        # whatever a crash leaves of this file (the old state, an empty or cut file) claims no
        # more than the index holds, and at worst costs one rewrite at the next start. Two
        # fsyncs per stored document were measurable when several workers share the index.
        known = self._known
        if known is not None and state.appends == known[1].appends:
            appends = known[2]
        elif (known is not None and len(state.appends) == len(known[1].appends) + 1
              and state.appends[:-1] == known[1].appends):
            # one line appended to what this object last wrote or read: its JSON extended
            appends = known[2][:-1] + ("," if known[1].appends else "") \
                + _appends_json(state.appends[-1:])[1:]
        else:
            appends = _appends_json(state.appends)
        data = (f'{{"generation": {state.generation:d}, "size": {state.size:d}, '
                f'"ahead": {json.dumps(list(state.ahead))}, "appends": {appends}}}'
                ).encode("ascii")
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{STATE_NAME}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, self.state_path)
        except BaseException:
            self._known = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._known = (data, state, appends)

    def _index_size(self) -> int | None:
        try:
            return self.index_path.stat().st_size
        except FileNotFoundError:
            return None

    def agrees(self, generation: int) -> bool:
        """Whether index.jsonl shows the database at `generation` (`Store.index_generation`):
        a stat and a small file read, whatever the size of the corpus."""
        state = self.index_state()
        size = self._index_size()
        if state is None:
            # nothing stored yet and no index: nothing to disagree about
            return size is None and generation == 0
        return state.generation == generation and (size or 0) == state.size

    def adopt_empty(self, generation: int) -> None:
        """Record that an index that does not exist yet shows `generation` (an empty database,
        `agrees` said so), so that the first appends can vouch for themselves."""
        if self.index_state() is None and self._index_size() is None:
            with self._locked():
                if self.index_state() is None and self._index_size() is None:
                    self._write_state(IndexState(generation, 0))

    def append_index(self, records: Iterable[dict[str, Any]],
                     generation: int | None = None) -> None:
        """Append lines; `generation` is the index generation of the change that made them
        (a new document). A line whose change a rewrite already wrote is not appended again."""
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        if not lines:
            return
        with self._locked():
            state = self.index_state()
            if generation is not None and state is not None and (
                    generation <= state.generation or generation in state.ahead):
                return
            encoded = lines.encode("utf-8")
            size = self._append(encoded)
            if state is None:
                return   # the index was never checked against the database: leave that to it
            length = len(encoded)
            if state.size != size - length or generation is None \
                    or len(state.appends) >= MAX_AHEAD:
                # the file changed behind the state's back, or this line cannot be told apart
                # from others: the state no longer vouches for anything
                self._write_state(None)
                return
            after = _advance(state, generation, size)
            self._write_state(IndexState(after.generation, size, after.ahead,
                                         (*state.appends, (generation, size - length, length))))

    def _append(self, data: bytes) -> int:
        """Append `data` to the index and sync it; the index's size after. A crash mid-append
        can leave a last line without its newline: it is cut off first. One open of the
        index does it all (opens are most of an append's CPU). Lock held."""
        fd = os.open(self.index_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                start = max(0, size - 1_000_000)
                tail = os.pread(fd, size - start, start)
                cut = tail.rfind(b"\n")
                size = start + cut + 1 if cut >= 0 else start
                os.ftruncate(fd, size)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            return size + len(data)
        finally:
            os.close(fd)

    def rewrite_index(self, records: Iterable[dict[str, Any]],
                      generation: int | None = None) -> None:
        """Write the whole index anew (after updates or new locations), atomically, and record
        that it shows `generation` (None: a directory not checked against a database).

        The new index is written (and `records` read) without holding the lock, so that other
        processes' appends do not wait for it; lines appended meanwhile by anyone are carried
        over into the new index before it replaces the old one."""
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        encoded = data.encode("utf-8")
        if generation is None:
            with self._locked():
                write_atomic(self.index_path, encoded)
                self._write_state(None)
            return
        with self._locked():
            state = self.index_state()
            carried, known = self._appended_since(state, generation, encoded)
            write_atomic(self.index_path, encoded + b"".join(carried))
            size = len(encoded) + sum(len(c) for c in carried)
            after = IndexState(generation, len(encoded))
            for g in known:
                after = _advance(after, g, size)
            self._write_state(IndexState(after.generation, size, after.ahead))

    def _appended_since(self, state: IndexState | None, generation: int, snapshot: bytes
                        ) -> tuple[list[bytes], list[int]]:
        """Lines the current index holds that a snapshot at `generation` lacks (appended after
        it was read), and the generations of those the state identifies."""
        try:
            with open(self.index_path, "rb") as fh:
                if state is not None and (self._index_size() or 0) == state.size:
                    carried, known = [], []
                    for g, offset, length in state.appends:
                        if g > generation:
                            fh.seek(offset)
                            carried.append(fh.read(length))
                            known.append(g)
                    return carried, known
                # no state to go by (a first rewrite, a file changed behind its back): carry
                # over every line whose document the snapshot does not hold
                ids = {_line_id(line) for line in snapshot.splitlines()}
                return [line for line in fh if line.endswith(b"\n")
                        and (doc_id := _line_id(line)) is not None and doc_id not in ids], []
        except FileNotFoundError:
            return [], []

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


def _appends_json(appends: tuple[tuple[int, int, int], ...]) -> str:
    return json.dumps([list(a) for a in appends], separators=(",", ":"))


def _advance(state: IndexState, generation: int | None, size: int) -> IndexState:
    """The state after appending the change `generation` (None: a change not counted)."""
    if generation is None:
        return IndexState(state.generation, size, state.ahead)
    ahead = set(state.ahead)
    ahead.add(generation)
    current = state.generation
    while current + 1 in ahead:
        current += 1
        ahead.discard(current)
    kept = tuple(sorted(g for g in ahead if g > current))
    if len(kept) > MAX_AHEAD:
        kept = kept[:MAX_AHEAD]
    return IndexState(current, size, kept)


def _line_id(line: bytes) -> str | None:
    try:
        value = json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
