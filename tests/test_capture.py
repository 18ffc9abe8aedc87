"""WARC capture and provenance, through the real pipeline against a loopback site: the files
pass warcio's own checks, a captured response replays byte for byte (a gzip-encoded page and a
plain one), the database's pointers read back as whole records, the switches turn capture off,
retention deletes old files and clears their pointers (texts kept), and every statement's
provenance is in index.jsonl and on its page."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser
from warcio.archiveiterator import ArchiveIterator

from collector import capture
from collector.store import capture as stored_captures
from tests.helpers import load, poll, store_of
from tests.pages import article, rss_feed, wordpress_page
from tests.test_server_helpers import running
from tests.webserver import Page

T0 = datetime(2024, 5, 1, tzinfo=UTC)
WARCIO = Path(sys.executable).parent / "warcio"


def _site(site, n: int = 2, *, gzip_first: bool = True) -> dict[str, bytes]:
    """A feed of `n` statements; the first page gzip-encoded. Returns each page's body as
    sent (the encoded bytes for the gzipped one)."""
    items = [article(i, f"Statement number {i} on the docks", T0 + timedelta(days=i))
             for i in range(n)]
    site.pages["/feed/"] = Page(rss_feed("Red", site.base, items), "application/rss+xml")
    sent = {}
    for i, a in enumerate(items):
        html = wordpress_page("Red", a, site.base).encode()
        if i == 0 and gzip_first:
            body = gzip.compress(html, mtime=0)
            site.pages[f"/{a.slug}/"] = Page(body, headers={"Content-Encoding": "gzip"})
        else:
            body = html
            site.pages[f"/{a.slug}/"] = Page(body)
        sent[site.url(f"/{a.slug}/")] = body
    return sent


def _config(tmp_path, site, *, settings: str = "", source: str = ""):
    return load(tmp_path, f"""sources:
  - id: red
    url: {site.url('/feed/')}
    kind: feed
    backfill: 10
{source}""", settings_extra=settings)


def _warcs(config) -> list[Path]:
    return sorted(config.settings.warc_dir.glob("*.warc.gz"))


def _records(data: bytes) -> list:
    out = []
    for rec in ArchiveIterator(io.BytesIO(data)):
        raw = rec.raw_stream.read()
        out.append((rec.rec_type, rec.rec_headers, rec.http_headers, raw))
    return out


def test_captures_pass_warcio_check_and_index_and_replay_byte_identical(tmp_path, site):
    sent = _site(site)
    config = _config(tmp_path, site)
    [(_, outcome)] = poll(config)
    assert outcome.ok and outcome.new_documents == 2

    files = _warcs(config)
    assert len(files) == 1 and files[0].name == \
        f"collector-{datetime.now(UTC):%Y%m%d}-000.warc.gz"
    check = subprocess.run([str(WARCIO), "check", "-v", *map(str, files)],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    index = subprocess.run([str(WARCIO), "index", "-f", "warc-type,warc-target-uri,length",
                            *map(str, files)], capture_output=True, text=True, timeout=60)
    assert index.returncode == 0, index.stderr
    lines = [json.loads(line) for line in index.stdout.splitlines()]
    assert [x["warc-type"] for x in lines] == ["warcinfo"] + ["request", "response",
                                                             "metadata"] * 2

    replayed = {}
    with open(files[0], "rb") as f:
        for rec in ArchiveIterator(f):
            if rec.rec_type == "response":
                url = rec.rec_headers.get_header("WARC-Target-URI")
                assert rec.http_headers.get_statuscode() == "200"
                replayed[url] = rec.raw_stream.read()   # the payload as it came, still encoded
    assert replayed == sent
    gz = next(u for u in sent if sent[u][:2] == b"\x1f\x8b")
    assert gzip.decompress(replayed[gz]).startswith(b"<!DOCTYPE html>")

    # the database's pointers: each range is the capture's three whole records
    store = store_of(config)
    docs = {d.id: d for d in store.iter_documents()}
    caps = stored_captures.captures(store)
    assert sorted(c.document_id for c in caps) == sorted(docs)
    warcs = capture.Warcs(config.settings.warc_dir)
    for c in caps:
        assert c.pointer is not None
        recs = _records(warcs.read(c.pointer))
        assert [r[0] for r in recs] == ["request", "response", "metadata"]
        response = recs[1]
        assert response[1].get_header("WARC-Record-ID") == c.response_id
        doc = docs[c.document_id]
        assert doc.provenance is not None
        assert doc.provenance.warc_record_id == c.response_id
        fields = dict(line.split(": ", 1) for line in recs[2][3].decode().splitlines())
        assert fields["source-id"] == "red"
        assert fields["statement-id"] == doc.id
        assert fields["text-digest"] == doc.provenance.text_hash == capture.text_hash(doc.text)
        assert fields["http-status"] == "200"
        assert recs[0][2].protocol == "GET"                  # the request as sent
        assert recs[0][2].statusline.startswith("/statement-")
        assert recs[0][2].get_header("Accept-Encoding") == "gzip, deflate, br"
    # a second, unchanged poll captures nothing more
    size = files[0].stat().st_size
    poll(config)
    assert files[0].stat().st_size == size


def test_provenance_in_index_jsonl_and_on_the_statement_page(tmp_path, site):
    sent = _site(site, 1, gzip_first=False)
    config = _config(tmp_path, site)
    poll(config)
    [line] = (config.settings.documents_dir / "index.jsonl").read_text().splitlines()
    record = json.loads(line)
    prov = record["provenance"]
    [url] = sent
    assert prov["requested_url"] == url and prov["final_url"] == url
    assert prov["status"] == 200
    assert prov["warc_record_id"].startswith("<urn:uuid:")
    stored_file = (config.settings.documents_dir / record["file"]).read_bytes()
    store = store_of(config)
    [doc] = list(store.iter_documents())
    # the hash of the stored text is the hash of its corpus file: `sha256sum` checks it
    assert prov["text_hash"] == capture.text_hash(doc.text) == \
        "sha256:" + hashlib.sha256(stored_file).hexdigest()
    fetched = datetime.fromisoformat(prov["fetched"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - fetched).total_seconds()) < 600

    with running(config, store) as srv:
        page = httpx.get(f"{srv.url}/d/{doc.id}", timeout=30)
    tree = LexborHTMLParser(page.text)
    section = tree.css_first("section[aria-label=Provenance]")
    shown = dict(zip([d.text() for d in section.css("dt")],
                     [d.text() for d in section.css("dd")], strict=True))
    assert shown["Requested"] == url and shown["Final address"] == url
    assert shown["HTTP status"] == "200"
    assert shown["WARC record"].startswith(prov["warc_record_id"] + " in collector-")
    assert shown["Text hash"] == prov["text_hash"]
    assert section.css_first("time").attributes["datetime"] == prov["fetched"]


@pytest.mark.parametrize("where", ["settings", "source"])
def test_capture_off_writes_no_records(tmp_path, site, where):
    _site(site)
    if where == "settings":
        config = _config(tmp_path, site, settings="  capture:\n    enabled: false\n")
    else:
        config = _config(tmp_path, site, source="    capture: false\n")
    [(_, outcome)] = poll(config)
    assert outcome.new_documents == 2
    assert _warcs(config) == []
    store = store_of(config)
    assert stored_captures.captures(store) == []
    for doc in store.iter_documents():   # provenance without a capture
        assert doc.provenance is not None and doc.provenance.status == 200
        assert doc.provenance.warc_record_id is None


def test_retention_deletes_old_files_clears_pointers_and_keeps_texts(tmp_path, site):
    _site(site, 1)
    config = _config(tmp_path, site, settings="  capture:\n    keep_days: 3\n")
    day = [T0]
    poll(config, clock=lambda: day[0])            # captured into T0's file
    newer = article(7, "A later statement on the port", T0 + timedelta(days=5))
    site.pages["/feed/"] = Page(rss_feed("Red", site.base, [newer]), "application/rss+xml")
    site.pages[f"/{newer.slug}/"] = Page(wordpress_page("Red", newer, site.base))
    day[0] = T0 + timedelta(days=2)
    poll(config, clock=lambda: day[0])            # within 3 days: nothing deleted
    names = [p.name for p in _warcs(config)]
    assert names == ["collector-20240501-000.warc.gz", "collector-20240503-000.warc.gz"]

    day[0] = T0 + timedelta(days=4)
    poll(config, clock=lambda: day[0])            # the start-up runs the retention

    assert [p.name for p in _warcs(config)] == ["collector-20240503-000.warc.gz"]
    store = store_of(config)
    caps = {c.document_id: c for c in stored_captures.captures(store)}
    docs = list(store.iter_documents())
    assert len(docs) == 2 and len(caps) == 2
    old, new = sorted(docs, key=lambda d: d.seq)
    assert caps[old.id].pointer is None and caps[old.id].response_id
    assert caps[new.id].pointer is not None and caps[new.id].pointer[0] == names[1]
    assert old.text and (config.settings.documents_dir / "index.jsonl").exists()
    assert not list((config.settings.warc_dir / ".committed").glob("*20240501*"))


def test_retention_by_size_keeps_the_newest_file(tmp_path):
    clock = [T0]
    warcs = capture.Warcs(tmp_path, max_file_bytes=1, clock=lambda: clock[0])
    wire = _wire()
    meta = capture.CaptureMeta("s", "http://x.test/", "abc", "sha256:00")
    refs = [warcs.write(wire, meta) for _ in range(3)]     # three files: each one is full
    assert [r.file for r in refs] == [f"collector-20240501-00{i}.warc.gz" for i in range(3)]
    size = warcs.files()[0].size
    cleared: list[list[str]] = []
    gone = warcs.prune(keep_days=None, keep_bytes=size,
                       clear=lambda names: cleared.append(list(names)))
    assert gone == cleared[0] == [r.file for r in refs[:2]]
    assert [f.name for f in warcs.files()] == [refs[2].file]


def _wire():
    from collector.models import Wire

    body = b"<p>hello</p>"
    response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)
    return Wire(url="http://x.test/", status=200,
                request=b"GET / HTTP/1.1\r\nHost: x.test\r\n\r\n", response=response,
                fetched_at=T0, decoded_digest="sha256:00", decoded_length=len(body))


def test_a_cut_file_is_repaired_to_its_last_complete_record(tmp_path):
    warcs = capture.Warcs(tmp_path, clock=lambda: T0)
    meta = capture.CaptureMeta("s", "http://x.test/", "abc", "sha256:00")
    first = warcs.write(_wire(), meta)
    path = tmp_path / first.file
    good = path.stat().st_size
    assert capture.complete_length(path) == good == first.offset + first.length
    with open(path, "ab") as f:                  # a writer killed mid-record
        f.write(gzip.compress(b"WARC/1.1\r\n" + os.urandom(500))[:300])
    assert capture.complete_length(path) == good
    assert warcs.recover() == [first.file]
    assert path.stat().st_size == good
    # and a lost committed length is found again by reading the file
    (tmp_path / ".committed" / first.file).unlink()
    with open(path, "ab") as f:
        f.write(b"\x1f\x8b\x08garbage")
    second = warcs.write(_wire(), meta)
    assert second.offset == good
    assert capture.complete_length(path) == path.stat().st_size


def test_bad_capture_settings_name_the_key_and_line(tmp_path, site):
    from collector.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        _config(tmp_path, site, settings="  capture:\n    keep_days: -1\n    enabled: 3\n",
                source="    capture: maybe\n")
    text = str(err.value)
    assert "settings: capture: keep_days must be a whole number ≥ 1" in text
    assert "settings: capture: enabled must be true or false" in text
    assert re.search(r"sources\.yaml:\d+: source 'red': capture must be true or false", text)
    assert re.search(r"sources\.yaml:\d+: settings: capture: keep_days", text)


def test_export_warc_copies_each_statements_records_byte_for_byte(tmp_path, site, monkeypatch,
                                                                   capsys):
    from collector.cli import main

    _site(site, 3)
    config = _config(tmp_path, site)
    poll(config)
    store = store_of(config)
    caps = stored_captures.captures(store)
    warcs = capture.Warcs(config.settings.warc_dir)
    # a chosen statement: its records alone
    one = caps[1]
    out = tmp_path / "one.warc.gz"
    with open(out, "wb") as f:
        assert capture.export_statements(store, warcs, [one.document_id], f) == (1, 1)
    data = out.read_bytes()
    assert data.endswith(warcs.read(one.pointer))
    types = [r[0] for r in _records(data)]
    assert types == ["warcinfo", "request", "response", "metadata"]
    seqs = sorted(store.document_by_id(c.document_id).seq for c in caps)
    store.close()

    # every statement, through the command line
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLLECTOR_CONFIG", raising=False)
    monkeypatch.delenv("COLLECTOR_DATA", raising=False)
    assert main(["export", "--format", "warc", "-o", "all.warc.gz"]) == 0
    assert "exported 3 documents (warc) to all.warc.gz" in capsys.readouterr().err
    everything = (tmp_path / "all.warc.gz").read_bytes()
    for c in caps:
        assert warcs.read(c.pointer) in everything
    check = subprocess.run([str(WARCIO), "check", str(tmp_path / "all.warc.gz")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    ids = [r[1].get_header("WARC-Record-ID") for r in _records(everything)
           if r[0] == "response"]
    assert sorted(ids) == sorted(c.response_id for c in caps)

    # the export's filters choose the statements: after the first sequence number, two
    assert main(["export", "--format", "warc", "-o", "later.warc.gz",
                 "--after-seq", str(seqs[0])]) == 0
    later = [r for r in _records((tmp_path / "later.warc.gz").read_bytes()) if r[0] == "response"]
    assert len(later) == len(seqs) - 1 == 2


class _RawServer:
    """Answers every request on a connection with the next of `answers`, as raw bytes (a
    chunked body, kept alive), recording nothing else."""

    def __init__(self, answers: list[bytes]):
        import socket
        import threading

        self.answers = answers
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(10)
            for answer in self.answers:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = conn.recv(4096)
                    if not data:
                        return
                    head += data
                conn.sendall(answer)

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


def test_the_wire_is_recorded_as_sent_chunks_and_all_on_a_kept_alive_connection(tmp_path):
    import asyncio

    from collector.fetch import Fetcher, FetchPolicy

    html = b"<html><body><p>" + b"The dockers walked out. " * 40 + b"</p></body></html>"
    gz = gzip.compress(html, mtime=0)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(gz[i:i + 100]), gz[i:i + 100])
                       for i in range(0, len(gz), 100)) + b"0\r\n\r\n"
    first = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n" + chunked)
    second = (b"HTTP/1.1 200 Fine\r\ncontent-type: text/html\r\nContent-Length: "
              + str(len(html)).encode() + b"\r\nX-Odd-Case: Yes\r\n\r\n" + html)
    server = _RawServer([first, second])
    policy = FetchPolicy(allow_private=True, robots=False, capture=True)

    async def main():
        async with Fetcher(per_host_delay_s=0) as fetcher:
            base = f"http://127.0.0.1:{server.port}"
            return [await fetcher.fetch(f"{base}/a", policy=policy),
                    await fetcher.fetch(f"{base}/b", policy=policy)]

    try:
        a, b = asyncio.run(main())
    finally:
        server.close()
    assert a.content == b.content == html               # decoded for extraction
    assert a.wire.response == first and b.wire.response == second   # as received
    assert a.wire.request.startswith(b"GET /a HTTP/1.1\r\n")
    assert b.wire.request.startswith(b"GET /b HTTP/1.1\r\n")
    assert a.wire.decoded_digest == "sha256:" + hashlib.sha256(html).hexdigest()
    assert a.wire.ip == "127.0.0.1" and a.fetched_at is not None
    # and written to a WARC file, warcio reads the chunked, gzipped body back as the page
    warcs = capture.Warcs(tmp_path)
    ref = warcs.write(a.wire, capture.CaptureMeta("s", a.url, "x", "sha256:00"))
    bodies = [r.content_stream().read() for r in ArchiveIterator(io.BytesIO(warcs.read(ref)))
              if r.rec_type == "response"]
    assert bodies == [html]
    uncaptured = FetchPolicy(allow_private=True, robots=False)
    assert uncaptured.capture is False


def test_captures_asked_for_together_share_one_append_and_sync(tmp_path, monkeypatch):
    import asyncio

    warcs = capture.Warcs(tmp_path, clock=lambda: T0)
    batches: list[int] = []
    write_many = warcs.write_many

    def counted(captures):
        batches.append(len(captures))
        return write_many(captures)

    monkeypatch.setattr(warcs, "write_many", counted)
    meta = capture.CaptureMeta("s", "http://x.test/", "abc", "sha256:00")

    async def main():
        queue = capture.CaptureQueue(warcs)
        try:
            first = await queue.write(_wire(), meta)
            together = await asyncio.gather(*(queue.write(_wire(), meta) for _ in range(9)))
        finally:
            queue.close()
        return [first, *together]

    refs = asyncio.run(main())
    assert batches == [1, 9]
    assert len({r.offset for r in refs}) == 10
    for ref in refs:
        assert [r[0] for r in _records(warcs.read(ref))] == ["request", "response", "metadata"]
    assert refs[-1].offset + refs[-1].length == (tmp_path / refs[0].file).stat().st_size
