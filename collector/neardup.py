"""Near-duplicate texts: words, MinHash signatures and the banded LSH index.

This module owns the similarity of texts and does no I/O:

- `words`: a text's words with case, width, punctuation and white space folded (also the
  basis of `collector.dedup.content_fingerprint`);
- `signature` / `Signature`: MinHash over word 3-shingles, as bytes for the store;
- `NearDuplicateIndex`: banded LSH over sorted numpy arrays, so that a lookup touches a fixed
  number of buckets however large the corpus grows. A republished statement with a new title,
  an added or removed paragraph or a few edited words is found.

`collector.dedup` decides what a match means; it re-exports the names used outside.
docs/dedup.md gives the rules and the measurements behind the constants below.
"""

from __future__ import annotations

import functools
import re
import struct
import unicodedata
import zlib
from collections.abc import Iterable, Sequence, Sized
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from collector.errors import ParseError

if TYPE_CHECKING:
    import numpy as np
else:
    class _LazyNumpy:
        """numpy, imported on first use: a poll that stores nothing new never needs it, and
        its import (about 40 ms, 11 MB) then stays out of start-up."""

        def __getattr__(self, name: str) -> Any:
            import numpy

            globals()["np"] = numpy
            return getattr(numpy, name)

    np = _LazyNumpy()

# --- named limits (chosen by bench/dedup.py; see docs/dedup.md) ----------------------------
#: Words per shingle. Three keeps unrelated texts on the same topic apart (their shared word
#: triples are few) while one edited word destroys only three shingles.
SHINGLE_WORDS = 3
#: MinHash values per signature; the standard error of the similarity estimate is about
#: sqrt(J(1-J)/n), 0.04 at J = 0.5.
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
#: Incremental additions collected in a dictionary before they are merged into the sorted
#: band-key arrays.
_PENDING_MERGE = 2048

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


# --- MinHash signatures -------------------------------------------------------------------

