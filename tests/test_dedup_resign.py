"""Signatures of an older version in a real SQLite file: made again from the stored texts when
the index is built, so that nothing stored before a change of the signature scheme is lost."""

from __future__ import annotations

import asyncio
import sqlite3
import struct
from datetime import UTC, datetime

import pytest

from collector import dedup
from collector.document import parse as parse_document
from collector.models import Candidate, Extracted
from collector.storing import Storing
from tests import helpers

T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)

one_feed_world = pytest.fixture(helpers.one_feed_world)



def statement(n: int, *, edited: bool = False) -> list[str]:
    rows = [f"Paragraph {p} of statement {n} about the dockers' strike in the port, " + " ".join(
        f"w{n}x{p}x{i}" for i in range(40)) for p in range(4)]
    if edited:
        rows = ["We publish below the statement of our federation.", *rows[:3],
                rows[3].replace(f"w{n}x3x7 ", "")]
    return rows


async def put(storing: Storing, n: int, url: str, blocks: list[str]) -> str:
    ex = Extracted(title=f"Statement {n}", blocks=tuple(blocks), published=T0, language="en")
    cand = Candidate(key=url, url=url, title=ex.title)
    return await storing.store_text(storing.config.sources[0], cand, url, url, ex, False)


def version_1(values: list[int]) -> bytes:
    """A signature as an earlier release stored it (version 1: 128-permutation MinHash)."""
    return struct.pack("<2sBBHI", b"MH", 1, 0, 128, 170) + struct.pack("<128I", *values)


def stored_signatures(path: str) -> dict[int, bytes]:
    with sqlite3.connect(path) as db:
        return {seq: bytes(sig) for seq, sig in db.execute(
            "SELECT seq, signature FROM documents ORDER BY seq")}


@pytest.mark.sqlite_only   # the stored signatures are read and set back with sqlite3 itself
def test_signatures_of_an_older_version_are_made_again_from_the_stored_texts(
        one_feed_world) -> None:
    config, store = one_feed_world
    path = config.settings.database_url.removeprefix("sqlite:///")

    async def before() -> None:
        storing = Storing(config, store, clock=lambda: T0)
        await storing.load_index()
        for n in (1, 2, 3):
            assert await put(storing, n, f"https://example.org/s/{n}", statement(n)) == "new"
        storing.close_files()

    asyncio.run(before())
    current = stored_signatures(path)
    assert len(current) == 3
    # an earlier release wrote the first two (the third was stored since)
    old = {seq: version_1([seq * 1000 + i for i in range(128)]) for seq in sorted(current)[:2]}
    with sqlite3.connect(path) as db:
        db.executemany("UPDATE documents SET signature = ? WHERE seq = ?",
                       [(sig, seq) for seq, sig in old.items()])
    assert dedup.NearDuplicateIndex().add_many(stored_signatures(path).items()) == sorted(old)

    async def after() -> list[str]:
        storing = Storing(config, store, clock=lambda: T0)
        assert await storing.load_index() == 3
        assert len(storing.index) == 3
        # each stored statement, republished elsewhere with an introduction and an edit
        outcomes = [await put(storing, n, f"https://other.example.net/{n}",
                              statement(n, edited=True)) for n in (1, 2, 3)]
        storing.close_files()
        return outcomes

    assert asyncio.run(after()) == ["duplicate", "duplicate", "duplicate"]
    again = stored_signatures(path)
    assert again == current   # made from the stored texts: what storing them made at first
    with sqlite3.connect(path) as db:
        for seq, text in db.execute("SELECT seq, text FROM documents"):
            assert again[seq] == dedup.signature(parse_document(text).blocks)
    # the next start finds nothing stale
    assert dedup.NearDuplicateIndex().add_many(again.items()) == []
