"""Near-duplicate texts: words, MinHash signatures and the banded LSH index.

This module owns the similarity of texts and does no I/O:

- `words`: a text's words with case, width, punctuation and white space folded (also the
  basis of `collector.dedup.content_fingerprint`);
- `signature` / `Signature`: one-permutation MinHash with densification over word
  3-shingles, as bytes for the store;
- `NearDuplicateIndex`: banded LSH over sorted arrays of band keys, so that a lookup touches
  a fixed number of buckets however large the corpus grows. A republished statement with a
  new title, an added or removed paragraph or a few edited words is found.

Pure Python (the `array`, `bisect`, `struct` and `zlib` modules): no numpy, whose import
alone costs a process 15-17 MB resident. `collector.dedup` decides what a match means; it
re-exports the names used outside. docs/dedup.md gives the rules and the measurements behind
the constants below.
"""

from __future__ import annotations

import re
import struct
import sys
import unicodedata
import zlib
from array import array
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import eq

from collector.errors import ParseError

# --- named limits (chosen by bench/dedup.py; see docs/dedup.md) ----------------------------
#: Words per shingle. Three keeps unrelated texts on the same topic apart (their shared word
#: triples are few) while one edited word destroys only three shingles.
SHINGLE_WORDS = 3
#: MinHash values (bins) per signature, a power of two; the standard error of the similarity
#: estimate is about sqrt(J(1-J)/n), 0.04 at J = 0.5.
NUM_PERM = 128
#: LSH bands x rows (BANDS * ROWS <= NUM_PERM). 42 bands of 3 rows make a pair at J = 0.45 a
#: candidate with probability 0.98 (32 x 4: 0.74, measured as lower recall on the hardest
#: variants), while unrelated texts (J ~ 0.01) share a band with probability 4e-5.
LSH_BANDS = 42
LSH_ROWS = 3
#: Estimated Jaccard similarity of shingle sets at or above which two texts are duplicates.
NEAR_DUP_THRESHOLD = 0.45
#: Texts with fewer words than this never take part in near-duplicate matching: a few shared
#: sentences (a standard notice, a short announcement template) would make them look alike.
#: They are still matched exactly by `content_fingerprint`.
NEAR_DUP_MIN_WORDS = 50
#: A bucket holding more documents than this is not read in full by one lookup, so a degenerate
#: corpus (thousands of identical boilerplate pages) cannot make lookups slow.
MAX_BUCKET_CANDIDATES = 256
#: Each band's keys are spread over 2**_PARTITION_BITS sorted arrays by their top bits, so
#: that an incremental `add` moves a few kilobytes (one partition) rather than the whole
#: index, and a lookup's binary search is short.
_PARTITION_BITS = 8

# --- text ---------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
#: Scripts written without spaces between words: each character counts as a word there.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def words(text: str) -> list[str]:
    """The words of `text` with case, width, punctuation and white space folded away."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    tokens = _WORD.findall(folded)
    if _CJK.search(folded):
        split: list[str] = []
        for token in tokens:
            if _CJK.search(token):
                split.extend(token)
            else:
                split.append(token)
        tokens = split
    return tokens


# --- signatures ---------------------------------------------------------------------------

_MAGIC = b"MH"
#: 1: 128-permutation MinHash (numpy); 2: one-permutation MinHash with densification. A
#: version-1 signature is refused with `StaleSignature`: its values cannot be compared with
#: version 2's, so the store recomputes it from the stored text.
_VERSION = 2
_FLAG_SHORT = 1
_HEADER = struct.Struct("<2sBBHI")  # magic, version, flags, num_perm, shingle count
_MASK = (1 << 64) - 1
#: The value of every bin of an empty shingle set.
_EMPTY = 0xFFFFFFFF
#: One fixed odd multiplier per word position of a shingle (at most eight words).
_SHINGLE_MULT = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53,
                 0x27D4EB2F165667C5, 0x85EBCA77C2B2AE63)


class StaleSignature(ParseError):
    """A signature of an older version: valid once, but not comparable with today's. The
    document's text is still there to compute it again."""


def _mix(x: int) -> int:
    """splitmix64 finaliser of a 64-bit integer."""
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


_MAX_WORD_CACHE = 200_000
_word_hash_cache: dict[str, int] = {}


