"""Content fingerprints, near-duplicate signatures and index, and the dedup decisions."""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import statistics
import struct
import subprocess
import sys

import pytest

from collector import dedup
from collector.dedup import (
    NEAR_DUP_THRESHOLD,
    NearDuplicateIndex,
    StoredMatch,
    choose_primary,
    content_fingerprint,
    decide,
    signature,
    similarity,
)
from collector.errors import ParseError

STATEMENT = [
    "The federation condemns the decision of the transport ministry to cancel the collective "
    "agreement signed last spring with the unions representing rail and bus workers.",
    "For eleven months, delegates negotiated in good faith on wages, rest periods and the safety "
    "of night shifts. The agreement they reached was ratified by a large majority of members in "
    "every region, and the ministry itself welcomed it as a model for other sectors.",
    "Tearing it up now, without consultation and on the eve of the summer timetable, puts "
    "passengers at risk and tells every worker that a signature from this government is worth "
    "nothing. We call on the minister to withdraw the decree and return to the table.",
    "Our sections in all member countries will hold solidarity actions on Thursday. We ask "
    "affiliated unions to send messages of support and to inform their members about the "
    "situation of their colleagues, who have shown remarkable restraint so far.",
    "The federation stands ready to support any legal challenge against the decree and will "
    "raise the matter with the International Labour Organization at its next session.",
]

OTHER_STATEMENT = [
    "The federation welcomes the agreement reached yesterday between the port authority and the "
    "dockworkers' union after three weeks of talks over automation of the container terminal.",
    "The settlement guarantees that no permanent worker will lose their job as new cranes are "
    "introduced, sets up a joint training fund, and gives the union a seat on the committee that "
    "plans future investment in the terminal.",
    "This outcome shows what social dialogue can achieve when both sides negotiate in good "
    "faith. We congratulate the negotiators and the members who stood together throughout.",
    "We call on other port operators in the region to follow this example rather than impose "
    "technology on their workforce without consultation or any plan for retraining.",
    "The federation will present the agreement at its transport conference next month as a "
    "model for the sector and will continue to monitor its implementation closely.",
]


def edit(blocks: list[str], rate: float, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out = []
    for block in blocks:
        words = block.split()
        for i in range(len(words)):
            if rng.random() < rate:
                words[i] = words[i][::-1] + "x"
        out.append(" ".join(words))
    return out


# --- exact fingerprints -------------------------------------------------------------------

def test_fingerprint_ignores_case_space_and_punctuation_variants() -> None:
    variant = [
        b.upper().replace(". ", ".   ").replace("'", "\u2019").replace(",", " ,")
        for b in STATEMENT
    ]
    assert content_fingerprint("A", STATEMENT) == content_fingerprint("A", variant)


def test_fingerprint_ignores_unicode_width_and_quote_styles() -> None:
    a = ["\u201cWe\u201d \u2014 said the Federation\u2026 \uff21rticle 5"]
    b = ['"we" - said the federation... Article 5']
    assert content_fingerprint("", a) == content_fingerprint("", b)


def test_fingerprint_ignores_the_title() -> None:
    assert content_fingerprint("Old headline", STATEMENT) == \
        content_fingerprint("Statement: a new headline", STATEMENT)


def test_fingerprint_ignores_paragraph_boundaries() -> None:
    assert content_fingerprint("t", STATEMENT) == content_fingerprint("t", [" ".join(STATEMENT)])


def test_fingerprint_changes_when_a_word_changes() -> None:
    changed = [STATEMENT[0].replace("condemns", "welcomes"), *STATEMENT[1:]]
    assert content_fingerprint("t", STATEMENT) != content_fingerprint("t", changed)


def test_fingerprint_of_empty_body_uses_title() -> None:
    assert content_fingerprint("One", []) != content_fingerprint("Two", [])
    assert content_fingerprint("One", ["", "  "]) == content_fingerprint("one!", [])


def test_fingerprint_is_hex_sha256() -> None:
    fp = content_fingerprint("t", STATEMENT)
    assert len(fp) == 64
    int(fp, 16)


def test_words_split_cjk_text_into_characters() -> None:
    assert dedup.words("工会声明 today") == ["工", "会", "声", "明", "today"]


# --- signatures ---------------------------------------------------------------------------

def test_signature_is_deterministic_across_processes() -> None:
    """Signatures are stored and compared after restarts, so no per-process hash seed."""
    code = ("import json, sys; sys.path.insert(0, '.'); from collector.dedup import signature; "
            "print(signature(json.loads(sys.argv[1])).hex())")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(STATEMENT)],
                         capture_output=True, text=True,
                         env=env, check=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(__file__)))
    assert bytes.fromhex(out.stdout.strip()) == signature(STATEMENT)


