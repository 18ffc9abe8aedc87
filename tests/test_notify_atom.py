"""Atom feeds of digests: valid, round-tripping through feedparser, stable, written atomically."""

from __future__ import annotations

import calendar
import os
import uuid
from datetime import UTC, datetime, timedelta, timezone
from xml.etree import ElementTree as ET

import feedparser
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from collector.document import clean_line
from collector.errors import DeliveryError
from collector.notify import DigestItem
from collector.notify.atom import ATOM_NS, entry_id, render_atom, write_atomic
from collector.notify.run import publish_feed

A = f"{{{ATOM_NS}}}"
T0 = datetime(2024, 5, 1, 5, 0, tzinfo=UTC)
SELF = "http://127.0.0.1:8080/feeds/morning.atom"


def item(n: int, **kw) -> DigestItem:
    base = dict(id=f"{n:016x}", seq=n, title=f"Statement {n} & <more>",
                source_id=f"src{n % 2}", source_name=f"Ministry {n % 2} & Partners",
                url=f"https://example.org/s/{n}?a=1&b=2",
                published=T0 - timedelta(days=1), collected=T0 + timedelta(minutes=n),
                blocks=(f"First <paragraph> of {n}.", "Second & last “paragraph”."),
                also_published=(("Agency", f"https://example.net/s/{n}"),),
                updated=T0 + timedelta(minutes=n, seconds=30), tags=("health",))
    base.update(kw)
    return DigestItem(**base)


def feed(items, **kw) -> bytes:
    return render_atom("morning", "Morning statements", items, self_url=SELF, **kw)


def ts(dt: datetime) -> int:
    return int(dt.timestamp())


def paragraphs(content_value: str) -> list[str]:
    return [p.text() for p in LexborHTMLParser(content_value).css("p")]


def test_feed_parses_without_bozo_and_round_trips_every_field():
    items = [item(1), item(2)]
    parsed = feedparser.parse(feed(items))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Morning statements"
    assert [link.href for link in parsed.feed.links if link.rel == "self"] == [SELF]
    by_id = {e.id: e for e in parsed.entries}
    for it in items:
        e = by_id[entry_id(it.id)]
        assert e.title == it.title
        assert e.link == it.url
        assert [(link.href, link.title) for link in e.links if link.rel == "related"] == \
            [(u, n) for n, u in it.also_published]
        assert e.author == it.source_name
        assert {(t.term, t.label) for t in e.tags} == {(it.source_id, it.source_name),
                                                       ("health", None)}
        assert calendar.timegm(e.updated_parsed) == ts(it.updated_at)
        assert calendar.timegm(e.published_parsed) == ts(it.published)
        assert paragraphs(e.content[0].value) == list(it.blocks)


def test_entries_are_newest_first():
    parsed = feedparser.parse(feed([item(1), item(3), item(2)]))
    assert [e.id for e in parsed.entries] == [entry_id(item(n).id) for n in (3, 2, 1)]


def test_feed_has_the_elements_the_atom_spec_requires():
    root = ET.fromstring(feed([item(1), item(2, published=None, also_published=())]))
    assert root.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{A}{name}")) == 1, name
    assert root.find(f"{A}author/{A}name") is not None
    assert root.find(f"{A}link[@rel='self']") is not None
    for entry in root.findall(f"{A}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{A}{name}")) == 1, name
        assert entry.find(f"{A}content") is not None
        assert len(entry.findall(f"{A}link[@rel='alternate']")) <= 1
        for stamp in entry.iter():
            if stamp.tag in (f"{A}updated", f"{A}published"):
                datetime.strptime(stamp.text, "%Y-%m-%dT%H:%M:%SZ")  # RFC 3339, UTC


def test_entry_id_is_stable_and_updated_follows_the_document():
    first = feedparser.parse(feed([item(1)]))
    changed = item(1, title="Corrected title", updated=T0 + timedelta(days=2))
    second = feedparser.parse(feed([changed, item(2)]))
    e1 = first.entries[0]
    e2 = next(e for e in second.entries if e.title == "Corrected title")
    assert e1.id == e2.id and e1.id.startswith("urn:uuid:")
    assert calendar.timegm(e2.updated_parsed) == ts(T0 + timedelta(days=2))
    assert entry_id(item(1).id) != entry_id(item(2).id)


def test_revision_1_keeps_the_entry_id_given_before_revisions_existed():
    # the id "3f2a9c0d41e8b7a2" had in every feed written before documents had revisions
    before = "urn:uuid:62535c06-3b26-54e8-8b04-023e9d6bc6ad"
    assert entry_id("3f2a9c0d41e8b7a2") == entry_id("3f2a9c0d41e8b7a2", 1) == before
    parsed = feedparser.parse(feed([item(1, id="3f2a9c0d41e8b7a2", revision=1)]))
    assert [e.id for e in parsed.entries] == [before]


