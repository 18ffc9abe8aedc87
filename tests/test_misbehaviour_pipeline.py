"""Misbehaving servers and hostile feeds through the real pipeline: every source is polled by a
Worker (as `collector poll` does) against tests/badserver.py on loopback, and each one ends
with the right outcome, a clear stored error naming its URL, and a poll within its deadline.

Each misbehaviour is one source of kind feed, served by its own BadServer on its own loopback
address, so per-host politeness never serialises the slow cases behind each other.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from collector import limits
from collector.fetch import Fetcher
from collector.scheduler import Worker
from collector.store import Store
from tests.badserver import (
    CP1251_TITLE,
    REDOS_AUTHOR,
    WRONG_CHARSET_TITLE,
    BadServer,
)
from tests.helpers import load, store_of

#: Whole-request deadline given to every poll here (production: 30 s). The slow modes would
#: hold a poll for minutes or forever without it.
DEADLINE_S = 3.0
#: What a poll may add to the network deadline: the feed parse in a worker process (started on
#: first use), the store writes, and a loaded test machine.
MARGIN_S = 3.0
#: Address of the first server; the others follow (all of 127/8 is loopback on Linux).
FIRST_HOST = (127, 0, 9, 1)


@dataclass(frozen=True)
class Case:
    """One misbehaviour: the path served, and what the poll must end with."""

    id: str
    path: str
    ok: bool
    kind: str | None = None          # stored last_error_kind when the poll fails
    says: str = ""                   # a phrase the stored error must contain
    tls: bool = False
    url: str | None = None           # a URL not on a BadServer (DNS failure, refused)
    extra: str = ""                  # extra source keys (YAML lines)
    #: its parse is CPU work by design (feedparser's e-mail pattern on a 16 KB author: about
    #: 1 CPU s), bounded not by the network deadline but by the parse worker's own wall-time
    #: bound, after which the worker is killed
    parse_bound: bool = False


REFUSED_URL = "http://127.0.0.1:9/feed"
DNS_URL = "http://no-such-host.invalid/feed"
PRIVATE = "http://169.254.169.254/latest/meta-data/"

CASES = [
    # -- the connection and the HTTP exchange
    Case("hang-headers", "/hang", False, "timeout", f"within {DEADLINE_S:g} s"),
    Case("hang-body", "/hang-body", False, "timeout", f"within {DEADLINE_S:g} s"),
    Case("drip-body", "/drip", False, "timeout", f"within {DEADLINE_S:g} s"),
    Case("drip-headers", "/drip-headers", False, "timeout", f"within {DEADLINE_S:g} s"),
    Case("endless-body", "/endless", False, "too_large", "cap"),
    Case("gzip-bomb", "/gzip-bomb", False, "too_large", "decompressed"),
    Case("brotli-bomb", "/brotli-bomb", False, "too_large", "decompressed"),
    Case("huge-length", "/huge-length", False, "too_large", "declares"),
    Case("truncated", "/truncated", False, "truncated", "cut short"),
    Case("truncated-chunked", "/truncated-chunked", False, "truncated", "cut short"),
    Case("bad-gzip", "/bad-gzip", False, "decoding", "gzip"),
    Case("unknown-encoding", "/unknown-encoding", False, "decoding", "x-custom"),
    Case("redirect-loop", "/redirect-loop", False, "redirect_loop", "redirect loop"),
    Case("redirect-self", "/redirect-self", False, "redirect_loop", "redirect loop"),
    Case("redirect-chain", "/redirect-chain/12", False, "too_many_redirects", "redirects"),
    Case("redirect-no-location", "/redirect-no-location", False, "http_status",
         "without a Location"),
    Case("redirect-private", f"/redirect-to?url={PRIVATE}", False, "blocked_address",
         "169.254.169.254", extra="    allow_private_addresses: false\n"),
    Case("rate-limited", "/429", False, "rate_limited", "retry after 120 s"),
    Case("unavailable", "/503-date", False, "unavailable", "service unavailable"),
    Case("server-error", "/500", False, "http_status", "HTTP 500"),
    Case("not-found", "/404", False, "http_status", "HTTP 404"),
    Case("unasked-304", "/304-always", False, "bad_304", "without validators"),
    Case("empty-200", "/empty", False, "empty", "empty body"),
    Case("binary", "/binary", False, "content_type", "image/png"),
    Case("octet-binary", "/octet-binary", False, "content_type", "binary"),
    Case("not-http", "/garbage", False, "protocol", ""),
    Case("reset", "/reset", False, "protocol", ""),
    Case("html-for-feed", "/html-feed", False, "not_a_feed", "HTML page"),
    Case("html-as-rss", "/html-as-xml", False, "not_a_feed", "HTML page"),
    Case("tls-untrusted", "/feed", False, "tls", "TLS failure", tls=True),
    Case("dns-failure", "", False, "dns", "cannot resolve", url=DNS_URL),
    Case("refused", "", False, "refused", "refused", url=REFUSED_URL),
    # -- the feed itself
    Case("malformed-unreadable", "/feed-unreadable", False, "parseerror", "not"),
    Case("malformed-readable", "/feed-bozo", True),
    Case("same-guid", "/feed-same-guid", True),
    Case("no-guid-no-link", "/feed-no-ids", True),
    Case("future-date", "/feed-future", True),
    Case("redos-author", "/feed-redos", True, parse_bound=True),
    Case("billion-laughs", "/feed-laughs", True),
    Case("external-entities", "/feed-xxe", True),
    Case("charset-in-xml-only", "/feed-cp1251", True),
    Case("charset-wrong", "/feed-charset-wrong", True),
    Case("healthy", "/feed", True, extra="    backfill: 0\n"),
]
BY_ID = {c.id: c for c in CASES}


@dataclass
class Run:
    """The result of polling every case once."""

    servers: dict[str, BadServer]
    urls: dict[str, str]
    outcomes: dict[str, object]
    states: dict[str, object]
    store: Store
    before: datetime


def _host(i: int) -> str:
    a, b, c, d = FIRST_HOST
    return f"{a}.{b}.{c}.{d + i}"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    ca = trustme.CA()
    servers: dict[str, BadServer] = {}
    try:
        for i, case in enumerate(CASES):
            if case.url:
                continue
            tls = None
            if case.tls:
                tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                ca.issue_cert(_host(i)).configure_cert(tls)
            servers[case.id] = BadServer(host=_host(i), tls=tls).start()
        urls = {c.id: c.url or servers[c.id].url(c.path) for c in CASES}
        body = "sources:\n" + "".join(
            f"  - id: {c.id}\n    url: {urls[c.id]}\n    kind: feed\n{c.extra}" for c in CASES)
        tmp = tmp_path_factory.mktemp("misbehaviour")
        config = load(tmp, body, defaults="  robots: false\n  backfill: 10\n",
                      settings_extra=f"    deadline: {DEADLINE_S:g}s\n")
        assert config.settings.fetch.deadline_s == DEADLINE_S
        before = datetime.now(UTC)
        outcomes = _poll(config, tmp)
        store = store_of(config)
        states = {s.id: s for s in store.source_states()}
        yield Run(servers, urls, outcomes, states, store, before)
        store.close()
    finally:
        for s in servers.values():
            s.stop()


def _poll(config, tmp: Path) -> dict[str, object]:
    """`collector poll` on a fresh worker (the test deadline comes from `settings: fetch:
    deadline`), with a fetcher that allows loopback for every source (so one source can be
    strict about other private ranges)."""
    async def main() -> dict[str, object]:
        store = Store(config.settings.database_url)
        fetcher = Fetcher(per_host_delay_s=0, allowed_networks=["127.0.0.0/8"])
        worker = Worker(config, store, fetcher=fetcher)
        try:
            await worker.start()
            got = await worker.poll_ids([s.id for s in config.sources])
            return {s.id: o for s, o in got}
        finally:
            await worker.close()
            store.close()

    return asyncio.run(main())


def _docs(run: Run, source_id: str) -> list:
    return [d for d in run.store.iter_documents() if d.source_id == source_id]


FAILING = [c for c in CASES if not c.ok]
SUCCEEDING = [c for c in CASES if c.ok]


def test_every_misbehaviour_was_polled():
    """The catalogue holds at least twenty distinct misbehaviours, each one source."""
    assert len({(c.path or c.url, c.tls) for c in CASES}) == len(CASES) >= 20


@pytest.mark.parametrize("case", FAILING, ids=[c.id for c in FAILING])
def test_misbehaviour_fails_with_its_kind_and_a_clear_stored_error(run, case):
    """A failing source is a result: failed outcome, stored kind, an error naming the URL."""
    outcome = run.outcomes[case.id]
    state = run.states[case.id]
    assert not outcome.ok, outcome
    assert outcome.error_kind == case.kind, outcome.error
    assert state.last_error_kind == case.kind
    assert state.consecutive_failures == 1
    error = state.last_error or ""
    # The URL named is the one that failed: the source's, or the hop a redirect led to.
    named = PRIVATE if case.id == "redirect-private" else run.urls[case.id].split("?")[0]
    assert named in error, error
    assert case.says in error, error


def test_refused_redirect_error_also_names_the_source_url(run):
    """An inward redirect's error names the configured URL as well as the refused hop."""
    assert run.urls["redirect-private"] in run.states["redirect-private"].last_error


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_no_poll_exceeds_the_deadline_bound(run, case):
    """Hangs, drips, bombs and hostile XML all end within the deadline, plus local work; a
    parse that is CPU work by design within its parse bound (the time a loaded machine takes
    for a CPU second has no bound, the worker's kill has)."""
    local = limits.EXTRACT_TIMEOUT_S if case.parse_bound else MARGIN_S
    assert run.outcomes[case.id].elapsed_s <= DEADLINE_S + local