def _word_hashes(tokens: list[str]) -> list[int]:
    """A well-mixed 64-bit hash per word: CRC-32 and length, through splitmix64. No
    per-process seed (Python's `hash` has one), so signatures stay comparable after restarts."""
    cache = _word_hash_cache
    if len(cache) > _MAX_WORD_CACHE:
        cache.clear()
    out = []
    for t in tokens:
        h = cache.get(t)
        if h is None:
            h = cache[t] = _mix(zlib.crc32(t.encode("utf-8")) | (len(t) << 32))
        out.append(h)
    return out


def shingle_hashes(tokens: list[str], k: int = SHINGLE_WORDS) -> list[int]:
    """Distinct 64-bit hashes of the word k-grams of `tokens` (one gram if there are fewer),
    in ascending order.

    A gram's hash is its words' hashes times fixed odd multipliers, one per position, summed
    modulo 2**64: one multiply-add per word instead of a mixer per gram (the words' hashes
    are already mixed, and multiplication carries every bit upwards, so the top bits that
    `minhash` reads are well spread)."""
    if not 1 <= k <= len(_SHINGLE_MULT):
        raise ValueError(f"shingles of 1 to {len(_SHINGLE_MULT)} words, not {k}")
    if not tokens:
        return []
    h = _word_hashes(tokens)
    k = min(k, len(h))
    if k == 3:
        a, b, c = _SHINGLE_MULT[:3]
        grams = {(x * a + y * b + z * c) & _MASK
                 for x, y, z in zip(h, h[1:], h[2:], strict=False)}
    else:
        cols = [h[j:len(h) - k + 1 + j] for j in range(k)]
        grams = {sum(x * m for x, m in zip(gram, _SHINGLE_MULT, strict=False)) & _MASK
                 for gram in zip(*cols, strict=True)}
    return sorted(grams)


def minhash(shingles: Sequence[int], num_perm: int = NUM_PERM) -> tuple[int, ...]:
    """`num_perm` 32-bit one-permutation MinHash values of a set of 64-bit shingle hashes,
    given distinct and in ascending order (as `shingle_hashes` returns them).

    One hash per shingle instead of one per shingle and permutation (Li, Owen and Zhang,
    2012): the top log2(num_perm) bits choose a bin, and a bin keeps the 32 bits below them of
    its smallest hash (the first of the bin in ascending order: one binary search per bin). An
    empty bin borrows the value of the first non-empty bin of its own fixed pseudo-random
    sequence of bins ("optimal densification", Shrivastava 2017), so that two sets agree on a
    bin with probability equal to their Jaccard similarity, as for k-permutation MinHash.
    """
    bits = num_perm.bit_length() - 1
    if not 1 <= bits <= 16 or 1 << bits != num_perm:
        raise ValueError("num_perm must be a power of two from 2 to 65536")
    n = len(shingles)
    if not n:
        return (_EMPTY,) * num_perm
    shift = 64 - bits
    vshift = shift - 32
    values = [-1] * num_perm
    i = 0
    for b in range(num_perm):
        i = bisect_left(shingles, b << shift, i)
        if i == n:
            break
        h = shingles[i]
        if h >> shift == b:
            values[b] = (h >> vshift) & 0xFFFFFFFF
    if -1 not in values:
        return tuple(values)
    dense = list(values)
    for b, v in enumerate(values):
        if v < 0:
            dense[b] = values[_donor(values, b, shift)]
    return tuple(dense)


def _donor(values: list[int], b: int, shift: int) -> int:
    """The bin whose value empty bin `b` borrows: the first non-empty one of b's sequence of
    bins, which depends on b alone (and, after many misses, the next non-empty bin)."""
    size = len(values)
    for attempt in range(1, 32 * size):
        src = _mix((b << 32) | attempt) >> shift
        if values[src] >= 0:
            return src
    return next(s % size for s in range(b + 1, b + size + 1) if values[s % size] >= 0)


@dataclass(frozen=True)
class Signature:
    """A decoded near-duplicate signature."""

    values: tuple[int, ...]  # NUM_PERM 32-bit values
    shingles: int            # size of the shingle set
    short: bool              # too few words to take part in near-duplicate matching

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(_MAGIC, _VERSION, _FLAG_SHORT if self.short else 0,
                              len(self.values), min(self.shingles, 0xFFFFFFFF))
        return header + struct.pack(f"<{len(self.values)}I", *self.values)

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        body, short, shingles = _check(data)
        return cls(values=_VALUES.unpack(body), shingles=shingles, short=short)


