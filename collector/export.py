"""`collector export`: the corpus as data, in the format asked for.

    (no --format)     the corpus directory anew: one FORMAT.md file per statement and
                      index.jsonl, as the service writes them
    --format jsonl    one JSON object per line: the index.jsonl record with the text
    --format csv      one row per statement, metadata only (`--text` adds the text)
    --format parquet  one row per statement, typed columns, with the text (pyarrow, the
                      optional extra `parquet`)
    --format warc     the captured records (request, response, metadata) of the selected
                      statements, every revision's, copied byte for byte from the daily WARC
                      files into one .warc.gz (collector.capture)

Every file format writes the same records (`collector.store.query`, built by the store's
index.jsonl record builder), selected by `collector.selection`, read in batches of
`query.BATCH` so that memory stays flat whatever the corpus size. A format is one entry of
`WRITERS`: a writer, a function given the batches of records, the binary output and the job
(whose store gives whatever else a format needs), and whether its output is binary. Every field is
described in docs/codebook.md (a test holds the two together).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .capture import Warcs, export_statements
from .errors import CollectorError
from .selection import Selection
from .store import Store, query
from .store.corpus import Corpus, atomic_file

#: Every field of an exported record, in order, and its kind: `string`, `int`, `bool`, `time`
#: (ISO 8601 in UTC with a Z; a timestamp in Parquet), `strings` (a list of strings),
#: `locations` (a list of {source, url, seen, how}) or `provenance` (an object: how the text
#: was obtained, docs/evidence.md). All but `text` are index.jsonl's.
FIELDS: dict[str, str] = {
    "file": "string", "id": "string", "seq": "int", "title": "string", "source": "string",
    "url": "string", "canonical_url": "string", "published": "time", "collected": "time",
    "updated": "time", "revision": "int", "content_hash": "string", "method": "string",
    "language": "string", "author": "string", "words": "int", "backfill": "bool",
    "flags": "strings", "locations": "locations", "provenance": "provenance", "text": "string",
}
TEXT = "text"
#: Fields that may be null: a statement without a stated date, language or author.
#: And a statement stored before provenance was recorded.
NULLABLE = frozenset({"published", "language", "author", "provenance"})

Batches = Iterable[list[dict[str, Any]]]


@dataclass(frozen=True)
class Job:
    """What is exported: from which store, which statements, and (CSV) whether with text."""

    store: Store
    selection: Selection
    text: bool = False
    #: where the captured WARC files are (`Settings.warc_dir`): the warc format reads them
    warc_dir: Path | None = None


Writer = Callable[[Batches, IO[bytes], Job], None]


@dataclass
class Tally:
    """What an export wrote so far: statements, and the sequence number of the last one."""

    count: int = 0
    last_seq: int | None = None


def columns(first: dict[str, Any] | None, *, text: bool = True) -> list[str]:
    """The columns of a tabular export: the known fields, then any the record builder added
    that this module does not know yet (exported as text)."""
    names = [f for f in FIELDS if text or f != TEXT]
    if first is not None:
        names += [k for k in first if k not in FIELDS]
    return names


# --- JSON Lines ------------------------------------------------------------------------------


#: Characters JSON leaves raw that line-splitting readers (str.splitlines, some JSON Lines
#: tools) take for line breaks: written escaped, so one record is always one line.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def jsonl_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False).translate(_LINE_BREAKS) + "\n"


def write_jsonl(batches: Batches, out: IO[bytes], job: Job) -> None:
    """UTF-8 JSON, one record a line (LF)."""
    for batch in batches:
        out.write("".join(jsonl_line(r) for r in batch).encode("utf-8"))


# --- CSV -------------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: empty for null, true/false, lists and objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_csv(batches: Batches, out: IO[bytes], job: Job) -> None:
    """RFC 4180 CSV in UTF-8 (no byte-order mark), CRLF line ends, fields quoted when they
    hold a comma, a quote or a line break; a header row first."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        names: list[str] | None = None
        for batch in batches:
            if names is None:
                names = columns(batch[0] if batch else None, text=job.text)
                writer.writerow(names)
            writer.writerows([csv_cell(r.get(n)) for n in names] for r in batch)
        if names is None:
            writer.writerow(columns(None, text=job.text))
        text.flush()
    finally:
        text.detach()  # the caller owns `out`


# --- Parquet ---------------------------------------------------------------------------------

PARQUET_MISSING = ("the Parquet format needs pyarrow, which is not installed: "
                   "pip install 'collector[parquet]' (or pip install pyarrow)")