def test_signature_format_round_trips() -> None:
    sig = signature(STATEMENT)
    decoded = dedup.Signature.from_bytes(sig)
    assert len(sig) == 10 + 4 * dedup.NUM_PERM
    assert decoded.to_bytes() == sig
    assert not decoded.short
    assert decoded.shingles == len({tuple(w) for w in _trigrams(STATEMENT)})


def _trigrams(blocks: list[str]) -> list[list[str]]:
    words = [w for b in blocks for w in dedup.words(b)]
    return [words[i:i + 3] for i in range(len(words) - 2)]


def test_similarity_of_identical_texts_is_one() -> None:
    assert similarity(signature(STATEMENT), signature(STATEMENT)) == 1.0


def test_similarity_of_different_statements_is_low() -> None:
    assert similarity(signature(STATEMENT), signature(OTHER_STATEMENT)) < 0.1


@pytest.mark.parametrize("bad", [b"", b"MH", b"XX" + bytes(600), b"MH\x02" + bytes(600),
                                 signature(STATEMENT)[:-4], "text"])
def test_malformed_signature_raises_parse_error(bad: object) -> None:
    index = NearDuplicateIndex()
    with pytest.raises(ParseError):
        index.add(1, bad)  # type: ignore[arg-type]
    with pytest.raises(ParseError):
        index.query(bad)  # type: ignore[arg-type]


SIGNATURE_OF_STATEMENT = "a9f6d56b7409ea49"


# --- the index ----------------------------------------------------------------------------

TRANSFORMS = {
    "new intro": ["We publish below the statement adopted by our international federation on "
                  "Monday, with which our section fully agrees.", *STATEMENT],
    "intro removed": STATEMENT[1:],
    "signature": [*STATEMENT, "Issued by the Press Office, Brussels, 3 June 2025"],
    "last paragraph cut": STATEMENT[:-1],
    "2% edits": edit(STATEMENT, 0.02),
    "5% edits": edit(STATEMENT, 0.05),
    "furniture left in": ["Home", "News", "Share this", *STATEMENT, "Subscribe to our newsletter",
                          "Related: Port agreement welcomed", "© 2025 All rights reserved"],
}


@pytest.fixture()
def index() -> NearDuplicateIndex:
    idx = NearDuplicateIndex()
    idx.add(1, signature(STATEMENT))
    idx.add(2, signature(OTHER_STATEMENT))
    return idx


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_index_finds_republished_variants(index: NearDuplicateIndex, name: str) -> None:
    found = index.query(signature(TRANSFORMS[name]))
    assert found and found[0][0] == 1
    assert all(doc_id != 2 for doc_id, _ in found)


def test_index_rejects_a_different_statement_on_the_same_topic() -> None:
    idx = NearDuplicateIndex()
    idx.add(1, signature(STATEMENT))
    assert idx.query(signature(OTHER_STATEMENT)) == []


def test_query_returns_only_matches_above_threshold_best_first(index: NearDuplicateIndex) -> None:
    index.add(3, signature(edit(STATEMENT, 0.05, seed=9)))
    found = index.query(signature(edit(STATEMENT, 0.01, seed=4)))
    assert [doc_id for doc_id, _ in found][:1] == [1]
    sims = [s for _, s in found]
    assert sims == sorted(sims, reverse=True)
    assert all(s >= NEAR_DUP_THRESHOLD for s in sims)
    assert {doc_id for doc_id, _ in found} == {1, 3}


def test_short_texts_never_match_near_duplicates() -> None:
    short = ["The federation condemns the cancellation of the agreement and calls on the "
             "minister to withdraw the decree."]
    idx = NearDuplicateIndex()
    idx.add(1, signature(short))
    assert len(idx) == 1
    assert idx.query(signature(short)) == []
    assert dedup.Signature.from_bytes(signature(short)).short
    # ... but the exact fingerprint still catches the same short text.
    assert content_fingerprint("a", short) == content_fingerprint("b", [short[0].upper()])


