"""The fetcher against a misbehaving loopback server: each fault gives the right outcome and a
clear error naming the URL, and no request outlives its deadline."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from collector import decide, limits
from collector.encoding import decode_html
from collector.errors import FetchError, NotModified
from collector.fetch import Fetcher, FetchPolicy, body_hash, user_agent
from tests.badserver import (
    CHARSET_MISSING,
    CHARSET_WRONG,
    CYRILLIC_TEXT,
    FEED,
    JSON_FEED,
    MALFORMED,
    QUOTED_TEXT,
    BadServer,
)

LOOSE = FetchPolicy(allow_private=True, deadline_s=5, max_bytes=1 << 20)
FEED_POLICY = FetchPolicy(allow_private=True, deadline_s=5, max_bytes=1 << 20, expected="feed")
SHORT = FetchPolicy(allow_private=True, deadline_s=1.5, max_bytes=1 << 20)


@pytest.fixture
def server() -> Iterator[BadServer]:
    with BadServer() as s:
        yield s


def fetch(url: str, policy: FetchPolicy = LOOSE, **kw):
    async def go():
        async with Fetcher(per_host_delay_s=0, **kw.pop("fetcher", {})) as f:
            return await f.fetch(url, policy=policy, **kw)
    return asyncio.run(go())


def fail(url: str, policy: FetchPolicy = LOOSE, **kw) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, policy, **kw)
    err = info.value
    assert url in str(err), f"error does not name the URL: {err}"
    return err


# --- normal behaviour ------------------------------------------------------------------------

def test_feed_is_fetched_with_validators_and_headers(server):
    got = fetch(server.url("/feed"), FEED_POLICY)
    assert got.status == 200 and got.content == FEED
    assert got.etag == '"v1"' and got.last_modified
    assert got.content_type == "application/rss+xml"
    assert got.final_url == server.url("/feed")


def test_user_agent_names_the_service_and_contact(server):
    ua = user_agent("https://example.org/contact")
    fetch(server.url("/feed"), fetcher={"user_agent": ua})
    seen = server.requests[-1].headers["user-agent"]
    assert seen == ua and "collector/" in seen and "https://example.org/contact" in seen


def test_feed_requests_ask_for_feed_types(server):
    fetch(server.url("/feed"), FEED_POLICY)
    assert "application/rss+xml" in server.requests[-1].headers["accept"]


def test_json_feed_is_accepted_as_a_feed(server):
    assert fetch(server.url("/json-feed"), FEED_POLICY).content == JSON_FEED


def test_etag_gives_not_modified(server):
    with pytest.raises(NotModified):
        fetch(server.url("/feed"), etag='"v1"')
    assert server.requests[-1].headers["if-none-match"] == '"v1"'


def test_last_modified_gives_not_modified(server):
    got = fetch(server.url("/feed"))
    with pytest.raises(NotModified):
        fetch(server.url("/feed"), last_modified=got.last_modified)


def test_changed_etag_gets_the_full_body(server):
    assert fetch(server.url("/feed"), etag='"old"').content == FEED


def test_304_with_a_drifting_etag_is_still_not_modified(server):
    with pytest.raises(NotModified):
        fetch(server.url("/etag-drift"), etag='"d0"')


def test_same_body_without_validators_has_the_same_hash(server):
    a = fetch(server.url("/same-body"))
    b = fetch(server.url("/same-body"))
    assert a.etag is None and body_hash(a.content) == body_hash(b.content)


def test_gzip_body_is_decoded(server):
    assert fetch(server.url("/gzip-ok")).content == FEED


def test_gzipped_file_is_unpacked(server):
    assert fetch(server.url("/sitemap.xml.gz")).content == FEED


def test_relative_redirect_is_followed(server):
    got = fetch(server.url("/redirect-relative"))
    assert got.final_url == server.url("/feed") and got.url == server.url("/redirect-relative")


def test_redirect_chain_within_the_limit_is_followed(server):
    assert fetch(server.url("/redirect-chain/3")).final_url == server.url("/feed")


def test_cache_control_max_age_reaches_the_scheduler(server):
    got = fetch(server.url("/cache?max_age=900"))
    assert decide.parse_max_age(got.headers, datetime.now(UTC)) == 900.0


# --- misbehaviours ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/hang", "/hang-body", "/drip", "/drip-headers"])
def test_slow_servers_are_cut_off_at_the_deadline(server, path):
    """Hang before headers, hang after headers, a dripping body, dripping headers."""
    t0 = time.monotonic()
    err = fail(server.url(path), SHORT)
    assert err.kind == "timeout"
    # The bound is the behaviour under test: deadline plus scheduling slack.
    assert time.monotonic() - t0 < SHORT.deadline_s + 2


@pytest.mark.parametrize("path", ["/endless", "/gzip-bomb", "/brotli-bomb", "/huge-length"])
def test_oversized_bodies_stop_at_the_cap(server, path):
    """Endless chunked body, gzip bomb, brotli bomb, a lying Content-Length."""
    err = fail(server.url(path), LOOSE)
    assert err.kind == "too_large"
    assert "cap" in str(err)


def test_truncated_body_is_an_error(server):
    assert fail(server.url("/truncated")).kind == "truncated"


def test_truncated_chunked_body_is_an_error(server):
    assert fail(server.url("/truncated-chunked")).kind == "truncated"


def test_corrupt_gzip_is_an_error(server):
    assert fail(server.url("/bad-gzip")).kind == "decoding"


def test_unknown_content_encoding_is_an_error(server):
    err = fail(server.url("/unknown-encoding"))
    assert err.kind == "decoding" and "x-custom" in str(err)


def test_redirect_loop_is_detected(server):
    assert fail(server.url("/redirect-loop")).kind == "redirect_loop"


def test_redirect_to_itself_is_a_loop(server):
    assert fail(server.url("/redirect-self")).kind == "redirect_loop"


def test_too_many_redirects(server):
    err = fail(server.url(f"/redirect-chain/{limits.MAX_REDIRECTS + 2}"))
    assert err.kind == "too_many_redirects"
    assert len(server.requests) == limits.MAX_REDIRECTS + 1 + 1  # + robots.txt


def test_redirect_without_location(server):
    assert fail(server.url("/redirect-no-location")).kind == "http_status"


@pytest.mark.parametrize("target", ["file:///etc/passwd", "gopher://127.0.0.1:70/",
                                    "ftp://127.0.0.1/x", "http://a\\@127.0.0.1/"])
def test_redirect_to_other_schemes_is_refused(server, target):
    err = fail(server.url(f"/redirect-to?url={target}"))
    assert err.kind == "bad_url"


def test_429_carries_retry_after_and_pauses_the_host(server):
    err = fail(server.url("/429"))
    assert err.kind == "rate_limited" and err.status == 429 and err.retry_after == 120.0

    async def two():
        async with Fetcher(per_host_delay_s=0) as f:
            with pytest.raises(FetchError):
                await f.fetch(server.url("/429"), policy=LOOSE)
            before = len(server.requests)
            with pytest.raises(FetchError) as info:
                await f.fetch(server.url("/feed"), policy=LOOSE)
            return before, info.value
    before, second = asyncio.run(two())
    assert second.kind == "rate_limited" and len(server.requests) == before


def test_503_with_an_http_date_retry_after(server):
    err = fail(server.url("/503-date"))
    assert err.kind == "unavailable" and 3000 < err.retry_after <= 3600


def test_garbage_retry_after_is_ignored(server):
    err = fail(server.url("/429-garbage"))
    assert err.kind == "rate_limited" and err.retry_after is None


def test_ten_year_retry_after_is_capped(server):
    assert fail(server.url("/429-forever")).retry_after == limits.MAX_RETRY_AFTER_S


def test_304_to_an_unconditional_request_is_an_error(server):
    assert fail(server.url("/304-always")).kind == "bad_304"


@pytest.mark.parametrize("path,status", [("/500", 500), ("/404", 404), ("/403", 403)])
def test_error_statuses(server, path, status):
    err = fail(server.url(path))
    assert err.kind == "http_status" and err.status == status and str(status) in str(err)


def test_html_where_a_feed_was_expected(server):
    err = fail(server.url("/html-feed"), FEED_POLICY)
    assert err.kind == "not_a_feed" and "HTML" in str(err)


def test_html_labelled_as_a_feed_is_still_not_a_feed(server):
    assert fail(server.url("/html-as-xml"), FEED_POLICY).kind == "not_a_feed"


def test_html_is_fine_when_a_page_was_expected(server):
    assert fetch(server.url("/html-feed"), FetchPolicy(allow_private=True, expected="page"))


def test_malformed_xml_is_passed_to_the_parser_untouched(server):
    """Well-formedness is the feed parser's verdict; the fetcher must not alter the bytes."""
    assert fetch(server.url("/malformed-xml"), FEED_POLICY).content == MALFORMED