@pytest.mark.parametrize("case", SUCCEEDING, ids=[c.id for c in SUCCEEDING])
def test_survivable_feed_succeeds_without_an_error(run, case):
    """Feeds that are odd but readable are polled successfully and leave no error behind."""
    outcome = run.outcomes[case.id]
    state = run.states[case.id]
    assert outcome.ok, outcome.error
    assert state.last_error is None and state.consecutive_failures == 0


def test_failed_polls_store_nothing_and_back_off(run):
    """A failed poll adds no documents and schedules the next try later than now."""
    for case in FAILING:
        assert _docs(run, case.id) == [], case.id
        assert run.states[case.id].next_poll_at > run.before, case.id


def test_retry_after_is_a_floor_on_the_next_poll(run):
    """429 with Retry-After: 120 schedules the next poll at least 120 s later."""
    state = run.states["rate-limited"]
    assert state.next_poll_at >= run.before + timedelta(seconds=120)


def test_redirect_to_a_private_address_is_never_connected(run):
    """The inward redirect is refused before any connection to the private address."""
    server = run.servers["redirect-private"]
    assert server.paths() == ["/redirect-to"]
    assert "169.254.169.254 (link-local address)" in run.states["redirect-private"].last_error


def test_endless_and_bomb_bodies_stop_at_the_cap(run):
    """The decoded-size cap ends the endless body and both bombs; nothing is stored."""
    for cid in ("endless-body", "gzip-bomb", "brotli-bomb"):
        assert "10485760-byte cap" in run.states[cid].last_error, cid


