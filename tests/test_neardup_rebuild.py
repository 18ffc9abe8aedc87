"""The bulk rebuild of the near-duplicate index (`add_many`, each band sorted at once) answers
every lookup as the definition of banded LSH does: the documents that share a band with the
query, whose estimated similarity reaches the threshold, best first. Checked against a
brute-force reading of that definition, against an index built by `add` one document at a
time, and on the signatures of a real SQLite file as the storing stage loads them."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import struct
from datetime import UTC, datetime

import pytest

from collector import neardup
from collector.models import Candidate, Extracted
from collector.neardup import LSH_BANDS, LSH_ROWS, NUM_PERM, NearDuplicateIndex, signature
from collector.storing import Storing
from tests import helpers

T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
one_feed_world = pytest.fixture(helpers.one_feed_world)


def _texts(n: int, seed: int) -> list[list[str]]:
    """`n` texts of 80 words, a third of them edited copies (a few words changed) of an
    earlier one, so that lookups find families of near-duplicates."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(20000)]
    texts: list[list[str]] = []
    for _ in range(n):
        if texts and rng.random() < 0.33:
            words = rng.choice(texts)[0].split()
            for _ in range(rng.randint(1, 8)):
                words[rng.randrange(len(words))] = rng.choice(vocab)
            texts.append([" ".join(words)])
        else:
            texts.append([" ".join(rng.choice(vocab) for _ in range(80))])
    return texts


def _values(sig: bytes) -> tuple[int, ...]:
    return struct.unpack_from(f"<{NUM_PERM}I", sig, 10)


def _bands(values: tuple[int, ...]) -> list[tuple[int, tuple[int, ...]]]:
    return [(b, values[b * LSH_ROWS:(b + 1) * LSH_ROWS]) for b in range(LSH_BANDS)]


class _Definition:
    """Banded LSH by its definition, with a dictionary of exact band values: the stored long
    signatures that share a band's values with the probe, with the share of values equal in
    their low 16 bits (what the index keeps) at or above the threshold, best first."""

    def __init__(self, stored: dict[int, bytes]) -> None:
        self.values = {i: _values(sig) for i, sig in stored.items() if not sig[3] & 1}
        self.by_band: dict[tuple[int, tuple[int, ...]], set[int]] = {}
        for i, values in self.values.items():
            for band in _bands(values):
                self.by_band.setdefault(band, set()).add(i)

    def query(self, probe: bytes) -> list[tuple[int, float]]:
        if probe[3] & 1:
            return []
        mine = _values(probe)
        found = []
        for i in set().union(*(self.by_band.get(band, ()) for band in _bands(mine))):
            equal = sum((a ^ b) & 0xFFFF == 0 for a, b in zip(mine, self.values[i], strict=True))
            if equal / NUM_PERM >= neardup.NEAR_DUP_THRESHOLD:
                found.append((i, equal / NUM_PERM))
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))


def _probes(texts: list[list[str]], seed: int) -> list[bytes]:
    """Each tenth text as it is, edited copies of others, and texts not indexed."""
    rng = random.Random(seed)
    probes = [signature(t) for t in texts[::10]]
    for t in texts[5::10]:
        words = t[0].split()
        for _ in range(6):
            words[rng.randrange(len(words))] = f"x{rng.randrange(10**6)}"
        probes.append(signature([" ".join(words)]))
    probes += [signature(t) for t in _texts(30, seed + 1)]
    return probes


def test_a_bulk_rebuild_answers_every_lookup_as_banded_lsh_defines_it() -> None:
    texts = _texts(800, seed=21)
    sigs = [signature(t) for t in texts]
    sigs[7] = signature(["too few words to take part"])          # short: kept, never matched
    items = list(enumerate(sigs))
    items.append((3, sigs[4]))                                     # an id given again: last wins
    stored = dict(items)
    bulk = NearDuplicateIndex()
    assert bulk.add_many(items) == []
    one = NearDuplicateIndex()
    for doc_id, sig in items:
        one.add(doc_id, sig)
    assert len(bulk) == len(one) == 800
    matched = 0
    definition = _Definition(stored)
    for probe in [*_probes(texts, seed=22), sigs[4], sigs[7]]:
        want = definition.query(probe)
        assert bulk.query(probe) == one.query(probe) == want
        matched += bool(want)
    assert matched > 100   # the probes did find documents (not only empty answers)