_VALUES = struct.Struct(f"<{NUM_PERM}I")


def _check(data: object) -> tuple[bytes, bool, int]:
    """The values (as bytes), short flag and shingle count of a signature; ParseError if it
    is not one of this version (StaleSignature if it is one of an older version)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParseError("near-duplicate signature must be bytes")
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise ParseError("near-duplicate signature is truncated")
    magic, version, flags, num_perm, shingles = _HEADER.unpack_from(data)
    if magic == _MAGIC and 0 < version < _VERSION:
        raise StaleSignature(f"near-duplicate signature of version {version}, made by an "
                             f"earlier release: it must be computed again from the text")
    if magic != _MAGIC or version != _VERSION:
        raise ParseError("not a near-duplicate signature of this version")
    if num_perm != NUM_PERM or len(data) != _HEADER.size + 4 * num_perm:
        raise ParseError("near-duplicate signature has the wrong length")
    return data[_HEADER.size:], bool(flags & _FLAG_SHORT), shingles


def signature_of_words(tokens: list[str]) -> Signature:
    """The signature of a body given as its folded words (`words` of each block, joined)."""
    shingles = shingle_hashes(tokens)
    return Signature(values=minhash(shingles), shingles=len(shingles),
                     short=len(tokens) < NEAR_DUP_MIN_WORDS)


def signature_of(blocks: Sequence[str]) -> Signature:
    return signature_of_words([w for block in blocks for w in words(block)])


def signature(blocks: Sequence[str]) -> bytes:
    """The near-duplicate signature of a body (title excluded), as bytes for the store.

    Format: "MH", version 2, flags (1 = short), num_perm (uint16), shingle count (uint32), then
    num_perm little-endian uint32 MinHash values: 522 bytes.
    """
    return signature_of(blocks).to_bytes()


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    va, vb = _VALUES.unpack(_check(a)[0]), _VALUES.unpack(_check(b)[0])
    return sum(map(eq, va, vb)) / NUM_PERM


# --- the index ---------------------------------------------------------------------------

#: The bands' values in a signature's value bytes.
_BAND_SPLIT = struct.Struct(f"{4 * LSH_ROWS}s" * LSH_BANDS)
#: Band keys have 28 bits: with a row number below 2**24 they make a float's 52-bit mantissa,
#: which is what lets a bulk build sort them fast (`_sorted_band`).
_KEY_BITS = 28
_KEY_MASK = (1 << _KEY_BITS) - 1
_PART_SHIFT = _KEY_BITS - _PARTITION_BITS
_ROW_BYTES = 2 * NUM_PERM
#: The lowest bit of each 16-bit lane of a NUM_PERM-lane integer.
_LANE_LOW_BITS = int.from_bytes(b"\x01\x00" * NUM_PERM, "little")
_ROW_MASK = 0xFFFFFFFF
#: A bulk build sorts the rows sharing their top byte together (`_sorted_band`).
_BATCH_ROW_BITS = 24
#: Fewer long documents than this in one `add_many` are inserted entry by entry.
_BULK_MIN_DOCS = 64
#: The top byte of a key's float (`_sorted_band`): sign 0 and the exponent of 2**52, whose
#: low four bits share the next byte with the key's top four bits.
_FLOAT_TOP = b"\x43"
_TO_FLOAT = bytes((x & 0x0F) | 0x30 for x in range(256))
_FROM_FLOAT = bytes(x & 0x0F for x in range(256))
#: The first bytes of a signature of this version, long and short.
_LONG_HEAD = _HEADER.pack(_MAGIC, _VERSION, 0, NUM_PERM, 0)[:6]
_SIG_SIZE = _HEADER.size + 4 * NUM_PERM


def _band_crcs(body: bytes) -> Iterator[int]:
    """CRC-32 of each LSH band's values. A band's key is made of 28 of those bits (`_key`);
    each band has partitions of its own, so equal values in two bands do not meet."""
    return map(zlib.crc32, _BAND_SPLIT.unpack_from(body))


def _key(crc: int) -> int:
    """A band's key: the low 28 bits of its CRC. Two different bands collide with probability
    2**-28; at 100k documents a lookup then meets about 0.016 documents that share no band,
    and each candidate's similarity is checked anyway."""
    return crc & _KEY_MASK