def test_remove_forgets_a_document(index: NearDuplicateIndex) -> None:
    index.remove(1)
    index.remove(1)  # idempotent
    assert len(index) == 1
    assert 1 not in index
    assert index.query(signature(STATEMENT)) == []


def test_adding_an_id_again_replaces_its_signature(index: NearDuplicateIndex) -> None:
    """An edited document keeps its id; only its new text is matched afterwards."""
    index.add(1, signature(OTHER_STATEMENT[:3] + STATEMENT[:1]))
    assert len(index) == 2
    assert all(doc_id != 1 for doc_id, _ in index.query(signature(STATEMENT)))


def _corpus(n: int, seed: int = 3) -> list[list[str]]:
    """`n` distinct texts of 80 words drawn from a large made-up vocabulary."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(20000)]
    return [[" ".join(rng.choice(vocab) for _ in range(80))] for _ in range(n)]


def test_bulk_rebuild_matches_incremental_adds() -> None:
    texts = _corpus(300)
    sigs = [signature(t) for t in texts]
    one = NearDuplicateIndex()
    for i, s in enumerate(sigs):
        one.add(i, s)
    bulk = NearDuplicateIndex()
    bulk.add_many(enumerate(sigs))
    assert len(one) == len(bulk) == 300
    for i in (0, 150, 299):
        probe = signature(edit(texts[i], 0.02, seed=i))
        assert one.query(probe) == bulk.query(probe)
        assert bulk.query(probe)[0][0] == i


def test_index_stays_correct_through_merges_and_compaction() -> None:
    """Additions one by one, then enough removals to trigger compaction."""
    texts = _corpus(2600, seed=5)
    idx = NearDuplicateIndex()
    for i, t in enumerate(texts):
        idx.add(i, signature(t))
    for i in range(0, 2600, 2):
        idx.remove(i)
    assert len(idx) == 1300
    for i in (1, 7, 1301, 2599):
        assert idx.query(signature(texts[i]))[0] == (i, 1.0)
    for i in (0, 8, 2598):
        assert idx.query(signature(texts[i])) == []
    idx.add(0, signature(texts[0]))
    assert idx.query(signature(texts[0]))[0] == (0, 1.0)


def test_threshold_must_be_a_fraction() -> None:
    with pytest.raises(ValueError):
        NearDuplicateIndex(threshold=0)
    with pytest.raises(ValueError):
        NearDuplicateIndex(threshold=1.5)


# --- decisions ----------------------------------------------------------------------------

H1, H2 = "a" * 64, "b" * 64


def test_same_url_same_text_is_unchanged() -> None:
    d = decide(content_hash=H1, by_url=StoredMatch(7, H1), by_hash=7)
    assert (d.action, d.doc_id) == ("unchanged", 7)


def test_same_url_changed_text_updates_and_keeps_the_id() -> None:
    d = decide(content_hash=H2, by_url=StoredMatch(7, H1), by_hash=None, near=[(7, 0.9)])
    assert (d.action, d.doc_id) == ("update", 7)


def test_url_identity_wins_over_a_text_match_elsewhere() -> None:
    """A page edited in place stays its own document even if it now resembles another."""
    d = decide(content_hash=H2, by_url=StoredMatch(7, H1), by_hash=3, near=[(3, 1.0)])
    assert (d.action, d.doc_id) == ("update", 7)


def test_feed_item_republished_with_new_guid_and_https_link_is_unchanged() -> None:
    """GUID churn and an http->https move: the link's url_key finds the stored page."""
    stored = {dedup.url_key("http://www.example.org/news/strike"): StoredMatch(7, H1)}
    again = dedup.url_key("https://example.org/news/strike/?utm_source=rss")
    d = decide(content_hash=H1, by_url=stored.get(again), by_hash=None)
    assert (d.action, d.doc_id) == ("unchanged", 7)


def test_known_other_location_never_rewrites_the_document() -> None:
    """A section editing its copy of a statement must not overwrite the original's text."""
    d = decide(content_hash=H2, by_url=None, by_hash=None, near=[(7, 0.8)], by_location=7)
    assert (d.action, d.doc_id) == ("unchanged", 7)


