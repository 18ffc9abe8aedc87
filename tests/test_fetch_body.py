"""Compact bodies (FetchPolicy.compact, collector.body): a compressed body is kept as sent,
reads give the decoded bytes, a parse worker gets it decoded, and decoding it again keeps the
fetcher's cap and errors."""

from __future__ import annotations

import asyncio
import copy
import gzip
import hashlib
import pickle
import zlib
from collections.abc import Iterator

import brotli
import pytest

from collector import limits
from collector.body import Body, SpentBody, decode
from collector.discover.feed import parse_feed
from collector.errors import FetchError
from collector.fetch import Fetcher, FetchPolicy
from collector.isolate import Isolator
from tests.badserver import FEED, BadServer

COMPACT = FetchPolicy(allow_private=True, deadline_s=5, max_bytes=1 << 20, compact=True,
                      capture=True)
URL = "https://example.org/feed.xml"


@pytest.fixture
def server() -> Iterator[BadServer]:
    with BadServer() as s:
        yield s


def fetch(url: str, policy: FetchPolicy = COMPACT):
    async def go():
        async with Fetcher(per_host_delay_s=0) as f:
            return await f.fetch(url, policy=policy)
    return asyncio.run(go())


def test_a_compressed_body_is_kept_as_sent_and_read_decoded(server):
    got = fetch(server.url("/gzip-ok"))
    assert got.body.codings == ("gzip",)
    assert len(got.body.wire) < len(FEED) == got.body.size
    assert got.content == FEED and got.content == FEED  # each read decodes again
    assert got.body.sha256() == hashlib.sha256(FEED).hexdigest()
    # the capture still records the decoded body's digest and length
    assert got.wire is not None
    assert got.wire.decoded_digest == "sha256:" + hashlib.sha256(FEED).hexdigest()
    assert got.wire.decoded_length == len(FEED)


def test_without_compact_the_body_is_held_decoded(server):
    got = fetch(server.url("/gzip-ok"), FetchPolicy(allow_private=True, deadline_s=5))
    assert got.body.codings == () and got.body.wire == FEED == got.content


def test_an_uncompressed_body_is_held_decoded_even_when_compact(server):
    got = fetch(server.url("/feed"))
    assert got.body.codings == () and got.body.wire == FEED


def test_a_large_uncompressed_body_waits_deflated_when_compact(server, monkeypatch):
    monkeypatch.setattr(limits, "COMPACT_PLAIN_BYTES", len(FEED))
    got = fetch(server.url("/feed"))
    assert got.body.codings == ("deflate",) and len(got.body.wire) * 4 <= len(FEED) * 3
    assert got.content == FEED and got.body.size == len(FEED)
    assert got.body.sha256() == hashlib.sha256(FEED).hexdigest()
    assert got.body.head(100) == FEED[:100]
    assert pickle.loads(pickle.dumps(got.body)) == FEED  # a parse worker gets the bytes
    assert got.wire is not None and got.wire.decoded_length == len(FEED)
    # below the size, or without compact, it is held as it came
    monkeypatch.setattr(limits, "COMPACT_PLAIN_BYTES", len(FEED) + 1)
    assert fetch(server.url("/feed")).body.wire == FEED
    monkeypatch.setattr(limits, "COMPACT_PLAIN_BYTES", 1)
    plain = fetch(server.url("/feed"), FetchPolicy(allow_private=True, deadline_s=5))
    assert plain.body.codings == () and plain.body.wire == FEED


def test_a_gzipped_file_is_kept_compressed_too(server):
    got = fetch(server.url("/sitemap.xml.gz"))
    assert got.body.codings == ("gzip",) and got.content == FEED


@pytest.mark.parametrize("path", ["/gzip-bomb", "/brotli-bomb"])
def test_bombs_stop_at_the_cap_when_compact(server, path):
    with pytest.raises(FetchError) as info:
        fetch(server.url(path))
    assert info.value.kind == "too_large" and server.url(path) in str(info.value)


def test_a_pickled_body_arrives_decoded():
    body = Body(gzip.compress(FEED), ("gzip",), cap=1 << 20, url=URL, size=len(FEED))
    travelled = pickle.dumps(body)
    assert len(travelled) < len(FEED)
    assert pickle.loads(travelled) == FEED
    assert pickle.loads(pickle.dumps(Body(FEED))) == FEED


def test_a_parse_worker_parses_a_compact_body_as_the_decoded_bytes():
    body = Body(brotli.compress(FEED), ("br",), cap=1 << 20, url=URL, size=len(FEED))
    with Isolator(1) as iso:
        from_body = iso.call(parse_feed, body, URL, timeout_s=limits.EXTRACT_TIMEOUT_S)
        from_bytes = iso.call(parse_feed, FEED, URL, timeout_s=limits.EXTRACT_TIMEOUT_S)
    assert from_body == from_bytes and from_body


def test_decoding_again_keeps_the_cap():
    bomb = gzip.compress(b"\0" * (4 << 20))
    body = Body(bomb, ("gzip",), cap=1 << 20, url=URL)
    for attempt in (body.decoded, lambda: pickle.loads(pickle.dumps(body))):
        with pytest.raises(FetchError) as info:
            attempt()
        assert info.value.kind == "too_large" and URL in str(info.value)
        assert "1048576-byte cap" in str(info.value)


def test_decoding_errors_name_the_url():
    wire = gzip.compress(FEED)
    with pytest.raises(FetchError) as info:
        decode(wire[:-12], ("gzip",), 1 << 20, URL)
    assert info.value.kind == "truncated" and URL in str(info.value)
    with pytest.raises(FetchError) as info:
        decode(b"not gzip at all" * 4, ("gzip",), 1 << 20, URL)
    assert info.value.kind == "decoding" and URL in str(info.value)
    with pytest.raises(FetchError) as info:
        decode(wire, ("x-custom",), 1 << 20, URL)
    assert info.value.kind == "decoding" and "x-custom" in str(info.value)


def test_stacked_codings_are_undone_in_reverse():
    wire = brotli.compress(zlib.compress(FEED))  # deflate applied first, then br
    assert decode(wire, ("deflate", "br"), 1 << 20, URL) == FEED


@pytest.mark.parametrize("coding,pack", [
    ("gzip", gzip.compress), ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b, wbits=-15)), ("br", brotli.compress)])
def test_the_head_of_a_compact_body_is_the_start_of_the_decoded_one(coding, pack):
    data = FEED * 40
    body = Body(pack(data), (coding,), cap=1 << 20, url=URL, size=len(data))
    assert body.head(100) == data[:100]
    assert body.head(len(data) + 10) == data
    assert Body(data).head(100) == data[:100]


def test_a_copied_body_stays_a_body():
    body = Body(gzip.compress(FEED * 40), ("gzip",), cap=1 << 20, url=URL)
    assert copy.deepcopy(body) is body and copy.copy(body) is body
    assert copy.deepcopy([body])[0].decoded() == FEED * 40


def test_a_spent_body_keeps_its_size_and_digest_and_refuses_a_read():
    body = Body(gzip.compress(FEED), ("gzip",), cap=1 << 20, url=URL, size=len(FEED),
                sha256=hashlib.sha256(FEED).hexdigest())
    spent = SpentBody(body)
    assert spent.size == len(FEED) and spent.sha256() == hashlib.sha256(FEED).hexdigest()
    assert spent.wire == b""
    for read in (spent.decoded, lambda: spent.head(10), lambda: pickle.dumps(spent)):
        with pytest.raises(RuntimeError, match="let go once parsed"):
            read()

