"""`collector export` as data: every format read back with its standard reader (json, csv,
pyarrow.parquet) equals the database; the filters select what the database says they should;
incremental exports continue from the sequence number printed; the codebook lists exactly the
fields written."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from collector import export
from collector.cli import main
from collector.store import query
from collector.store.browse import Filters
from tests import corpus_world as world
from tests.corpus_world import database, expected_ids

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def corpus(tmp_path):
    config, store = world.make(tmp_path)
    docs = world.populate(store)
    yield config, store, docs
    store.close()


def run_export(config, capsys, *args):
    code = main(["--config", str(config.path), "export", *args])
    err = capsys.readouterr().err
    return code, err


def exported_jsonl(config, capsys, tmp_path, *args):
    out = tmp_path / "out.jsonl"
    code, err = run_export(config, capsys, "--format", "jsonl", "-o", str(out), *args)
    assert code == 0, err
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()], err


# --- each format, read back ------------------------------------------------------------------


def test_jsonl_is_the_index_records_with_the_text(corpus, capsys, tmp_path):
    config, store, docs = corpus
    records, err = exported_jsonl(config, capsys, tmp_path)
    assert records == database(store)
    assert len(records) == len(docs) == store.count_documents()
    first = next(r for r in records if r["id"] == docs[0].id)
    assert first["revision"] == 2 and "closed again" in first["text"]
    assert [loc["source"] for loc in first["locations"]] == ["reddawn", "vanguard"]
    assert f"exported {len(docs)} documents (jsonl)" in err


def test_csv_read_back_with_the_csv_module(corpus, capsys, tmp_path):
    config, store, _docs = corpus
    out = tmp_path / "out.csv"
    code, err = run_export(config, capsys, "--format", "csv", "--text", "-o", str(out))
    assert code == 0, err
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # UTF-8 without a byte-order mark
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = database(store)
    assert len(rows) == len(expected)
    assert list(rows[0]) == list(export.FIELDS)
    for row, record in zip(rows, expected, strict=True):
        assert row == {k: export.csv_cell(v) for k, v in record.items()}
        assert row["text"] == record["text"]             # line breaks and quotes survive
        assert json.loads(row["locations"]) == record["locations"]
        assert row["published"] == (record["published"] or "")
    # metadata only without --text
    code, err = run_export(config, capsys, "--format", "csv", "-o", str(out))
    with out.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert code == 0 and "text" not in header and header == list(export.FIELDS)[:-1]


def test_parquet_read_back_with_pyarrow(corpus, capsys, tmp_path):
    config, store, _docs = corpus
    out = tmp_path / "out.parquet"
    code, err = run_export(config, capsys, "--format", "parquet", "-o", str(out))
    assert code == 0, err
    table = pq.read_table(out)
    assert table.schema.names == list(export.FIELDS)
    assert str(table.schema.field("published").type) == "timestamp[us, tz=UTC]"
    rows = table.to_pylist()
    expected = database(store)
    assert len(rows) == len(expected) == table.num_rows
    for row, record in zip(rows, expected, strict=True):
        for name, value in record.items():
            kind = export.FIELDS[name]
            if kind == "time":
                assert row[name] == (datetime.fromisoformat(value) if value else None), name
            elif kind == "locations":
                assert [{**loc, "seen": loc["seen"].astimezone(UTC).isoformat()
                         .replace("+00:00", "Z")} for loc in row[name]] == value
            elif kind == "provenance" and value is not None:
                fetched = row[name]["fetched"]
                assert {**row[name], "fetched": fetched and fetched.astimezone(UTC).isoformat()
                        .replace("+00:00", "Z")} == value
            else:
                assert row[name] == value, name


def test_standard_output_and_an_empty_selection(corpus, tmp_path, capsysbinary):
    config, store, docs = corpus
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    done = subprocess.run([sys.executable, "-m", "collector.cli", "--config", str(config.path),
                           "export", "--format", "jsonl", "-o", "-"], capture_output=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == database(store)
    base = ["--config", str(config.path), "export"]
    assert main([*base, "--format", "parquet", "--language", "fr"]) == 0
    table = pq.read_table(io.BytesIO(capsysbinary.readouterr().out))
    assert sorted(table.column("id").to_pylist()) == sorted(
        d.id for d in docs if d.language == "fr")
    # nothing selected: a valid file with the columns and no rows, in every format
    for fmt in export.WRITERS:
        assert main([*base, "--format", fmt, "--language", "xx"]) == 0
        out, err = capsysbinary.readouterr()
        assert b"exported 0 documents" in err
        if fmt == "parquet":
            assert pq.read_table(io.BytesIO(out)).num_rows == 0
        elif fmt == "csv":
            assert out.decode().splitlines() == [",".join(export.FIELDS)[:-len(",text")]]
        elif fmt == "warc":
            # a WARC file with its warcinfo record and nothing else
            assert [r.rec_type for r in ArchiveIterator(io.BytesIO(out))] == ["warcinfo"]
        else:
            assert out == b""


# --- filters ----------------------------------------------------------------------------------


FILTERS = [
    (["--source", "vanguard"], {"sources": ["vanguard"]}),
    (["--source", "odd", "--source", "vanguard"], {"sources": ["odd", "vanguard"]}),
    (["--tag", "left"], {"sources": ["reddawn", "vanguard"]}),
    (["--tag", "left", "--source", "odd"], {"sources": []}),
    (["--tag", "labour", "--language", "fr"], {"sources": ["reddawn"], "language": "fr"}),
    (["--since", "2024-05-03", "--until", "2024-05-05"],
     {"since": world.T0.replace(day=3, hour=0), "until": world.T0.replace(day=6, hour=0)}),
    (["--since", "2024-05-03T09:00:00Z", "--until", "2024-05-05T09:00:00+00:00"],
     {"since": world.T0.replace(day=3), "until": world.T0.replace(day=5)}),
    (["--after-seq", "4"], {"after": 4}),
]


def test_filters_select_what_the_database_says(corpus, capsys, tmp_path):
    config, store, _docs = corpus
    everything = database(store)
    for args, expect in FILTERS:
        records, _err = exported_jsonl(config, capsys, tmp_path, *args)
        want = expected_ids(store, **expect)
        assert [r["id"] for r in records] == want, args
        assert records == [r for r in everything if r["id"] in want], args


def test_a_statement_without_a_date_is_placed_by_its_collection_date(corpus, capsys, tmp_path):
    config, _store, docs = corpus
    undated = docs[2]
    assert undated.published_at is None
    records, _ = exported_jsonl(config, capsys, tmp_path, "--since", "2024-05-03",
                                "--until", "2024-05-03")
    assert [r["id"] for r in records] == [undated.id]


def test_incremental_exports_continue_from_the_printed_sequence_number(corpus, capsys,
                                                                        tmp_path):
    config, store, _docs = corpus
    first, err = exported_jsonl(config, capsys, tmp_path, "--until", "2024-05-04")
    last = int(re.search(r"--after-seq (\d+)", err).group(1))
    assert last == first[-1]["seq"]
    rest, err = exported_jsonl(config, capsys, tmp_path, "--after-seq", str(last))
    assert [r["seq"] for r in first + rest] == [r["seq"] for r in database(store)]
    last = int(re.search(r"--after-seq (\d+)", err).group(1))
    new = world.add(store, "odd", "new", "Brand new", ["Fresh."], now=world.T0 + timedelta(30))
    again, err = exported_jsonl(config, capsys, tmp_path, "--after-seq", str(last))
    assert [r["id"] for r in again] == [new.id]
    nothing, err = exported_jsonl(config, capsys, tmp_path, "--after-seq", str(new.seq))
    assert nothing == [] and f"--after-seq {new.seq}" in err


def test_batches_resume_without_loss_or_repeat(corpus):
    _config, store, _docs = corpus
    pages = list(query.batches(store, Filters(), batch=3))
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [r["seq"] for p in pages for r in p] == [r["seq"] for r in database(store)]


BAD = [
    (["--format", "jsonl", "--since", "2024-13-01"], "--since: since must be a date"),
    (["--format", "jsonl", "--until", "yesterday"], "--until: until must be a date"),
    (["--format", "jsonl", "--since", "2024-05-03", "--until", "2024-05-01"],
     "until is not after since"),
    (["--format", "jsonl", "--source", "nobody"], "--source: source: there is no source"),
    (["--format", "jsonl", "--tag", "nobody"], "--tag: tag: no configured source has"),
    (["--format", "jsonl", "--after-seq", "x1"], "--after-seq: after_seq must be a whole"),
    (["--format", "jsonl", "out"], "-o FILE"),
    (["out", "--language", "en"], "without --format"),
]


def test_bad_options_are_refused_with_their_name(corpus, capsys):
    config, _store, _docs = corpus
    for args, words in BAD:
        code, err = run_export(config, capsys, *args)
        assert code == 2 and words in err, args


def test_an_unknown_format_names_the_formats(corpus, capsys):
    config, _store, _docs = corpus
    code, err = run_export(config, capsys, "--format", "xml")
    assert code == 1 and "unknown export format 'xml'" in err and "jsonl, csv, parquet" in err


def test_parquet_without_pyarrow_says_how_to_install_it(corpus, tmp_path):
    config, _store, _docs = corpus
    code = ("import sys; sys.modules['pyarrow'] = None; from collector.cli import main; "
            f"sys.exit(main(['--config', {str(config.path)!r}, 'export', '--format', "
            f"'parquet', '-o', {str(tmp_path / 'x.parquet')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "pip install 'collector[parquet]'" in done.stderr
    assert not (tmp_path / "x.parquet").exists()


def test_a_failed_export_leaves_no_file(corpus, capsys, tmp_path, monkeypatch):
    config, _store, _docs = corpus
    out = tmp_path / "out.jsonl"

    def broken(batches, out, job):
        for _ in batches:
            raise OSError("disk full")

    monkeypatch.setitem(export.WRITERS, "jsonl", export.Format(broken))
    with pytest.raises(OSError):
        main(["--config", str(config.path), "export", "--format", "jsonl", "-o", str(out)])
    assert list(tmp_path.glob("*out.jsonl*")) == []


# --- the codebook -----------------------------------------------------------------------------

KIND_WORDS = {"string": "string", "int": "integer", "bool": "boolean", "time": "time",
              "strings": "list of strings", "locations": "list of locations",
              "provenance": "provenance"}


def codebook_rows(heading):
    text = (ROOT / "docs" / "codebook.md").read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_the_codebook_lists_exactly_the_fields_exported(corpus, capsys, tmp_path):
    config, store, _docs = corpus
    rows = codebook_rows("Fields")
    names = [r[0].strip("`") for r in rows]
    records, _ = exported_jsonl(config, capsys, tmp_path)
    assert names == list(records[0]) == list(export.FIELDS)
    for name, kind, null, *_rest in rows:
        field = name.strip("`")
        assert kind == KIND_WORDS[export.FIELDS[field]], field
        assert null == ("yes" if field in export.NULLABLE else "no"), field
    with store.index_snapshot() as (_g, index):
        assert names[:-1] == list(next(index))  # index.jsonl: every field but the text
    locations = [r[0].strip("`") for r in codebook_rows("Locations")]
    assert locations == list(records[0]["locations"][0])


def test_parquet_is_not_written_to_a_terminal(corpus):
    config, _store, _docs = corpus
    leader, follower = os.openpty()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
        done = subprocess.run([sys.executable, "-m", "collector.cli", "--config",
                               str(config.path), "export", "--format", "parquet"],
                              stdout=follower, stderr=subprocess.PIPE, env=env, timeout=120)
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2 and b"is binary; give -o FILE" in done.stderr


def test_a_reader_that_went_away_gets_no_traceback(corpus):
    """`collector export --format jsonl | head`, with the reader gone before the first write
    (a pipe with no reader: the write fails at once, however much the pipe would hold)."""
    config, _store, _docs = corpus
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "collector.cli", "--config",
                               str(config.path), "export", "--format", "jsonl"],
                              stdout=write_end, stderr=subprocess.PIPE, env=env, timeout=120)
    finally:
        os.close(write_end)
    assert done.returncode == 1, done.stderr
    assert b"standard output was closed before the end" in done.stderr
    assert b"Traceback" not in done.stderr and b"Exception ignored" not in done.stderr
