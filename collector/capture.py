"""WARC capture: the fetches that become statements, kept as fetched, in daily WARC files.

What this module owns (the database's pointers are collector.store.capture's):

- the files: `<dir>/collector-YYYYMMDD-NNN.warc.gz` (WARC/1.1, gzip, one gzip member per
  record), one series per day (by the writer's clock, UTC), a new file (NNN + 1) once one
  reaches the size limit; each file opens with a `warcinfo` record;
- what one capture writes: a `request` record (the request as sent), a `response` record
  (status line, headers and body as received on the wire, in their content and transfer
  codings) and a `metadata` record (the source, the URL asked for, the final URL, the fetch
  time, the HTTP status, and the SHA-256 of the decoded body and of the stored text),
  contiguous, so one byte range (`CaptureRef`) holds them;
- crash safety: appends take an exclusive lock (`<dir>/.lock`: threads and processes alike);
  a file's committed length is kept in `<dir>/.committed/<file>` and written (and synced)
  only after the records it covers are synced; before an append, and at start-up for every
  file, whatever lies past the committed length (records of a writer killed mid-write) is cut
  off. The caller commits its database row only after `write` returns, so a row never points
  past a committed length: at a complete record;
- retention: whole files older than a number of days, or the oldest beyond a total size,
  are deleted (the pointers into them are cleared first, by the caller's callback).

The fetcher supplies the bytes (`Fetched.wire`, with `FetchPolicy.capture`); redirect hops
before the last are not captured (the metadata record names the URL first asked for).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import hashlib
import io
import os
import re
import sys
import threading
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from warcio.warcwriter import WARCWriter

from . import __version__
from .models import CaptureRef, Wire
from .store import Store
from .store import capture as stored_captures

#: Test hook for the crash tests (tests/test_capture_crash.py) only: "mid-record@N" stops
#: the process's Nth write after half of its bytes reached the disk, "before-commit@N" once
#: they all have but before the committed length is written; the process then says so on
#: stderr and waits (for the SIGKILL).
_FAULT, _, _FAULT_AT = os.environ.get("COLLECTOR_CAPTURE_FAULT", "").partition("@")
_writes = 0
_NAME = re.compile(r"^collector-(\d{8})-(\d{3,})\.warc\.gz$")
_COMMITTED_DIR = ".committed"
_LOCK = ".lock"
#: width of the committed length as written (fixed: rewritten in place)
_WIDTH = 20
DEFAULT_MAX_FILE_BYTES = 1024 ** 3
#: most captures written by one append and sync
MAX_BATCH = 64


def text_hash(text: str) -> str:
    """The stored text's hash, as provenance gives it."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CaptureMeta:
    """What the metadata record says about one capture besides the exchange itself."""

    source_id: str
    requested_url: str
    statement_id: str
    text_hash: str


@dataclass(frozen=True)
class WarcFile:
    name: str
    day: str          # YYYYMMDD
    number: int
    size: int


class CaptureError(Exception):
    """A WARC file could not be written (disk full, permissions): the statement is stored
    without its capture."""