def _part_of(band: int, key: int) -> int:
    """The partition holding `band`'s entries whose key is `key`."""
    return band << _PARTITION_BITS | key >> _PART_SHIFT


#: The first partition of each band.
_BAND_PARTS = tuple(band << _PARTITION_BITS for band in range(LSH_BANDS))


_LITTLE = sys.byteorder == "little"

if _LITTLE:
    def _low16(body: bytes) -> bytes:
        """The low 16 bits of each value (as native uint16 bytes), which the index keeps: two
        different 32-bit values agree there with probability 2**-16, which moves an estimated
        similarity by at most 1.5e-5, for half the memory."""
        return memoryview(body).cast("H")[::2].tobytes()

    def _sorted_band(crcs: memoryview, rows: memoryview) -> array[int]:
        """The entries (key << 32 | row) of one band, sorted, from the CRCs of the band's
        values (`_band_crcs`) and the rows (uint32 views of equal length; the row numbers
        share their top byte, which is taken from the first).

        Sorting Python integers of 64 bits is slow (each comparison a generic one); floats
        compare fast. A key and a row's low 24 bits, placed as the mantissa of 2**52 +
        key * 2**24 + row (an exact double, whose bytes are the row's three low bytes, then
        the key's four with the exponent in the top four bits, then the exponent), sort in
        (key, row) order, and the sorted doubles' bytes are moved back into entries. All by
        strided copies of bytes: no Python work per entry but the sort itself."""
        n = len(rows)
        if not n:
            return array("Q")
        fb = bytearray(8 * n)
        f = memoryview(fb)
        f.cast("I")[0::2] = rows              # row bytes at 0..3
        f[3:-1].cast("I")[0::2] = crcs        # CRC bytes at 3..6, over the row's top byte
        f[6::8] = f[6::8].tobytes().translate(_TO_FLOAT)
        f[7::8] = _FLOAT_TOP * n
        values = f.cast("d").tolist()
        del f, fb
        values.sort()
        ordered = array("d", values)
        del values
        s = memoryview(ordered).cast("B")
        eb = bytearray(8 * n)
        e = memoryview(eb)
        e32 = e.cast("I")
        e32[0::2] = s.cast("I")[0::2]         # row bytes, and the key's low byte at 3
        e32[1::2] = s[3:-1].cast("I")[0::2]   # key bytes at 4..7
        e[3::8] = rows.cast("B")[3:4].tobytes() * n
        e[7::8] = e[7::8].tobytes().translate(_FROM_FLOAT)
        del e32, e
        entries = array("Q")
        entries.frombytes(eb)
        return entries
else:  # pragma: no cover - big-endian machines
    def _low16(body: bytes) -> bytes:
        return array("H", [v & 0xFFFF for v in _VALUES.unpack(body)]).tobytes()

    def _sorted_band(crcs: memoryview, rows: memoryview) -> array[int]:
        return array("Q", sorted(_key(c) << 32 | r for c, r in zip(crcs, rows, strict=True)))