_MAGIC = b"MH"
_VERSION = 1
_FLAG_SHORT = 1
_HEADER = struct.Struct("<2sBBHI")  # magic, version, flags, num_perm, shingle count
#: The MinHash functions' parameters: 2 x NUM_PERM integers in [0, 2**63 - 1) drawn once by
#: numpy's PCG64 with seed 20240601 (`np.random.Generator(np.random.PCG64(20240601)).integers(
#: 0, 2**63 - 1, size=(2, NUM_PERM), dtype=np.uint64)`; tests/test_dedup.py draws them again),
#: as little-endian hex. Kept as data: numpy.random costs a poll 6.6 MB resident.
_PERMS_HEX = (
    "5a9ab0148d665a650abe7413b9de594adfcd73276e2c1a35e05e980afe7e38799a057081047345124a6fd876"
    "d0d1673b4ab727975687a34c78d174bd980935451c32d5c639553d65561352dfc889b05d34621e534fd8362e"
    "a63d39d7ae41f61280457cab8c56c25faf4ce4b9f24fa07ccaff3f535c87107a9e8c1f84533c6565a0c86ec0"
    "18fa1606308ee8e233d13e18f0605159fb88854cfb09a3d2b128070172126a905c8ba55a9f61cf385cf96e2d"
    "ed7515e14199380581ce705bcc0d9813bf057585a579c61e8af36981135fe802d074a7594717244081694253"
    "9ab02e50aeb9165cae97190cc59e751f384ca213476768f0236d5476d4722f4e9f4038563f862fdec949ba15"
    "08907d3fe815df1f949d1bcb86da6900d2ae8d27cee8946cf3cc9c7bf1681c340b8627deae18381e2e54cc02"
    "ea7402561cc99f18a33fb67283f76c126770717b00908f20b4cb112657ccd5623be1e61f8c3c7a9ca1809744"
    "217d65dc2a174b3885db4c353dcac02bf078b85b648e4c7115a728c55f82120bfacd01d10ecd2265bfdfbe24"
    "f9968922cda5f8d8b99fa925cda7d16dc6ffee57064001c3589aad5467c61ccc98f01b097fb24e75c62df820"
    "85dba9e60769e90f6f28ae1a4958444c8f210413d3886837bf9a7a926a4f1f7f154785abad75dd4d61d6e533"
    "c8b3a13194c9bae1755be35a57b95da1786846677e265af26d634d77c749843a7836dd2f0c4e534971926b7c"
    "13757fdbf451df6e0cb21e06767d097c462eeb3be715b55f44dbf67a2d1a4416d31b87bff002e657ffd66841"
    "8100666f16b2d6f6e556ea34a47423211b2858730603bca08aabca6346997bc720cd784e6637889cfbcd844e"
    "22bcb998baa34a7cd60056246a60621fce60b483e323ad0f93cab8e298ff270c008b89bb9192e721ec55826a"
    "09c5ab199a2b44f60304b63ec073d19e71009974dcd85fbdef30db3304ce102cddd67e7518c2609237b42f01"
    "e3e9a84d8a7b4b40a5f360a3629e5a58fa7848393aeb8954f7598435c841306b3af9c3d48781c07d2904abf9"
    "b1af825228db7a6f197bd364d443d66a72d6f26e4acf6cac18731e47b80d0db73b2dfa506388230189b46617"
    "8d5c3fa6ac3f072e22f4f04422fbeb6d4cec227f1a71695dd86bcf4532676b41b5c006a44c0a76738f84425a"
    "4a94c45706f685adad329c237aa3779b5fdf257f9b51cb627c10bc603489fa9376257747c4553a74a9efb95e"
    "eef87b05ba54bd2f2000b2342c4e5002892b937d42974b724bf199ca465b685bf5aac7f61aac4c5e5c5b486e"
    "00a75c73e683b282cab6f20c571a86fc189dd84e196e182dbd013b3ce476f03fb4575c0714a10245cfcfb42c"
    "69d3510184c3602648083dc887fe220148ee57ee4489f23e2adb91a81f58831ceca2abd6ccd28b00c1c42cee"
    "4bd9735437910952582c3358db74c2c0ab4eff54faab353aa71cb01eba5972b100c10244f95c8c08cc59be59"
    "5f43eb4b7bdb102854086c2cce7cea60329794816f70d9563df33ed9326e637c8a9a6c872423bb7084c528fd"
    "8504863061e0c13addd0777375c1599c7458a34eb98da40dcb044e12b62edbb99d76bc34050d8a421a989d63"
    "6f63753c23b91305e6c8d9f21768a161c6392e5fada7be121363e8f54519ce5e68865d5977d9d15e41a8424e"
    "c60de73dd903899325ae307eeac32550f728730064b4cc8a590f4c2ad229273700410f296bdeb71fd6f7af11"
    "213510d9db7f8f3ac3d426b61627d55aef6c8a4188abfb48fc9b25fe4ea916146a3379fc7cdb7449a4c88f8c"
    "692ade217cecc862d1204b11c841520065e53846c8cd54e0eb774a30f63275f15e93023c97f4551868af3707"
    "3da86dab389fa453f03ccf0370f3815ac364720a61d4050097051916a2958942309554a94debe9197fb6de07"
    "b05fa75a7fa23edbf7ff755adc2599192bdfa5080f071aa0cb4173269350a5e6ccdfe4213689522a5103c553"
    "d4b80dc8f885ba2a5bdd33184440fe6e3e9a6cef0598b76a1fa2e7a398377905358973ca95ed192ecc8cb099"
    "47085863431befbac1075f3aa9b164a5b05aad1d4c0d196b8effea5e74aff289e5b1434697684a097230cd0e"
    "a350f3e639c1002c4dc41c5f4bd5d1652356da8a928f4a3038c1824539318a6cb07fb5ba60131f303c19d55c"
    "d24e4d32af1d6757fd3a634024dcfd90871fc310de45280929780516f8929a99d80cc13638d377c322016c76"
    "5fb1dca8a4456852e76a546cdca57f3bc0cb963aaed99a5471a35cd298b0e80614a2c86d5dd61850b1331b20"
    "515b1b2d4ba4e71a759ed212ce203caadccd4838d9345e72c3a210435899c6257bfc981af1310f10c759ed7a"
    "5eaa924af8c97a2250c1e6be1409130d03895a9cd55993593bf01085aac0eb48f15a61fce7685a7ce2212828"
    "3f723564c6d0b7544125bf67f5c234d44b8ede26e5aaa89b91927801a918e6c7bef6d2624e7dcc0b7a66fc65"
    "99eca344f940c57c17529b991c021c20972252f0f4ad4c1a0e04dd932e2bad477400560a8c93d47381766930"
    "6d42bd23f00ef3b9736bb334f608406ae7e2cf3b146d829db7412c48cc94f5288edffa2b29bc2fcb16a8067c"
    "68c81543d3c57201e230a36b9e24a77c332ef3feee075a759f457b470eabf9352de63413fa458d25538caf2f"
    "a248f5265f87b885428d42620bb7dfc6ac2690091dc9e84ddd86f264da76c67bb1626855d00c99f8911d2436"
    "9c8ab836613ee85090388966565f4c002b7adc318367fb5eb5bf3ba07f76cb4cb4460d0b43680d7c16674b74"
    "0028950bb4bc7ab34b837841211a1558a6d7374b10e6e28d5ef46702ab69504a97b34769f30dcf58e2558379"
    "df7a65f850b1ec06746ea3956f0e6f76a299079874d1721b")