class CaptureQueue:
    """The asynchronous front of `Warcs` for a poller: captures asked for while a write is in
    progress are written together by the next one (one append, one sync), on a thread of its
    own, so concurrent polls share the cost of a sync and keep the shared thread pool free."""

    def __init__(self, warcs: Warcs) -> None:
        self.warcs = warcs
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="capture")
        weakref.finalize(self, self._thread.shutdown, wait=False)
        self._pending: list[tuple[Wire, CaptureMeta, asyncio.Future[CaptureRef]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def write(self, wire: Wire, meta: CaptureMeta) -> CaptureRef:
        """The capture written and synced (CaptureError if it could not be)."""
        future: asyncio.Future[CaptureRef] = asyncio.get_running_loop().create_future()
        self._pending.append((wire, meta, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                refs = await loop.run_in_executor(
                    self._thread, self.warcs.write_many, [(w, m) for w, m, _ in batch])
            except Exception as exc:
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (*_, future), ref in zip(batch, refs, strict=True):
                if not future.done():
                    future.set_result(ref)

    def close(self) -> None:
        """End the capture thread once the write in progress is done."""
        self._thread.shutdown(wait=True)


class Warcs:
    """The WARC directory of one process; thread-safe, and safe beside other processes."""

    def __init__(self, directory: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.dir = Path(directory)
        self.max_file_bytes = max(1, max_file_bytes)
        self.clock = clock
        self._lock = threading.Lock()
        self._ready = False

    # -- locking and the committed lengths -----------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if not self._ready:
                (self.dir / _COMMITTED_DIR).mkdir(parents=True, exist_ok=True)
                self._ready = True
            fd = os.open(self.dir / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)   # releases the lock

    def _committed_path(self, name: str) -> Path:
        return self.dir / _COMMITTED_DIR / name

    def committed_length(self, name: str) -> int | None:
        """The committed length of file `name`, or None when it is not known."""
        try:
            raw = self._committed_path(name).read_bytes()
        except FileNotFoundError:
            return None
        text = raw.strip()
        return int(text) if text.isdigit() and len(raw) == _WIDTH + 1 else None

    def _commit(self, name: str, length: int) -> None:
        # Not synced: the length is where the search for the last complete record starts,
        # and a stale one (a power cut) only makes that search longer.
        fd = os.open(self._committed_path(name), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, b"%0*d\n" % (_WIDTH, length), 0)
        finally:
            os.close(fd)

    def _repair(self, name: str) -> int:
        """Cut file `name` back to its last complete record, searched from its committed
        length (from the start when that is not recorded); returns the file's length then.
        Lock held."""
        path = self.dir / name
        size = path.stat().st_size
        good = self.committed_length(name)
        if good == size:
            return good
        if good is None or good > size:
            good = 0
        good = complete_length(path, good)
        self._commit(name, good)
        if size > good:
            with open(path, "r+b") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())
        return good

    def recover(self) -> list[str]:
        """Cut every file back to its last complete record (start-up); the names cut."""
        cut = []
        with self._locked():
            for wf in self.files():
                if self._repair(wf.name) != wf.size:
                    cut.append(wf.name)
        return cut

    # -- files ---------------------------------------------------------------------------------

    def files(self, day: str | None = None) -> list[WarcFile]:
        """The WARC files (of one day, YYYYMMDD), oldest first."""
        out = []
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.dir):
                m = _NAME.match(entry.name)
                if m and (day is None or m.group(1) == day) and entry.is_file():
                    out.append(WarcFile(entry.name, m.group(1), int(m.group(2)),
                                        entry.stat().st_size))
        return sorted(out, key=lambda f: (f.day, f.number))

    def _target(self, day: str) -> tuple[str, int]:
        """The file to append to today, and its committed length (lock held)."""
        today = self.files(day)
        if today:
            last = today[-1]
            length = self._repair(last.name)
            if length < self.max_file_bytes:
                return last.name, length
            number = last.number + 1
        else:
            number = 0
        return f"collector-{day}-{number:03d}.warc.gz", 0

    # -- writing -------------------------------------------------------------------------------

    def write(self, wire: Wire, meta: CaptureMeta) -> CaptureRef:
        """Append the capture of one exchange (`Fetched.wire`); synced to disk when this
        returns."""
        return self.write_many([(wire, meta)])[0]

    def write_many(self, captures: Sequence[tuple[Wire, CaptureMeta]]) -> list[CaptureRef]:
        """Append several captures in one write and one sync (to one file: a batch may take
        it past the rotation size); all synced to disk when this returns."""
        global _writes
        day = self.clock().astimezone(UTC).strftime("%Y%m%d")
        refs: list[tuple[int, int, dict[str, str]]] = []
        try:
            with self._locked():
                name, base = self._target(day)
                path = self.dir / name
                buf = io.BytesIO()
                writer = WARCWriter(buf, gzip=True, warc_version="WARC/1.1")
                if base == 0:
                    writer.write_record(writer.create_warcinfo_record(name, {
                        "software": f"collector/{__version__}",
                        "format": "WARC File Format 1.1",
                        "conformsTo": "https://iipc.github.io/warc-specifications/"
                                      "specifications/warc-format/warc-1.1/"}))
                fault = ""
                for wire, meta in captures:
                    start = buf.tell()
                    ids = _write_exchange(writer, wire, meta)
                    refs.append((base + start, buf.tell() - start, ids))
                    _writes += 1
                    if _FAULT and str(_writes) == _FAULT_AT:
                        fault = _FAULT
                data = buf.getvalue()
                f = open(path, "ab")   # noqa: SIM115 - synced and closed below
                try:
                    if fault == "mid-record":
                        _fault_point(f, data)
                    f.write(data)
                    f.flush()
                    end = base + len(data)
                    if fault == "before-commit":
                        _pause("records written, length not committed")
                    self._commit(name, end)
                except BaseException:
                    f.close()
                    raise
            # synced outside the lock: captures of other polls append meanwhile, and one
            # fsync then covers several of them
            with f:
                os.fsync(f.fileno())
        except OSError as exc:
            urls = ", ".join(wire.url for wire, _ in captures[:3])
            more = f" and {len(captures) - 3} more" if len(captures) > 3 else ""
            raise CaptureError(f"cannot write the capture of {urls}{more} to "
                               f"{self.dir}: {exc}") from exc
        return [CaptureRef(file=name, offset=offset, length=length, **ids)
                for offset, length, ids in refs]

    # -- reading -------------------------------------------------------------------------------

    def read(self, ref: CaptureRef | tuple[str, int, int]) -> bytes:
        """The bytes of a capture's records, as they are in the file."""
        name, offset, length = ((ref.file, ref.offset, ref.length)
                                if isinstance(ref, CaptureRef) else ref)
        with open(self.dir / name, "rb") as f:
            f.seek(offset)
            data = f.read(length)
        if len(data) != length:
            raise CaptureError(f"{name} holds no complete record at {offset}+{length}")
        return data

    def export(self, refs: Iterable[tuple[str, int, int]], out: IO[bytes]) -> int:
        """Copy the records at `refs` byte for byte to `out` (a .warc.gz of them), after a
        warcinfo record of its own; returns how many ranges were copied."""
        name = getattr(out, "name", "export.warc.gz")
        writer = WARCWriter(out, gzip=True, warc_version="WARC/1.1")
        writer.write_record(writer.create_warcinfo_record(os.path.basename(str(name)), {
            "software": f"collector/{__version__}",
            "description": "records copied from collector's capture files"}))
        n = 0
        for ref in refs:
            out.write(self.read(ref))
            n += 1
        return n

    # -- retention -----------------------------------------------------------------------------

    def expired(self, *, keep_days: int | None, keep_bytes: int | None) -> list[WarcFile]:
        """Files beyond the retention: older than `keep_days` whole days (by the name's day and
        the writer's clock), then the oldest while the total exceeds `keep_bytes`. The newest
        file is never among them (it may be being written)."""
        files = self.files()
        if len(files) <= 1:
            return []
        candidates = files[:-1]
        out: list[WarcFile] = []
        if keep_days is not None:
            cutoff = (self.clock().astimezone(UTC) - timedelta(days=keep_days)).strftime("%Y%m%d")
            out = [f for f in candidates if f.day < cutoff]
        if keep_bytes is not None:
            total = sum(f.size for f in files) - sum(f.size for f in out)
            for f in candidates:
                if total <= keep_bytes:
                    break
                if f not in out:
                    out.append(f)
                    total -= f.size
        return out

    def prune(self, *, keep_days: int | None, keep_bytes: int | None,
              clear: Callable[[Sequence[str]], object]) -> list[str]:
        """Delete the files beyond the retention; `clear(names)` drops the database's pointers
        into them first (a crash in between leaves files no row points into, deleted by the
        next run). Returns the names deleted."""
        with self._locked():
            gone = [f.name for f in self.expired(keep_days=keep_days, keep_bytes=keep_bytes)]
            if not gone:
                return []
            clear(gone)
            for name in gone:
                with contextlib.suppress(FileNotFoundError):
                    (self.dir / name).unlink()
                with contextlib.suppress(FileNotFoundError):
                    self._committed_path(name).unlink()
        return gone


def export_statements(store: Store, warcs: Warcs, doc_ids: Sequence[str] | None,
                      out: IO[bytes]) -> tuple[int, int]:
    """Write the captured records of the statements `doc_ids` (every statement with None) to
    `out` as one .warc.gz: each capture of each (every revision's, oldest first) copied byte
    for byte from the daily files. Captures whose file the retention deleted are left out.
    Returns (statements with at least one capture written, captures written)."""
    views = stored_captures.captures(store, doc_ids)
    kept = [v for v in views if v.pointer is not None]
    written = warcs.export((v.pointer for v in kept if v.pointer is not None), out)
    return len({v.document_id for v in kept}), written


def _write_exchange(writer: WARCWriter, wire: Wire, meta: CaptureMeta) -> dict[str, str]:
    """The request, response and metadata records of one capture."""
    date = wire.fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    url = wire.url
    common = {"WARC-Date": date}
    if wire.ip:
        common["WARC-IP-Address"] = wire.ip.split("%", 1)[0]
    response = writer.create_warc_record(
        url, "response", payload=io.BytesIO(wire.response), length=len(wire.response),
        warc_content_type="application/http; msgtype=response", warc_headers_dict=common)
    response_id = response.rec_headers.get_header("WARC-Record-ID")
    request = writer.create_warc_record(
        url, "request", payload=io.BytesIO(wire.request), length=len(wire.request),
        warc_content_type="application/http; msgtype=request",
        warc_headers_dict={**common, "WARC-Concurrent-To": response_id})
    fields = "".join(f"{k}: {v}\r\n" for k, v in (
        ("source-id", meta.source_id), ("requested-url", meta.requested_url),
        ("final-url", url), ("fetch-time", date), ("http-status", str(wire.status)),
        ("decoded-payload-digest", wire.decoded_digest),
        ("decoded-length", str(wire.decoded_length)),
        ("statement-id", meta.statement_id), ("text-digest", meta.text_hash))).encode()
    metadata = writer.create_warc_record(
        url, "metadata", payload=io.BytesIO(fields), length=len(fields),
        warc_content_type="application/warc-fields",
        warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id})
    for record in (request, response, metadata):
        writer.write_record(record)
    return {"response_id": response_id,
            "request_id": request.rec_headers.get_header("WARC-Record-ID"),
            "metadata_id": metadata.rec_headers.get_header("WARC-Record-ID")}


def _fault_point(f: IO[bytes], data: bytes) -> None:
    f.write(data[: len(data) // 2])
    f.flush()
    os.fsync(f.fileno())
    _pause("half a record written")


def _pause(what: str) -> None:
    sys.stderr.write(f"capture fault point: {what}\n")
    sys.stderr.flush()
    threading.Event().wait()


def complete_length(path: Path | str, start: int = 0) -> int:
    """The end of the longest run of complete gzip members from `start` (a member boundary)
    on: where a file cut mid-record (a killed writer) stops being whole."""
    good = start
    with open(path, "rb") as f:
        data = _Members(f)
        while True:
            end = data.next_member(good)
            if end is None:
                return good
            good = end


class _Members:
    """Walks the gzip members of a file, chunk by chunk."""

    _CHUNK = 1 << 16

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f

    def next_member(self, start: int) -> int | None:
        """The end of the complete gzip member starting at `start`, or None."""
        self.f.seek(start)
        z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pos = start
        while True:
            chunk = self.f.read(self._CHUNK)
            if not chunk:
                return None
            try:
                # the output is dropped; the bound keeps memory flat for any member size
                z.decompress(chunk, 1)
                while z.unconsumed_tail and not z.eof:
                    z.decompress(z.unconsumed_tail, 1 << 20)
            except zlib.error:
                return None
            if z.eof:
                return pos + len(chunk) - len(z.unused_data)
            pos += len(chunk)