class NearDuplicateIndex:
    """In-memory MinHash LSH index: doc id -> signature, queried for near-duplicates.

    Each document has a row: its id (`array('q')`), whether it is alive, and its signature's
    values (their low 16 bits, in one bytearray). Each band of a long document puts one entry
    (band key << 32 | row, 8 bytes) in one of 2**_PARTITION_BITS sorted `array('Q')` chosen
    by the key's top bits, so memory stays near 8 bytes per band and 256 + 9 bytes per
    document (plus the id -> row dictionary), and a lookup costs LSH_BANDS binary searches
    whatever the size. `add` inserts into one partition per band in place; `add_many` spreads
    its entries over the partitions and sorts each touched partition once.
    Removal marks a row dead; dead rows are compacted away once they are a quarter of the rows.
    Short signatures are kept (so `len` counts them) but never match.
    """

    def __init__(self, threshold: float = NEAR_DUP_THRESHOLD) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.threshold = threshold
        self._row_of: dict[int, int] = {}
        self._ids: array[int] = array("q")
        self._alive = bytearray()
        self._sigs = bytearray()   # NUM_PERM uint16 per row
        self._dead = 0
        # a partition is allocated when its first entry comes: until then it is the shared
        # empty tuple (10,752 empty arrays are 0.9 MB; a tuple also refuses an insertion)
        self._parts: list[array[int] | tuple[()]] = [()] * (LSH_BANDS << _PARTITION_BITS)

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._row_of

    # -- building --------------------------------------------------------------------------

    def _new_row(self, doc_id: int, body: bytes) -> int:
        if doc_id in self._row_of:
            self._forget(doc_id)   # the last signature given for an id wins
        row = len(self._ids)
        self._ids.append(doc_id)
        self._alive.append(1)
        self._sigs += _low16(body)
        self._row_of[doc_id] = row
        return row

    def add(self, doc_id: int, sig: bytes) -> None:
        """Index `sig` under `doc_id`, replacing what that id had (an edited document).

        ParseError if `sig` is malformed; StaleSignature (a ParseError) if it is of an older
        version."""
        body, short, _ = _check(sig)
        row = self._new_row(doc_id, body)
        if not short:
            self._insert(row, _band_crcs(body))
        self._maybe_compact()

    def _insert(self, row: int, crcs: Iterable[int]) -> None:
        parts, mask, shift = self._parts, _KEY_MASK, _PART_SHIFT
        for base, crc in zip(_BAND_PARTS, crcs, strict=True):
            key = crc & mask                              # _key and _part_of, inlined
            p = base | key >> shift
            part = parts[p]
            if part:
                insort(part, key << 32 | row)
            else:
                parts[p] = array("Q", (key << 32 | row,))

    def add_many(self, items: Iterable[tuple[int, bytes]]) -> list[int]:
        """Index many (doc id, signature) pairs at once: the rebuild on start.

        Returns the ids whose signatures are of an older version (`StaleSignature`), which are
        not indexed: their signatures must be computed again from their texts and added. A
        malformed signature raises ParseError naming its doc id; the pairs before it stay
        indexed.

        The band keys of the long signatures are gathered (one array, 42 per document), then
        each band's entries are sorted at once (`_sorted_band`) and cut into its partitions.
        """
        stale: list[int] = []
        crcs: array[int] = array("I")
        rows: array[int] = array("I")
        top = -1
        row_of, ids, alive, sigs = self._row_of, self._ids, self._alive, self._sigs
        split, crc32 = _BAND_SPLIT.unpack_from, zlib.crc32
        values_at = _HEADER.size
        low16_at = values_at // 2   # in uint16 units: the values start at an even offset
        try:
            for doc_id, sig in items:
                if (_LITTLE and type(sig) is bytes and len(sig) == _SIG_SIZE
                        and sig.startswith(_LONG_HEAD)):
                    # a long signature of this version (almost all): _new_row and _low16,
                    # inlined
                    if doc_id in row_of:
                        self._forget(doc_id)
                    row = len(ids)
                    ids.append(doc_id)
                    alive.append(1)
                    sigs += memoryview(sig).cast("H")[low16_at::2].tobytes()
                    row_of[doc_id] = row
                    body_crcs: Iterator[int] = map(crc32, split(sig, values_at))
                else:
                    try:
                        body, short, _ = _check(sig)
                    except StaleSignature:
                        self._forget(doc_id)
                        stale.append(doc_id)
                        continue
                    except ParseError as exc:
                        raise ParseError(f"document {doc_id}: {exc}") from exc
                    row = self._new_row(doc_id, body)
                    if short:
                        continue
                    body_crcs = _band_crcs(body)
                if row >> _BATCH_ROW_BITS != top:
                    self._add_batch(crcs, rows)
                    crcs, rows, top = array("I"), array("I"), row >> _BATCH_ROW_BITS
                crcs.extend(body_crcs)
                rows.append(row)
        finally:
            self._add_batch(crcs, rows)
        self._maybe_compact()
        return stale

    def _add_batch(self, crcs: array[int], rows: array[int]) -> None:
        """Index the bands of `rows`, whose numbers share their top byte, given their CRCs
        (`_band_crcs`, LSH_BANDS per row, row by row)."""
        if len(rows) < _BULK_MIN_DOCS:
            for i, row in enumerate(rows):
                self._insert(row, crcs[i * LSH_BANDS:(i + 1) * LSH_BANDS])
            return
        for band in range(LSH_BANDS):
            entries = _sorted_band(memoryview(crcs)[band::LSH_BANDS], memoryview(rows))
            start = 0
            for p in range(1 << _PARTITION_BITS):
                end = bisect_left(entries, (p + 1) << (_PART_SHIFT + 32), start)
                if end > start:
                    self._merge(_part_of(band, p << _PART_SHIFT), entries[start:end])
                start = end

    def _merge(self, p: int, new: array[int]) -> None:
        """Merge the sorted entries `new` into partition `p`."""
        part = self._parts[p]
        if not part:
            self._parts[p] = new
        elif 16 * len(new) < len(part):
            # a few new entries (a refresh with another writer's latest documents):
            # inserted in place, not a sort of the whole partition
            for entry in new:
                insort(part, entry)
        else:
            # two sorted runs, which the sort finds and merges
            new.extend(part)
            self._parts[p] = array("Q", sorted(new))

    def remove(self, doc_id: int) -> None:
        """Forget `doc_id`; unknown ids are ignored (removal is idempotent)."""
        self._forget(doc_id)
        self._maybe_compact()

    def _forget(self, doc_id: int) -> None:
        row = self._row_of.pop(doc_id, None)
        if row is not None:
            self._alive[row] = 0
            self._dead += 1

    def _maybe_compact(self) -> None:
        if self._dead > max(1024, len(self._ids) // 4):
            self._compact()

    def _compact(self) -> None:
        """Drop dead rows and their band entries, and renumber the rows that remain (in their
        order, so every partition stays sorted)."""
        alive = self._alive
        remap = array("q", [-1]) * len(alive)
        ids: array[int] = array("q")
        sigs = bytearray()
        old_sigs = self._sigs
        for row, doc_id in enumerate(self._ids):
            if alive[row]:
                remap[row] = len(ids)
                ids.append(doc_id)
                sigs += old_sigs[row * _ROW_BYTES:(row + 1) * _ROW_BYTES]
        high = ~_ROW_MASK & _MASK
        for p, part in enumerate(self._parts):
            if part:
                self._parts[p] = array("Q", [(e & high) | remap[e & _ROW_MASK] for e in part
                                             if alive[e & _ROW_MASK]])
        self._ids, self._sigs = ids, sigs
        self._alive = bytearray(b"\x01") * len(ids)
        self._row_of = {doc_id: row for row, doc_id in enumerate(ids)}
        self._dead = 0

    # -- querying --------------------------------------------------------------------------

    def query(self, sig: bytes) -> list[tuple[int, float]]:
        """Documents whose estimated similarity to `sig` is at least the threshold, best first.

        A short signature (fewer than NEAR_DUP_MIN_WORDS words) matches nothing.
        """
        body, short, _ = _check(sig)
        if short:
            return []
        rows: set[int] = set()
        parts = self._parts
        mask, shift = _KEY_MASK, _PART_SHIFT
        for base, crc in zip(_BAND_PARTS, _band_crcs(body), strict=True):
            key = crc & mask                              # _key and _part_of, inlined
            part = parts[base | key >> shift]
            i = bisect_left(part, key << 32)
            end = len(part)
            # a bucket is most often empty, else of one document: a scan beats a second search
            if i < end and part[i] >> 32 == key:
                end = min(end, i + MAX_BUCKET_CANDIDATES)
                while i < end and part[i] >> 32 == key:
                    rows.add(part[i] & _ROW_MASK)
                    i += 1
        if not rows:
            return []
        mine = int.from_bytes(_low16(body), "little")
        alive, sigs, ids = self._alive, self._sigs, self._ids
        found = []
        for row in rows:
            if alive[row]:
                # the values that differ, as one integer of NUM_PERM 16-bit lanes: OR-ing each
                # lane into its lowest bit and counting those bits counts the lanes that differ
                x = mine ^ int.from_bytes(sigs[row * _ROW_BYTES:(row + 1) * _ROW_BYTES],
                                          "little")
                x |= x >> 1
                x |= x >> 2
                x |= x >> 4
                x |= x >> 8
                sim = (NUM_PERM - (x & _LANE_LOW_BITS).bit_count()) / NUM_PERM
                if sim >= self.threshold:
                    found.append((ids[row], sim))
        found.sort(key=lambda pair: (-pair[1], pair[0]))
        return found