def test_small_batches_and_merges_into_filled_partitions_answer_the_same(monkeypatch) -> None:
    """Batches of 128 rows (instead of 2**24), a bulk addition into partitions that hold
    entries, single additions between and a compaction: still the same answers."""
    monkeypatch.setattr(neardup, "_BATCH_ROW_BITS", 7)
    texts = _texts(900, seed=31)
    sigs = [signature(t) for t in texts]
    idx = NearDuplicateIndex()
    idx.add_many((i, sigs[i]) for i in range(500))
    for i in range(500, 530):
        idx.add(i, sigs[i])
    idx.add_many((i, sigs[i]) for i in range(530, 900))
    idx.add_many((i, sigs[i]) for i in range(900 - 40, 900))   # a refresh: few, in place
    for i in range(0, 900, 3):
        idx.remove(i)
    stored = {i: sigs[i] for i in range(900) if i % 3}
    assert len(idx) == len(stored)
    definition = _Definition(stored)
    for probe in _probes(texts, seed=32):
        assert idx.query(probe) == definition.query(probe)


def test_a_band_sorted_in_bulk_equals_its_entries_sorted_one_by_one() -> None:
    """Rows with a top byte other than zero, keys with every bit pattern."""
    rng = random.Random(41)
    n = 5000
    crcs = [rng.getrandbits(32) for _ in range(n - 3)] + [0, 0xFFFFFFFF, 0x0FFFFFFF]
    rows = [(3 << 24) + i * 3 for i in range(n)]
    got = neardup._sorted_band(memoryview(neardup.array("I", crcs)),
                               memoryview(neardup.array("I", rows)))
    assert list(got) == sorted(neardup._key(c) << 32 | r for c, r in zip(crcs, rows,
                                                                         strict=True))


async def _store(storing: Storing, n: int, blocks: list[str]) -> str:
    url = f"https://example.org/s/{n}"
    ex = Extracted(title=f"Statement {n}", blocks=tuple(blocks), published=T0, language="en")
    return await storing.store_text(storing.config.sources[0], Candidate(key=url, url=url,
                                                                         title=ex.title),
                                    url, url, ex, False)


def test_the_index_loaded_from_a_sqlite_file_answers_as_one_built_by_single_additions(
        one_feed_world) -> None:
    """Documents stored in a real database; a new storing stage loads the index from the
    stored signatures (`load_index`, the rebuild on start), and answers each lookup as an
    index built by `add` from the same signatures, and as the definition."""
    config, store = one_feed_world
    texts = _texts(150, seed=51)

    async def fill() -> None:
        storing = Storing(config, store, clock=lambda: T0)
        await storing.load_index()
        for n, blocks in enumerate(texts):
            await _store(storing, n, blocks)
        storing.close_files()

    asyncio.run(fill())
    stored = dict(store.signatures_after(-1))
    assert len(stored) > neardup._BULK_MIN_DOCS   # the bulk path, not single insertions
    if config.settings.database_url.startswith("sqlite:///"):
        with sqlite3.connect(config.settings.database_url.removeprefix("sqlite:///")) as db:
            assert dict(db.execute("SELECT seq, signature FROM documents")) == stored

    async def load() -> NearDuplicateIndex:
        storing = Storing(config, store, clock=lambda: T0)
        assert await storing.load_index() == len(stored)
        storing.close_files()
        return storing.index

    loaded = asyncio.run(load())
    one = NearDuplicateIndex()
    for seq, sig in stored.items():
        one.add(seq, sig)
    definition = _Definition(stored)
    for probe in _probes(texts, seed=52):
        assert loaded.query(probe) == one.query(probe) == definition.query(probe)


def test_partitions_come_into_being_with_their_first_entry_and_are_never_shared() -> None:
    """An empty index allocates no partition; single additions into the empty ones of one
    index leave another index (built before and after) empty, and answer as defined."""
    texts = _texts(60, seed=41)
    sigs = [signature(t) for t in texts]
    before = NearDuplicateIndex()
    idx = NearDuplicateIndex()
    assert not any(isinstance(part, neardup.array) for part in idx._parts)
    for i, sig in enumerate(sigs):
        idx.add(i, sig)
    after = NearDuplicateIndex()
    definition = _Definition(dict(enumerate(sigs)))
    for probe in _probes(texts, seed=42):
        assert before.query(probe) == after.query(probe) == []
        assert idx.query(probe) == definition.query(probe)
    assert idx.query(sigs[5]) and (5, 1.0) in idx.query(sigs[5])
