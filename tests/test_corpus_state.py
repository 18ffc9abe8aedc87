"""The state beside index.jsonl: which index generation the index shows (store/corpus.py)."""

from __future__ import annotations

import json
from pathlib import Path

from collector.store.corpus import Corpus


def line(n: int) -> dict:
    return {"id": f"{n:016x}", "seq": n}


def test_an_empty_directory_agrees_with_an_empty_database(tmp_path) -> None:
    corpus = Corpus(tmp_path)
    assert corpus.agrees(0)
    assert not corpus.agrees(1)        # something stored, no index yet


def test_appends_in_order_advance_the_generation(tmp_path) -> None:
    corpus = Corpus(tmp_path)
    corpus.rewrite_index([line(1)], 4)
    assert corpus.agrees(4)
    corpus.append_index([line(2)], 5)
    assert corpus.agrees(5)
    assert not corpus.agrees(6)        # a change the index does not show (a new location)


def test_appends_out_of_order_advance_once_the_gap_is_filled(tmp_path) -> None:
    corpus = Corpus(tmp_path)
    corpus.rewrite_index([], 4)
    corpus.append_index([line(7)], 7)
    corpus.append_index([line(6)], 6)
    assert not corpus.agrees(7)        # 5 (another change) is not in the index
    corpus.append_index([line(5)], 5)
    assert corpus.agrees(7)


def test_a_line_a_rewrite_already_wrote_is_not_appended_again(tmp_path) -> None:
    corpus = Corpus(tmp_path)
    corpus.rewrite_index([line(1), line(2)], 9)
    corpus.append_index([line(2)], 8)
    assert [json.loads(x)["seq"] for x in corpus.index_path.read_text().splitlines()] == [1, 2]
    assert corpus.agrees(9)


def test_a_changed_or_lost_index_file_disagrees(tmp_path) -> None:
    corpus = Corpus(tmp_path)
    corpus.rewrite_index([line(1), line(2)], 3)
    with open(corpus.index_path, "r+b") as fh:
        fh.truncate(10)
    assert not corpus.agrees(3)
    corpus.index_path.unlink()
    assert not corpus.agrees(3)


def test_an_index_written_without_a_generation_vouches_for_nothing(tmp_path) -> None:
    corpus = Corpus(tmp_path)
    corpus.rewrite_index([line(1)], 3)
    corpus.rewrite_index([line(1)])    # `collector export` into this directory
    assert not corpus.agrees(3)
    corpus.append_index([line(2)], 4)  # and appends do not make it vouch again
    assert not corpus.agrees(4)


def test_an_unreadable_state_disagrees(tmp_path) -> None:
    corpus = Corpus(tmp_path)
    corpus.rewrite_index([line(1)], 3)
    corpus.state_path.write_text("{not json", encoding="utf-8")
    assert not corpus.agrees(3)


def test_a_new_corpus_vouches_for_its_first_appends(tmp_path) -> None:
    corpus = Corpus(tmp_path)
    assert corpus.agrees(0)
    corpus.adopt_empty(0)
    assert corpus.agrees(0)            # still no index file, and nothing to show
    corpus.append_index([line(1)], 1)
    assert corpus.agrees(1)


def seqs(corpus: Corpus) -> list[int]:
    return [json.loads(x)["seq"] for x in corpus.index_path.read_text().splitlines()]


def test_a_rewrite_from_an_older_snapshot_keeps_the_lines_appended_meanwhile(tmp_path) -> None:
    corpus = Corpus(tmp_path)
    corpus.rewrite_index([line(1)], 3)
    # a rewrite reads its snapshot (generation 4: documents 1 and 2) ...
    snapshot = iter([line(1), line(2)])
    # ... while another process appends documents 2 (generation 4) and 3 (generation 5)
    corpus.append_index([line(2)], 4)
    corpus.append_index([line(3)], 5)
    corpus.rewrite_index(snapshot, 4)
    assert seqs(corpus) == [1, 2, 3]
    assert corpus.agrees(5)


def two_lines_and_a_cut_one(directory: Path) -> Corpus:
    """A corpus whose index holds lines 1 and 2, then a line a kill cut short."""
    corpus = Corpus(directory)
    corpus.append_index([line(1)])
    corpus.append_index([line(2)])
    with open(corpus.index_path, "a", encoding="utf-8") as fh:
        fh.write('{"id": "cut')
    return corpus


def test_without_a_state_a_rewrite_keeps_lines_of_documents_its_snapshot_lacks(tmp_path) -> None:
    corpus = two_lines_and_a_cut_one(tmp_path)
    corpus.rewrite_index([line(1)], 1)
    assert seqs(corpus) == [1, 2]
    assert not corpus.agrees(2)           # line 2's change is unknown: no claim made for it
    assert corpus.index_state().generation == 1


def test_an_append_cuts_off_a_line_a_kill_left_without_its_newline(tmp_path) -> None:
    corpus = two_lines_and_a_cut_one(tmp_path)
    corpus.append_index([line(3)])
    assert seqs(corpus) == [1, 2, 3]
    corpus.index_path.write_text('{"id": "only a cut line', encoding="utf-8")
    corpus.append_index([line(4)])
    assert seqs(corpus) == [4]


def test_two_writers_sharing_the_directory_each_see_the_others_appends(tmp_path) -> None:
    # each Corpus keeps the state it last read or wrote; another writer's state is read anew
    first, second = Corpus(tmp_path), Corpus(tmp_path)
    first.rewrite_index([line(1)], 1)
    for n in range(2, 12):
        (first if n % 3 else second).append_index([line(n)], n)
    for corpus in (first, second, Corpus(tmp_path)):
        state = corpus.index_state()
        assert state is not None and state.generation == 11
        assert state.size == corpus.index_path.stat().st_size
        assert [g for g, _, _ in state.appends] == list(range(2, 12))
    assert first.agrees(11) and second.agrees(11)
    # a rewrite from a snapshot at 8 by the second keeps the lines of 9-11 appended meanwhile
    second.rewrite_index([line(n) for n in range(1, 9)], 8)
    lines = [json.loads(x)["seq"] for x in first.index_path.read_text().splitlines()]
    assert lines == list(range(1, 12))
    assert first.agrees(11)
    first.append_index([line(12)], 12)
    assert second.agrees(12) and Corpus(tmp_path).agrees(12)