@functools.cache
def _constants() -> SimpleNamespace:
    """The hash constants, made on first use (they need numpy)."""
    k1 = np.uint64(0x9E3779B97F4A7C15)
    # One fixed multiply-add hash (a * x + b mod 2**64, `a` odd) per MinHash function, applied
    # to already mixed 64-bit shingle hashes; fixed so that stored signatures stay comparable.
    # Two operations per value instead of a full mixer: 2.5x faster, with no measurable bias.
    perms = np.frombuffer(bytes.fromhex(_PERMS_HEX), dtype="<u8").astype(np.uint64).reshape(
        2, NUM_PERM)
    return SimpleNamespace(
        M1=np.uint64(0xBF58476D1CE4E5B9), M2=np.uint64(0x94D049BB133111EB), K1=k1,
        K2=np.uint64(0xC2B2AE3D27D4EB4F),
        PERM_A=perms[0] * np.uint64(2) + np.uint64(1), PERM_B=perms[1],
        BAND_SALT=(np.arange(LSH_BANDS, dtype=np.uint64) + np.uint64(1)) * k1)


_MAX_WORD_CACHE = 200_000
_word_hash_cache: dict[str, int] = {}


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic is intended)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _constants().M1
    x = x ^ (x >> np.uint64(27))
    x = x * _constants().M2
    return x ^ (x >> np.uint64(31))


def _word_hashes(tokens: list[str]) -> np.ndarray:
    cache = _word_hash_cache
    if len(cache) > _MAX_WORD_CACHE:
        cache.clear()
    out = []
    for t in tokens:
        h = cache.get(t)
        if h is None:
            h = zlib.crc32(t.encode("utf-8")) | (len(t) << 32)
            cache[t] = h
        out.append(h)
    return np.fromiter(out, dtype=np.uint64, count=len(out))


def shingle_hashes(tokens: list[str], k: int = SHINGLE_WORDS) -> np.ndarray:
    """Distinct 64-bit hashes of the word k-grams of `tokens` (one gram if there are fewer)."""
    if not tokens:
        return np.zeros(0, dtype=np.uint64)
    h = _word_hashes(tokens)
    if len(h) < k:
        k = len(h)
    c = _constants()
    acc = _mix(h[: len(h) - k + 1] + c.K2)
    for i in range(1, k):
        acc = _mix(acc * c.K1 + h[i: len(h) - k + 1 + i])
    acc.sort()   # sorted, then duplicates dropped: np.unique is 7-12x slower here (numpy 2)
    return acc[np.concatenate(([True], acc[1:] != acc[:-1]))]