def test_same_text_under_another_url_is_a_duplicate() -> None:
    d = decide(content_hash=H1, by_url=None, by_hash=3, near=[(4, 0.8)])
    assert (d.action, d.doc_id, d.similarity) == ("duplicate", 3, 1.0)


def test_near_duplicate_points_at_the_most_similar_document() -> None:
    d = decide(content_hash=H1, by_url=None, by_hash=None, near=[(4, 0.6), (9, 0.8)])
    assert (d.action, d.doc_id, d.similarity) == ("duplicate", 9, 0.8)


def test_nothing_matching_is_new() -> None:
    d = decide(content_hash=H1, by_url=None, by_hash=None, near=[])
    assert (d.action, d.doc_id) == ("new", None)


def test_stored_text_is_kept_for_ordinary_variants() -> None:
    assert choose_primary(800, 830).keep == "existing"   # a signature, a new intro
    assert choose_primary(800, 700).keep == "existing"   # a shorter copy


def test_fuller_duplicate_replaces_a_truncated_text() -> None:
    choice = choose_primary(300, 800)
    assert choice.keep == "incoming"
    assert "500 more words" in choice.reason


def test_small_absolute_gain_does_not_swap_short_texts() -> None:
    assert choose_primary(60, 90).keep == "existing"


def test_partial_text_loses_to_a_complete_one() -> None:
    assert choose_primary(800, 300, existing_partial=True).keep == "incoming"
    assert choose_primary(300, 800, incoming_partial=True).keep == "existing"


def test_negative_word_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        choose_primary(-1, 10)


def test_bulk_rebuild_keeps_the_last_signature_given_for_an_id() -> None:
    idx = NearDuplicateIndex()
    idx.add_many([(1, signature(OTHER_STATEMENT)), (2, signature(OTHER_STATEMENT[1:])),
                  (1, signature(STATEMENT))])
    assert len(idx) == 2
    assert idx.query(signature(STATEMENT))[0] == (1, 1.0)
    assert [doc_id for doc_id, _ in idx.query(signature(OTHER_STATEMENT))] == [2]


def test_bulk_rebuild_names_the_document_with_a_corrupt_signature() -> None:
    idx = NearDuplicateIndex()
    with pytest.raises(ParseError, match="document 5"):
        idx.add_many([(4, signature(STATEMENT)), (5, b"MH\x01broken")])


@pytest.mark.parametrize("title, blocks", [
    ("Title", STATEMENT),
    ("Only a title", []),
    ("Short", ["Ünïcode ＷＩＤＴＨ text, with 東京都 words."]),
    ("", ["", "  "]),
])
def test_fingerprints_in_one_pass_equal_the_two_separate_ones(title: str,
                                                              blocks: list[str]) -> None:
    assert dedup.fingerprints(title, blocks) == (content_fingerprint(title, blocks),
                                                 signature(blocks))


def test_bulk_additions_merge_into_an_index_that_holds_documents() -> None:
    """`add_many` into partitions that already hold entries (of `add` and an earlier
    `add_many`), then compaction: every live document is still found, each only once."""
    texts = _corpus(3000, seed=11)
    sigs = [signature(t) for t in texts]
    idx = NearDuplicateIndex()
    idx.add_many(enumerate(sigs[:1000]))
    for i in range(1000, 1500):
        idx.add(i, sigs[i])
    idx.add_many((i, sigs[i]) for i in range(1500, 3000))
    for i in range(0, 3000, 3):
        idx.remove(i)
    assert len(idx) == 2000
    for i in (1, 998, 1000, 1499, 1501, 2999):
        assert idx.query(sigs[i]) == [(i, 1.0)]
    for i in (0, 999, 1002, 1500, 2997):
        assert idx.query(sigs[i]) == []


def test_a_lookup_reads_at_most_max_bucket_candidates_per_bucket() -> None:
    """Thousands of identical texts (boilerplate pages) share every bucket: a lookup reads
    MAX_BUCKET_CANDIDATES of them, not all."""
    same = signature(STATEMENT)
    idx = NearDuplicateIndex()
    idx.add_many((i, same) for i in range(3 * dedup.MAX_BUCKET_CANDIDATES))
    found = idx.query(same)
    assert len(found) == dedup.MAX_BUCKET_CANDIDATES
    assert found == [(i, 1.0) for i in range(dedup.MAX_BUCKET_CANDIDATES)]