def _pyarrow() -> tuple[Any, Any]:
    # pyarrow is an optional extra: imported only by a Parquet export
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise CollectorError(PARQUET_MISSING) from None
    return pyarrow, pyarrow.parquet


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def parquet_schema(pa: Any, names: list[str]) -> Any:
    stamp = pa.timestamp("us", tz="UTC")
    kinds = {"string": pa.string(), "int": pa.int64(), "bool": pa.bool_(), "time": stamp,
             "strings": pa.list_(pa.string()),
             "locations": pa.list_(pa.struct([("source", pa.string()), ("url", pa.string()),
                                              ("seen", stamp), ("how", pa.string())])),
             "provenance": pa.struct([("requested_url", pa.string()),
                                      ("final_url", pa.string()), ("status", pa.int64()),
                                      ("fetched", stamp), ("warc_record_id", pa.string()),
                                      ("text_hash", pa.string())])}
    return pa.schema([(n, kinds[FIELDS.get(n, "string")]) for n in names])


def _parquet_value(kind: str | None, value: Any) -> Any:
    if kind == "time":
        return _time(value)
    if kind == "locations":
        return [{**loc, "seen": _time(loc.get("seen"))} for loc in value or []]
    if kind == "provenance" and value is not None:
        return {**value, "fetched": _time(value.get("fetched"))}
    if kind is None and value is not None and not isinstance(value, str):
        return csv_cell(value)  # a field this module does not know yet: as text
    return value


def write_parquet(batches: Batches, out: IO[bytes], job: Job) -> None:
    """One row group per batch, zstd-compressed, with the text."""
    pa, pq = _pyarrow()
    writer = None
    try:
        for batch in batches:
            if writer is None:
                names = columns(batch[0])
                schema = parquet_schema(pa, names)
                writer = pq.ParquetWriter(out, schema, compression="zstd")
            rows = {n: [_parquet_value(FIELDS.get(n), r.get(n)) for r in batch] for n in names}
            writer.write_table(pa.table(rows, schema=schema))
        if writer is None:
            writer = pq.ParquetWriter(out, parquet_schema(pa, columns(None)),
                                      compression="zstd")
    finally:
        if writer is not None:
            writer.close()


# --- WARC ------------------------------------------------------------------------------------


def write_warc(batches: Batches, out: IO[bytes], job: Job) -> None:
    """The captured records of the selected statements, in one .warc.gz after a warcinfo
    record; statements captured by none (a feed's own text, capture off, files the retention
    deleted) are counted but add no record."""
    if job.warc_dir is None:
        raise CollectorError("the warc format needs the directory of the captured WARC files")
    ids = [r["id"] for batch in batches for r in batch]
    export_statements(job.store, Warcs(job.warc_dir), ids, out)


@dataclass(frozen=True)
class Format:
    """A file format: its writer, and whether its output is binary (refused on a terminal)."""

    write: Writer
    binary: bool = False


#: The file formats, by the name --format takes: one line each.
WRITERS: dict[str, Format] = {
    "jsonl": Format(write_jsonl),
    "csv": Format(write_csv),
    "parquet": Format(write_parquet, binary=True),
    "warc": Format(write_warc, binary=True),
}


def check_format(fmt: str) -> None:
    """CollectorError for an unknown format, or one whose library is missing."""
    if fmt not in WRITERS:
        raise CollectorError(f"unknown export format {fmt!r} (formats: "
                             f"{', '.join(WRITERS)})")
    if fmt == "parquet":
        _pyarrow()


def export(job: Job, fmt: str, out: IO[bytes],
           progress: Callable[[Tally], None] | None = None) -> Tally:
    """Write the selected statements to `out` in `fmt`; what was written."""
    check_format(fmt)
    tally = Tally()

    def counted() -> Iterator[list[dict[str, Any]]]:
        sel = job.selection
        for batch in query.batches(job.store, sel.filters, sel.after_seq):
            yield batch
            # counted once the writer has taken the batch
            tally.count += len(batch)
            tally.last_seq = int(batch[-1]["seq"])
            if progress is not None:
                progress(tally)

    WRITERS[fmt].write(counted(), out, job)
    return tally


def summary(tally: Tally, fmt: str, where: str, after_seq: int | None) -> str:
    """The closing line: how many statements went where, and the sequence number an
    incremental export continues from (the one it started after, when it found nothing)."""
    last = tally.last_seq if tally.last_seq is not None else after_seq
    return (f"exported {tally.count} documents ({fmt}) to {where}"
            + (f"; last seq {last} (continue with --after-seq {last})"
               if last is not None else ""))


#: The file of `-o FILE`: it appears whole or not at all.
output_file = atomic_file


def export_directory(store: Store, directory: Path,
                     progress: Callable[[int], None] | None = None) -> int:
    """The corpus directory anew from the database (the default `collector export DIR`):
    every statement's file, then index.jsonl; the number of statements."""
    out = Corpus(directory)
    n = 0
    records: list[dict[str, Any]] = []
    for doc_batch in _document_batches(store):
        locs = store.locations([d.id for d in doc_batch])
        for d in doc_batch:
            out.write(d.seq, d.id, d.text)
            records.append(store.index_record(d, locs[d.id]))
        n += len(doc_batch)
        if progress is not None:
            progress(n)
    out.rewrite_index(records)
    return n


def _document_batches(store: Store, size: int = 500) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for doc in store.iter_documents():
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