def minhash(shingles: np.ndarray, num_perm: int = NUM_PERM) -> np.ndarray:
    """`num_perm` 32-bit MinHash values of a set of 64-bit shingle hashes."""
    if len(shingles) == 0:
        return np.full(num_perm, 0xFFFFFFFF, dtype=np.uint32)
    values = np.full(num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
    # Chunks bound the temporary matrix for very long texts.
    c = _constants()
    for start in range(0, len(shingles), 4096):
        chunk = shingles[start:start + 4096]
        hashed = chunk[:, None] * c.PERM_A[None, :num_perm] + c.PERM_B[None, :num_perm]
        np.minimum(values, hashed.min(axis=0), out=values)
    return (values >> np.uint64(32)).astype(np.uint32)


@dataclass(frozen=True)
class Signature:
    """A decoded near-duplicate signature."""

    values: np.ndarray      # NUM_PERM uint32
    shingles: int           # size of the shingle set
    short: bool             # too few words to take part in near-duplicate matching

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(_MAGIC, _VERSION, _FLAG_SHORT if self.short else 0,
                              len(self.values), min(self.shingles, 0xFFFFFFFF))
        return header + self.values.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ParseError("near-duplicate signature must be bytes")
        data = bytes(data)
        if len(data) < _HEADER.size:
            raise ParseError("near-duplicate signature is truncated")
        magic, version, flags, num_perm, shingles = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION:
            raise ParseError("not a near-duplicate signature of this version")
        if num_perm != NUM_PERM or len(data) != _HEADER.size + 4 * num_perm:
            raise ParseError("near-duplicate signature has the wrong length")
        values = np.frombuffer(data, dtype="<u4", offset=_HEADER.size).astype(np.uint32)
        return cls(values=values, shingles=shingles, short=bool(flags & _FLAG_SHORT))


def signature_of(blocks: Sequence[str]) -> Signature:
    tokens = [w for block in blocks for w in words(block)]
    shingles = shingle_hashes(tokens)
    return Signature(values=minhash(shingles), shingles=len(shingles),
                     short=len(tokens) < NEAR_DUP_MIN_WORDS)


def signature(blocks: Sequence[str]) -> bytes:
    """The near-duplicate signature of a body (title excluded), as bytes for the store.

    Format: "MH", version 1, flags (1 = short), num_perm (uint16), shingle count (uint32), then
    num_perm little-endian uint32 MinHash values: 522 bytes.
    """
    return signature_of(blocks).to_bytes()


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    sa, sb = Signature.from_bytes(a), Signature.from_bytes(b)
    return float(np.count_nonzero(sa.values == sb.values)) / len(sa.values)


def _band_keys(values: np.ndarray) -> np.ndarray:
    """One 64-bit key per LSH band, salted with the band number so one sorted array holds all."""
    rows = values[: LSH_BANDS * LSH_ROWS].astype(np.uint64).reshape(LSH_BANDS, LSH_ROWS)
    c = _constants()
    acc = c.BAND_SALT.copy()
    for r in range(LSH_ROWS):
        acc = _mix(acc * c.K2 + rows[:, r])
    return acc


class NearDuplicateIndex:
    """In-memory MinHash LSH index: doc id -> signature, queried for near-duplicates.

    Band keys live in one sorted numpy array (searched with `searchsorted`) plus a small
    dictionary of recent additions merged in every _PENDING_MERGE additions, so memory stays
    near 12 bytes per band per document and a lookup costs LSH_BANDS binary searches whatever
    the size.
    Removal marks a row dead; dead rows are compacted away once they are a quarter of the rows.
    Short signatures are kept (so `len` counts them) but never match.
    """

    def __init__(self, threshold: float = NEAR_DUP_THRESHOLD) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.threshold = threshold
        self._nrows = 0
        self._row_of: dict[int, int] = {}
        self._dead = 0
        self._pending: dict[int, list[int]] = {}       # band key -> rows, not yet merged
        self._pending_count = 0
        self._arrays = False                           # made on first use (numpy)

    def _ready(self) -> None:
        if self._arrays:
            return
        self._arrays = True
        self._sigs = np.zeros((0, NUM_PERM), dtype=np.uint32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._keys = np.zeros(0, dtype=np.uint64)      # sorted band keys
        self._key_rows = np.zeros(0, dtype=np.int32)   # row of each key

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._row_of

    # -- building --------------------------------------------------------------------------

    def _grow(self, extra: int) -> None:
        need = self._nrows + extra
        if need <= len(self._sigs):
            return
        cap = max(need, 2 * len(self._sigs), 1024)
        sigs = np.zeros((cap, NUM_PERM), dtype=np.uint32)
        sigs[: self._nrows] = self._sigs[: self._nrows]
        ids = np.zeros(cap, dtype=np.int64)
        ids[: self._nrows] = self._ids[: self._nrows]
        alive = np.zeros(cap, dtype=bool)
        alive[: self._nrows] = self._alive[: self._nrows]
        self._sigs, self._ids, self._alive = sigs, ids, alive

    def add(self, doc_id: int, sig: bytes) -> None:
        """Index `sig` under `doc_id`, replacing what that id had (an edited document)."""
        self._ready()
        decoded = Signature.from_bytes(sig)
        if doc_id in self._row_of:
            self.remove(doc_id)
        self._grow(1)
        row = self._nrows
        self._nrows += 1
        self._sigs[row] = decoded.values
        self._ids[row] = doc_id
        self._alive[row] = True
        self._row_of[doc_id] = row
        if decoded.short:
            return
        for key in _band_keys(decoded.values).tolist():
            self._pending.setdefault(key, []).append(row)
        self._pending_count += 1
        # A merge copies the sorted arrays once (O(n) memory traffic, ~10 ms at 100k documents),
        # so merging every PENDING_MERGE additions keeps both the dictionary and the cost small.
        if self._pending_count >= _PENDING_MERGE:
            self._merge()

    def add_many(self, items: Iterable[tuple[int, bytes]]) -> None:
        """Index many (doc id, signature) pairs at once: the rebuild on start.

        Works in batches so that memory stays near the size of the finished index. A malformed
        signature raises ParseError naming its doc id; the batches before it stay indexed.
        """
        self._ready()
        keys_parts: list[np.ndarray] = []
        rows_parts: list[np.ndarray] = []
        batch: list[tuple[int, bytes]] = []

        def flush() -> None:
            decoded = []
            for doc_id, sig in batch:
                try:
                    decoded.append((doc_id, Signature.from_bytes(sig)))
                except ParseError as exc:
                    raise ParseError(f"document {doc_id}: {exc}") from exc
            self._grow(len(decoded))
            start = self._nrows
            for doc_id, sig_ in decoded:
                if doc_id in self._row_of:
                    self._forget(doc_id)  # the last signature given for an id wins
                row = self._nrows
                self._nrows += 1
                self._sigs[row] = sig_.values
                self._ids[row] = doc_id
                self._alive[row] = True
                self._row_of[doc_id] = row
            rows = np.arange(start, self._nrows, dtype=np.int32)
            long_mask = np.array([not sig_.short for _, sig_ in decoded], dtype=bool)
            if long_mask.any():
                keys = self._band_keys_many(self._sigs[start: self._nrows][long_mask])
                keys_parts.append(keys.ravel())
                rows_parts.append(np.repeat(rows[long_mask], LSH_BANDS))
            batch.clear()

        if isinstance(items, Sized):
            self._grow(len(items))  # one allocation instead of repeated doubling
        for item in items:
            batch.append(item)
            if len(batch) >= 8192:
                flush()
        if batch:
            flush()
        if keys_parts:
            keys, rows = np.concatenate(keys_parts), np.concatenate(rows_parts)
            keys_parts.clear()
            rows_parts.clear()
            self._merge(keys, rows)
        self._maybe_compact()

    @staticmethod
    def _band_keys_many(block: np.ndarray) -> np.ndarray:
        rows = block[:, : LSH_BANDS * LSH_ROWS].astype(np.uint64).reshape(
            len(block), LSH_BANDS, LSH_ROWS)
        c = _constants()
        acc = np.broadcast_to(c.BAND_SALT, (len(block), LSH_BANDS)).copy()
        for r in range(LSH_ROWS):
            acc = _mix(acc * c.K2 + rows[:, :, r])
        return acc

    def _merge(self, extra_keys: np.ndarray | None = None,
               extra_rows: np.ndarray | None = None) -> None:
        """Insert pending (and `extra`) keys into the sorted arrays."""
        parts_k: list[np.ndarray] = []
        parts_r: list[np.ndarray] = []
        if self._pending:
            parts_k.append(np.fromiter(
                (k for k, rs in self._pending.items() for _ in rs), dtype=np.uint64))
            parts_r.append(np.fromiter(
                (r for rs in self._pending.values() for r in rs), dtype=np.int32))
        if extra_keys is not None and extra_rows is not None:
            parts_k.append(extra_keys)
            parts_r.append(extra_rows.astype(np.int32))
        self._pending.clear()
        self._pending_count = 0
        if not parts_k:
            return
        keys = parts_k[0] if len(parts_k) == 1 else np.concatenate(parts_k)
        rows = parts_r[0] if len(parts_r) == 1 else np.concatenate(parts_r)
        del parts_k, parts_r
        # The order among equal keys does not matter, so the faster unstable sort will do.
        order = np.argsort(keys)
        keys = keys[order]
        rows = rows[order]
        del order
        if not len(self._keys):
            self._keys, self._key_rows = keys, rows
            return
        at = np.searchsorted(self._keys, keys, side="right")
        self._keys = np.insert(self._keys, at, keys)
        self._key_rows = np.insert(self._key_rows, at, rows)

    def remove(self, doc_id: int) -> None:
        """Forget `doc_id`; unknown ids are ignored (removal is idempotent)."""
        self._forget(doc_id)
        self._maybe_compact()

    def _forget(self, doc_id: int) -> None:
        row = self._row_of.pop(doc_id, None)
        if row is not None:
            self._alive[row] = False
            self._dead += 1

    def _maybe_compact(self) -> None:
        if self._dead > max(1024, self._nrows // 4):
            self._compact()

    def _compact(self) -> None:
        """Drop dead rows and their band keys, and renumber the rows that remain."""
        self._merge()
        keep = self._alive[self._key_rows]
        self._keys, self._key_rows = self._keys[keep], self._key_rows[keep]
        live = np.flatnonzero(self._alive[: self._nrows])
        remap = np.full(max(self._nrows, 1), -1, dtype=np.int32)
        remap[live] = np.arange(len(live), dtype=np.int32)
        self._key_rows = remap[self._key_rows]
        self._sigs = self._sigs[live].copy()
        self._ids = self._ids[live].copy()
        self._alive = np.ones(len(live), dtype=bool)
        self._nrows = len(live)
        self._row_of = {int(doc_id): row for row, doc_id in enumerate(self._ids.tolist())}
        self._dead = 0

    # -- querying --------------------------------------------------------------------------

    def query(self, sig: bytes) -> list[tuple[int, float]]:
        """Documents whose estimated similarity to `sig` is at least the threshold, best first.

        A short signature (fewer than NEAR_DUP_MIN_WORDS words) matches nothing.
        """
        self._ready()
        decoded = Signature.from_bytes(sig)
        if decoded.short:
            return []
        keys = _band_keys(decoded.values)
        found: list[np.ndarray] = []
        if len(self._keys):
            lo = np.searchsorted(self._keys, keys, side="left")
            hi = np.searchsorted(self._keys, keys, side="right")
            hi = np.minimum(hi, lo + MAX_BUCKET_CANDIDATES)
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
                if b > a:
                    found.append(self._key_rows[a:b])
        if self._pending:
            for key in keys.tolist():
                rs = self._pending.get(key)
                if rs:
                    found.append(np.asarray(rs[:MAX_BUCKET_CANDIDATES], dtype=np.int32))
        if not found:
            return []
        rows = np.unique(np.concatenate(found))
        rows = rows[self._alive[rows]]
        if not len(rows):
            return []
        sims = np.count_nonzero(self._sigs[rows] == decoded.values, axis=1) / NUM_PERM
        keep = sims >= self.threshold
        rows, sims = rows[keep], sims[keep]
        order = np.lexsort((self._ids[rows], -sims))
        return [(int(self._ids[rows[i]]), float(sims[i])) for i in order]