# --- the signature scheme -----------------------------------------------------------------

def _version_1(values: list[int], short: bool = False) -> bytes:
    """A signature in the format of version 1 (128-permutation MinHash, an earlier release)."""
    return (struct.pack("<2sBBHI", b"MH", 1, int(short), 128, len(values))
            + struct.pack("<128I", *values))


def test_signature_of_a_known_text_is_fixed() -> None:
    """Stored signatures are compared with new ones for years: a change of the scheme must
    come with a new version number (and this value)."""
    sig = signature(STATEMENT)
    assert sig[:4] == b"MH\x02\x00"
    assert hashlib.sha256(sig).hexdigest()[:16] == SIGNATURE_OF_STATEMENT


def test_a_signature_of_an_older_version_is_stale_not_indexed() -> None:
    old = _version_1(list(range(128)))
    idx = NearDuplicateIndex()
    with pytest.raises(dedup.StaleSignature, match="version 1"):
        idx.add(1, old)
    with pytest.raises(ParseError):
        similarity(old, signature(STATEMENT))
    assert idx.add_many([(1, signature(STATEMENT)), (2, old), (3, old)]) == [2, 3]
    assert len(idx) == 1 and 2 not in idx
    # an id indexed before and given again with a stale signature is no longer matched
    assert idx.add_many([(1, old)]) == [1]
    assert 1 not in idx and idx.query(signature(STATEMENT)) == []


def _estimate(n: int, jaccard: float, seed: int) -> tuple[float, float]:
    """Estimated and true similarity of two random sets of `n` 64-bit hashes with about this
    Jaccard similarity."""
    rng = random.Random(seed)
    shared = round(2 * n * jaccard / (1 + jaccard))
    common = [rng.getrandbits(64) for _ in range(shared)]
    a = sorted(set(common + [rng.getrandbits(64) for _ in range(n - shared)]))
    b = sorted(set(common + [rng.getrandbits(64) for _ in range(n - shared)]))
    va, vb = dedup.minhash(a), dedup.minhash(b)
    true = len(set(a) & set(b)) / len(set(a) | set(b))
    return sum(x == y for x, y in zip(va, vb, strict=True)) / dedup.NUM_PERM, true


@pytest.mark.parametrize("n", [40, 150, 2000])
@pytest.mark.parametrize("jaccard", [0.2, 0.5, 0.8])
def test_one_permutation_minhash_estimates_jaccard_without_bias(n: int, jaccard: float) -> None:
    """Large sets (every bin filled) and small ones (most bins borrowed by densification):
    the mean error of 150 estimates is within 0.01 (three standard errors), and their spread
    is near k-permutation MinHash's sqrt(J(1-J)/128) (0.035 to 0.044 here)."""
    pairs = [_estimate(n, jaccard, seed) for seed in range(150)]
    assert abs(statistics.mean(est - true for est, true in pairs)) < 0.01
    expected = math.sqrt(jaccard * (1 - jaccard) / dedup.NUM_PERM)
    assert 0.75 * expected < statistics.pstdev(est for est, _ in pairs) < 1.25 * expected


def test_densification_fills_every_bin_from_the_sets_own_values() -> None:
    few = sorted(random.Random(2).getrandbits(64) for _ in range(5))
    values = dedup.minhash(few)
    assert len(values) == dedup.NUM_PERM
    assert set(values) == {(h >> 25) & 0xFFFFFFFF for h in few}
    assert dedup.minhash([]) == (0xFFFFFFFF,) * dedup.NUM_PERM
    with pytest.raises(ValueError):
        dedup.minhash(few, num_perm=100)


def test_signatures_and_the_index_never_import_numpy() -> None:
    """numpy's import costs a process 11-12 MB; the near-duplicate stage does without it."""
    code = ("import sys; sys.path.insert(0, '.'); from collector import dedup; "
            "sig = dedup.signature(['one two three four five six'] * 20); "
            "index = dedup.NearDuplicateIndex(); index.add_many([(1, sig)]); index.add(2, sig); "
            "print(index.query(sig), 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.stdout.split() == ["[(1,", "1.0),", "(2,", "1.0)]", "False"]