def test_empty_200_is_an_error_not_zero_items(server):
    assert fail(server.url("/empty")).kind == "empty"


def test_binary_content_type_is_refused(server):
    err = fail(server.url("/binary"))
    assert err.kind == "content_type" and "image/png" in str(err)


def test_binary_bytes_behind_octet_stream_are_refused(server):
    assert fail(server.url("/octet-binary")).kind == "content_type"


def test_connection_closed_without_answer(server):
    assert fail(server.url("/reset")).kind == "protocol"


def test_non_http_answer(server):
    assert fail(server.url("/garbage")).kind == "protocol"


def test_connection_refused():
    with BadServer() as s:
        url = s.url("/feed")
    assert fail(url).kind == "refused"


def test_dns_failure_is_classified():
    async def nowhere(host: str, port: int) -> list[str]:
        raise OSError(f"Name or service not known: {host}")
    err = fail("http://no-such-host.test/feed", fetcher={"resolver": nowhere})
    assert err.kind == "dns" and "no-such-host.test" in str(err)


def test_missing_charset_bytes_survive_for_the_decoder(server):
    got = fetch(server.url("/charset-missing"))
    assert got.content == CHARSET_MISSING
    assert CYRILLIC_TEXT in decode_html(got.content, got.headers.get("content-type"))