def test_readable_malformed_feed_yields_its_items(run):
    """A feed a lenient parser can read is taken, items and all (RELIABILITY row 29)."""
    titles = sorted(d.title for d in _docs(run, "malformed-readable"))
    assert titles == ["Statement number 31", "Statement number 32"]


def test_items_sharing_one_guid_stay_distinct(run):
    """Three items with one GUID and distinct links become three documents (row 33)."""
    titles = sorted(d.title for d in _docs(run, "same-guid"))
    assert titles == ["Statement number 1", "Statement number 2", "Statement number 3"]


def test_items_without_guid_or_link_are_kept_from_the_feed_text(run):
    """Items with neither GUID nor link are identified by content and stored (row 35)."""
    docs = _docs(run, "no-guid-no-link")
    assert sorted(d.title for d in docs) == ["Statement without identity 1",
                                            "Statement without identity 2"]
    assert any("wages and hours" in d.text for d in docs)
    assert any("winter storms" in d.text for d in docs)


def test_future_date_is_not_trusted(run):
    """A publication date in 2099 is not stored as the document's date (row 36)."""
    docs = {d.url.rsplit("=", 1)[1]: d for d in _docs(run, "future-date")}
    assert set(docs) == {"21", "22"}
    future = docs["21"]
    assert future.title == "Statement number 21"
    assert future.published_at is None or future.published_at.year < 2099


def test_redos_author_is_parsed_within_the_bound(run):
    """A 16 KB pathological <author> is parsed, and the poll ends within the bound (row 8)."""
    assert len(REDOS_AUTHOR) >= 16_000
    docs = _docs(run, "redos-author")
    assert [d.title for d in docs] == ["Statement number 41"]


def test_billion_laughs_is_not_expanded(run):
    """Nested entities are not expanded; the item survives with a short title (row 7)."""
    docs = _docs(run, "billion-laughs")
    assert docs, "the item should survive"
    assert all(len(d.text) < 10_000 and "lollollol" not in d.text for d in docs)


def test_external_entities_are_neither_read_nor_fetched(run):
    """file:///etc/passwd is not read and the external URL is not requested (row 6)."""
    server = run.servers["external-entities"]
    assert "/xxe-probe" not in server.paths()
    for d in _docs(run, "external-entities"):
        assert "root:" not in d.text and "root:" not in d.title


def test_charset_named_only_in_the_xml_declaration_is_honoured(run):
    """windows-1251 named only in the XML declaration decodes to the right Cyrillic (row 30)."""
    assert [d.title for d in _docs(run, "charset-in-xml-only")] == [CP1251_TITLE]


def test_wrong_http_charset_does_not_garble_the_text(run):
    """UTF-8 bytes labelled iso-8859-1 still give the right characters, not mojibake."""
    docs = _docs(run, "charset-wrong")
    assert [d.title for d in docs] == [WRONG_CHARSET_TITLE]
    assert all("\u00e2\u20ac" not in d.text for d in docs)


def test_healthy_feed_beside_the_misbehaviours_is_polled_normally(run):
    """One well-behaved source in the same run succeeds (isolation, row 38)."""
    assert run.outcomes["healthy"].ok and not run.outcomes["healthy"].not_modified
    assert run.states["healthy"].etag == '"v1"'