def test_each_later_revision_has_its_own_valid_urn_uuid():
    ids = [entry_id(item(1).id, r) for r in (1, 2, 3, 4)]
    assert len(set(ids)) == 4
    for value in ids:
        assert value.startswith("urn:uuid:")
        assert str(uuid.UUID(value.removeprefix("urn:uuid:"))) == value[len("urn:uuid:"):]
    # revision 2 of one document is not revision 2 of another
    assert entry_id(item(1).id, 2) != entry_id(item(2).id, 2)


def test_a_corrected_statement_is_one_entry_under_its_revision_id():
    corrected = item(1, title="Corrected title", revision=3, updated=T0 + timedelta(days=2))
    parsed = feedparser.parse(feed([corrected, item(2)]))
    assert parsed.bozo == 0
    assert sorted(e.id for e in parsed.entries) == sorted(
        [entry_id(item(1).id, 3), entry_id(item(2).id)])
    e = next(e for e in parsed.entries if e.title == "Corrected title")
    assert calendar.timegm(e.updated_parsed) == ts(T0 + timedelta(days=2))


def test_a_revision_below_1_is_refused():
    with pytest.raises(ValueError, match="revision"):
        entry_id(item(1).id, 0)


def test_times_from_other_zones_are_written_in_utc():
    berlin = timezone(timedelta(hours=2))
    local = item(1, updated=datetime(2024, 5, 1, 9, 0, tzinfo=berlin))
    root = ET.fromstring(feed([local]))
    assert root.find(f"{A}entry/{A}updated").text == "2024-05-01T07:00:00Z"


def test_same_items_render_the_same_bytes():
    assert feed([item(1), item(2)]) == feed([item(2), item(1)])


def test_empty_feed_is_still_valid():
    parsed = feedparser.parse(feed([]))
    assert parsed.bozo == 0 and parsed.entries == []


def test_entry_count_is_capped():
    parsed = feedparser.parse(feed([item(n) for n in range(10)], max_entries=4))
    assert len(parsed.entries) == 4


def test_unsafe_links_are_left_out():
    root = ET.fromstring(feed([item(1, url="javascript:alert(1)",
                                    also_published=(("x", "file:///etc/passwd"),))]))
    assert root.findall(f"{A}entry/{A}link") == []


def test_control_characters_do_not_break_the_xml():
    nasty = "a\x00b\x01c\x08d\x0be\x0cf\x1bg\ud800h\ufffei"
    data = feed([item(1, title=nasty, source_name=nasty, blocks=(nasty,),
                      also_published=((nasty, "https://example.net/x"),), tags=(nasty,))])
    ET.fromstring(data)
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0 and parsed.entries[0].title == "abcdefghi"


def _reads_as_double_encoded(text: str) -> bool:
    try:
        return text.encode("latin-1").decode("utf-8") != text
    except UnicodeError:
        return False


@settings(max_examples=200, deadline=None)
@given(title=st.text(min_size=1, max_size=80), org=st.text(min_size=1, max_size=40),
       blocks=st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=4))
def test_any_text_gives_wellformed_atom_that_round_trips(title, org, blocks):
    title, org = clean_line(title) or "t", clean_line(org) or "o"
    blocks = [b for b in (clean_line(b) for b in blocks) if b] or ["b"]
    # feedparser "repairs" text that reads like double-encoded UTF-8 ('Â¡' comes back as '¡');
    # that is the reading parser's heuristic, not our output, so such text is left out here
    assume(not any(_reads_as_double_encoded(t) for t in (title, org, *blocks)))
    data = feed([item(1, title=title, source_name=org, blocks=tuple(blocks))])
    ET.fromstring(data)
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    entry = parsed.entries[0]
    assert entry.title == title and entry.author == org
    assert paragraphs(entry.content[0].value) == blocks


# --- writing ----------------------------------------------------------------------------

def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "feeds" / "morning.atom"
    write_atomic(path, b"old")
    publish_feed(path, "morning", "Morning", [item(1)], self_url=SELF)
    assert feedparser.parse(path.read_bytes()).entries[0].id == entry_id(item(1).id)
    assert os.listdir(path.parent) == ["morning.atom"]


def test_failed_rename_is_a_delivery_error_keeping_the_old_file_and_no_temporary(
        tmp_path, monkeypatch):
    path = tmp_path / "morning.atom"
    write_atomic(path, b"old")

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(DeliveryError):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["morning.atom"]


def test_write_atomic_into_a_path_under_a_file_is_a_delivery_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(DeliveryError):
        write_atomic(blocker / "feed.atom", b"data")