def test_wrong_charset_bytes_survive_for_the_decoder(server):
    got = fetch(server.url("/charset-wrong"))
    assert got.content == CHARSET_WRONG
    assert QUOTED_TEXT in decode_html(got.content, got.headers.get("content-type"))


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/", "not a url",
                                 "http://", "http://exa mple.org/", "http://a\\b.org/",
                                 "javascript:alert(1)", ""])
def test_bad_urls_are_refused_before_any_request(url):
    with pytest.raises(FetchError) as info:
        fetch(url)
    assert info.value.kind == "bad_url"


# --- politeness ------------------------------------------------------------------------------

def _many(server: BadServer, n: int, path: str, **fetcher):
    async def go():
        async with Fetcher(**fetcher) as f:
            return await asyncio.gather(*(f.fetch(server.url(path), policy=LOOSE)
                                          for _ in range(n)))
    return asyncio.run(go())


def test_per_host_concurrency_is_bounded(server):
    _many(server, 6, "/slow?s=0.3", per_host_concurrency=2, per_host_delay_s=0)
    assert server.max_in_flight == 2


def test_global_concurrency_is_bounded(server):
    _many(server, 4, "/slow?s=0.2", global_concurrency=1, per_host_concurrency=4,
          per_host_delay_s=0)
    assert server.max_in_flight == 1


class _SpacingClock:
    """The spacing's clock, advanced only by the waits the fetcher asks for: each request's
    start is the limiter's decision, whatever the machine's load does to the real waits."""

    def __init__(self) -> None:
        self.now = 100.0
        self.starts: list[float] = []      # when each request was let go, in this clock

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        start = self.now + seconds
        self.now = max(self.now, start)
        await asyncio.sleep(0)
        self.starts.append(start)


def test_requests_to_one_host_are_spaced(server):
    delay = 0.3
    clock = _SpacingClock()
    _many(server, 4, "/feed", per_host_concurrency=4, per_host_delay_s=delay, clock=clock,
          sleep=clock.sleep)
    # robots.txt, then the four: the first goes at once, each other waits for the one before
    # it plus the delay
    assert sorted(r.path for r in server.requests) == ["/feed"] * 4 + ["/robots.txt"]
    starts = [100.0, *sorted(clock.starts)]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) == 4 and min(gaps) >= delay - 1e-9


# --- timeouts say what was waited for ----------------------------------------------------------

# robots.txt off: only the request under test meets the short bounds
PHASE = FetchPolicy(allow_private=True, robots=False, deadline_s=20, max_bytes=1 << 20,
                    phase_timeout_s=0.5)


def test_a_server_that_accepts_and_never_answers_is_a_response_timeout(server):
    """The connection is made and the request sent: the wait that runs out is the one for the
    response, and the message says so (not "connect")."""
    err = fail(server.url("/hang"), PHASE)
    assert err.kind == "timeout"
    assert str(err).startswith("response timed out: ")
    assert "accepted the connection but sent no response within 0.5 s" in str(err)
    assert "connect timed out" not in str(err) and "ReadTimeout" not in str(err)
    assert server.paths() == ["/hang"]        # the request did arrive


def test_a_body_that_stalls_is_a_read_timeout_of_the_body(server):
    err = fail(server.url("/hang-body"), PHASE)
    assert err.kind == "timeout"
    assert str(err).startswith("read timed out: the body from ")
    assert "stalled (nothing for 0.5 s)" in str(err)


def test_the_deadline_says_what_the_request_was_waiting_for(server):
    policy = FetchPolicy(allow_private=True, robots=False, deadline_s=0.5, max_bytes=1 << 20)
    err = fail(server.url("/hang"), policy)
    assert err.kind == "timeout"
    assert "within 0.5 s" in str(err)
    assert "accepted the connection and the request but sent no response" in str(err)


def test_a_connect_that_never_completes_is_a_connect_timeout():
    """A listening socket whose accept queue is full drops new connection attempts: the
    connect itself is what runs out."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            # fill the accept queue (never accepted), then wait until one more SYN is dropped
            for _ in range(8):
                c = socket.socket()
                c.setblocking(False)
                c.connect_ex(("127.0.0.1", port))
                fillers.append(c)
            err = fail(f"http://127.0.0.1:{port}/feed", PHASE)
        finally:
            for c in fillers:
                c.close()
    assert err.kind == "timeout"
    assert str(err).startswith("connect timed out: no connection to ")
