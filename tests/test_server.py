"""The HTTP server on a real loopback socket: pages, escaping, headers, feeds, health, metrics."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from selectolax.lexbor import LexborHTMLParser

from collector.digests import DigestRunner
from collector.errors import CollectorError
from collector.metrics import Registry
from collector.server import HttpServer, judge_health, parse_bind
from collector.web import pages as pages_module
from tests.test_server_helpers import T0, add_doc, add_many, make_world, running

MARKUP_TITLE = '<script>alert("t")</script> & <b>Bold</b> "quoted"'


@pytest.fixture
def world(tmp_path):
    config, store = make_world(tmp_path)
    yield config, store
    store.close()


def dom(response: httpx.Response) -> LexborHTMLParser:
    return LexborHTMLParser(response.text)


def cell_texts(tree: LexborHTMLParser, selector: str = "tbody tr") -> list[list[str]]:
    return [[" ".join(td.text().split()) for td in tr.css("td")] for tr in tree.css(selector)]


def assert_security_headers(r: httpx.Response) -> None:
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


# -- pages ------------------------------------------------------------------------------------


def test_latest_page_lists_title_organisation_date_and_also_published_by(world):
    config, store = world
    first = add_doc(store, "reddawn", "strike", "Dockers strike", ["The dockers walked out."])
    add_doc(store, "vanguard", "later", "Later statement", ["Text."], published=T0
            + timedelta(days=1), now=T0 + timedelta(days=1))
    store.add_location(first.id, source_id="vanguard", url="http://127.0.0.1:9/v/strike",
                       url_key="v-strike", how="exact", seen_key="v-strike", now=T0)
    with running(config, store) as srv:
        r = httpx.get(srv.url + "/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    rows = cell_texts(dom(r))
    assert rows == [["Later statement", "Vanguard League", "2024-05-02", ""],
                    ["Dockers strike", "Red Dawn", "2024-05-01", "Vanguard League"]]
    link = dom(r).css_first("tbody tr:nth-child(2) a")
    assert link.attributes["href"] == f"/d/{first.id}"


def test_latest_page_is_paginated_with_older_and_newer_links(world, monkeypatch):
    config, store = world
    monkeypatch.setattr(pages_module, "PAGE_SIZE", 2)
    add_many(store, 5)
    with running(config, store) as srv:
        first = dom(httpx.get(srv.url + "/"))
        second = dom(httpx.get(srv.url + "/?page=2"))
        last = dom(httpx.get(srv.url + "/?page=3"))
    titles = [[row[0] for row in cell_texts(t)] for t in (first, second, last)]
    assert titles == [["Statement number 4", "Statement number 3"],
                      ["Statement number 2", "Statement number 1"], ["Statement number 0"]]
    assert first.css_first("a[rel=next]").attributes["href"] == "/?page=2"
    assert first.css_first("a[rel=prev]") is None
    assert second.css_first("a[rel=prev]").attributes["href"] == "/"
    assert last.css_first("a[rel=next]") is None


def test_empty_database_says_nothing_has_been_collected(world):
    config, store = world
    with running(config, store) as srv:
        r = httpx.get(srv.url + "/")
    assert r.status_code == 200
    assert "No statements have been collected yet." in dom(r).css_first("main").text()


def test_document_page_shows_paragraphs_metadata_and_locations(world):
    config, store = world
    doc = add_doc(store, "reddawn", "strike", "Dockers strike",
                  ["The dockers walked out.", "They demand a raise."])
    store.add_location(doc.id, source_id="vanguard", url="http://127.0.0.1:9/v/strike",
                       url_key="v-strike", how="near", seen_key="v-strike", now=T0)
    with running(config, store) as srv:
        tree = dom(httpx.get(f"{srv.url}/d/{doc.id}"))
    assert tree.css_first("h1").text() == "Dockers strike"
    assert [p.text() for p in tree.css("article section p")] == [
        "The dockers walked out.", "They demand a raise."]
    meta = dict(zip([d.text() for d in tree.css("dt")], [d.text() for d in tree.css("dd")],
                    strict=True))
    assert meta["Organisation"] == "Red Dawn"
    assert meta["File"] == f"000_{doc.id}.txt"
    assert [row[0] for row in cell_texts(tree)] == ["Red Dawn", "Vanguard League"]
    assert cell_texts(tree)[1][3] == "near"


def test_non_web_addresses_are_shown_but_never_linked(world):
    config, store = world
    doc = add_doc(store, "reddawn", "js", "Odd address", ["Text."])
    store.add_location(doc.id, source_id="vanguard", url="javascript:alert(1)",
                       url_key="js", how="url", seen_key="js", now=T0)
    with running(config, store) as srv:
        r = httpx.get(f"{srv.url}/d/{doc.id}")
    tree = dom(r)
    assert "javascript:alert(1)" in tree.css_first("tbody").text()
    assert all(not a.attributes.get("href", "").startswith("javascript")
               for a in tree.css("a"))


def test_markup_in_titles_and_names_is_shown_as_text_everywhere(world):
    config, store = world
    doc = add_doc(store, "odd", "x", MARKUP_TITLE, ["Body mentions zebra."])
    with running(config, store) as srv:
        pages = [httpx.get(srv.url + p) for p in
                 ("/", f"/d/{doc.id}", "/search?q=zebra", "/sources")]
    for r in pages:
        assert r.status_code == 200
        tree = dom(r)
        assert tree.css("main script") == [] and tree.css("main b") == []
        assert "<script>" not in r.text
    assert dom(pages[1]).css_first("h1").text() == MARKUP_TITLE
    assert cell_texts(dom(pages[0]))[0][:2] == [MARKUP_TITLE, "Odd <b>Bold</b> & Co"]


def test_unknown_document_is_404_and_echoes_the_id_escaped(world):
    config, store = world
    with running(config, store) as srv:
        missing = httpx.get(srv.url + "/d/0123456789abcdef")
        hostile = httpx.get(srv.url + "/d/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert missing.status_code == 404 and "0123456789abcdef" in missing.text
    assert hostile.status_code == 404
    assert "<script>alert(1)" not in hostile.text
    assert "&lt;script&gt;alert(1)" in hostile.text
    assert_security_headers(hostile)


def test_unknown_path_is_404_page_that_escapes_the_path(world):
    config, store = world
    with running(config, store) as srv:
        r = httpx.get(srv.url + '/nothing/%3Cimg%20src=x%20onerror=alert(1)%3E"')
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<img" not in r.text and "&lt;img src=x onerror=alert(1)&gt;" in r.text
    assert_security_headers(r)


def test_bad_page_number_is_400_with_escaped_echo(world):
    config, store = world
    with running(config, store) as srv:
        bad = httpx.get(srv.url + "/", params={"page": "<svg onload=alert(1)>"})
        zero = httpx.get(srv.url + "/search", params={"q": "x", "page": "0"})
        huge = httpx.get(srv.url + "/", params={"page": "9" * 40})
    assert [bad.status_code, zero.status_code, huge.status_code] == [400, 400, 400]
    assert "<svg" not in bad.text and "&lt;svg onload=alert(1)&gt;" in bad.text


def test_writes_are_refused_with_405_and_allow_header(world):
    config, store = world
    with running(config, store) as srv:
        r = httpx.post(srv.url + "/search", data={"q": "x"})
    assert r.status_code == 405
    assert "GET" in r.headers["allow"]
    assert_security_headers(r)


def test_every_page_carries_security_headers_and_style_hash_matches(world):
    config, store = world
    with running(config, store) as srv:
        responses = [httpx.get(srv.url + p) for p in
                     ("/", "/sources", "/search", "/healthz", "/metrics", "/feeds/x.atom")]
    for r in responses:
        assert_security_headers(r)
    # the inline style sheet is the one the policy admits
    import base64
    import hashlib

    style = dom(responses[0]).css_first("style").text()
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in responses[0].headers["content-security-policy"]


# -- search -----------------------------------------------------------------------------------


def test_search_finds_a_statement_by_a_word_in_its_body(world):
    config, store = world
    add_doc(store, "reddawn", "a", "Dockers strike", ["The harbour is closed by pickets."])
    add_doc(store, "vanguard", "b", "Election call", ["Vote on Sunday."])
    with running(config, store) as srv:
        r = httpx.get(srv.url + "/search", params={"q": "pickets"})
    tree = dom(r)
    assert [row[0] for row in cell_texts(tree)] == ["Dockers strike"]
    assert tree.css_first("input#q").attributes["value"] == "pickets"


@pytest.mark.parametrize("query", ['"', "a OR", "NEAR(a b", "title:x", "*", "-x", "(", "^",
                                   "a AND NOT", "\x00", "𝔘𝔫𝔦", "x" * 5000])
def test_search_syntax_in_user_input_never_fails(world, query):
    config, store = world
    add_doc(store, "reddawn", "a", "Dockers strike", ["Text of the statement."])
    with running(config, store) as srv:
        r = httpx.get(srv.url + "/search", params={"q": query})
    assert r.status_code == 200


def test_search_without_words_explains_itself_and_reflects_query_escaped(world):
    config, store = world
    with running(config, store) as srv:
        empty = httpx.get(srv.url + "/search")
        none = httpx.get(srv.url + "/search", params={"q": '"><script>x</script>'})
    assert "Type words in the search box" in dom(empty).css_first("main").text()
    assert none.status_code == 200 and "<script>x" not in none.text
    assert dom(none).css_first("input#q").attributes["value"] == '"><script>x</script>'


# -- sources ----------------------------------------------------------------------------------


def test_sources_page_shows_each_source_health_and_last_error(world):
    config, store = world
    add_doc(store, "reddawn", "a", "Dockers strike", ["Text."])
    store.update_source("vanguard", health="broken", consecutive_failures=6, polls=9,
                        last_error="connection refused <b> by http://127.0.0.1:9/vanguard/",
                        last_error_kind="refused", last_poll_at=T0,
                        first_failure_at=T0 - timedelta(days=3),
                        last_success_at=T0 - timedelta(days=4))
    store.update_source("reddawn", health="healthy", last_poll_at=T0, last_success_at=T0,
                        polls=1)
    with running(config, store, clock=lambda: T0) as srv:
        tree = dom(httpx.get(srv.url + "/sources"))
    rows = [r for r in cell_texts(tree)]
    # worst first: broken, then unknown (never polled), then healthy
    assert [r[0] for r in rows] == ["Vanguard League (vanguard)", "Odd <b>Bold</b> & Co (odd)",
                                    "Red Dawn (reddawn)"]
    by_name = {r[0]: r for r in rows}
    assert by_name["Red Dawn (reddawn)"][1] == "healthy"
    assert by_name["Red Dawn (reddawn)"][6] == "1"
    assert by_name["Vanguard League (vanguard)"][1:3] == ["broken", "2024-05-01 09:00 UTC"]
    # the error in words; the raw message stays for --json and the organisation page
    assert by_name["Vanguard League (vanguard)"][5] == (
        "127.0.0.1 refused the connection (nothing is listening there)")
    assert by_name["Odd <b>Bold</b> & Co (odd)"][1] == "unknown"
    counts = [li.text(separator=" ", strip=True) for li in tree.css("ul.counts li")]
    assert counts == ["1 broken", "1 unknown", "1 healthy"]
    names = [a.text() for a in tree.css("tbody td:first-child a")]
    assert names[0] == "Vanguard League"
    assert tree.css_first("tbody td:first-child a").attributes["href"] == "/o/vanguard"


# -- feeds ------------------------------------------------------------------------------------


def test_feeds_are_served_as_atom_with_nosniff_and_revalidate_by_etag(world):
    config, store = world
    add_doc(store, "reddawn", "a", "Dockers <strike>", ["Text."])
    runner = DigestRunner(config, store)
    runner.publish_combined()
    asyncio.run(runner.run_digest(config.digest("labour")))
    with running(config, store, digests=runner) as srv:
        combined = httpx.get(srv.url + "/feeds/all.atom")
        digest = httpx.get(srv.url + "/feeds/labour.atom")
        again = httpx.get(srv.url + "/feeds/all.atom",
                          headers={"If-None-Match": combined.headers["etag"]})
    for r, path in ((combined, runner.feed_path("all")), (digest, runner.feed_path("labour"))):
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.content == path.read_bytes()
    assert "Dockers &lt;strike&gt;" in combined.text
    assert again.status_code == 304 and again.content == b""


def test_only_configured_feeds_are_served_and_paths_cannot_escape(world):
    config, store = world
    secret = config.settings.data_dir / "secret.atom"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("secret", encoding="utf-8")
    with running(config, store) as srv:
        responses = [httpx.get(srv.url + p) for p in (
            "/feeds/..%2Fsecret.atom", "/feeds/secret.atom", "/feeds/labour.xml",
            "/feeds/%2E%2E/secret.atom", "/feeds/labour.atom")]
    assert [r.status_code for r in responses] == [404] * 5
    assert all("secret" not in r.text.replace("secret.atom", "") for r in responses)
    assert "has not been written yet" in responses[-1].text


# -- health -----------------------------------------------------------------------------------


def test_healthz_is_ok_when_database_answers_and_a_tick_finished_recently(world):
    config, store = world
    now = T0 + timedelta(minutes=1)
    with running(config, store, last_tick=lambda: T0, clock=lambda: now) as srv:
        r = httpx.get(srv.url + "/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["last_tick_age_s"] == 60


def test_healthz_is_503_with_reason_when_the_scheduler_stalls_or_has_not_ticked(world):
    config, store = world
    late = T0 + timedelta(hours=1)
    with running(config, store, last_tick=lambda: T0, clock=lambda: late) as srv:
        stalled = httpx.get(srv.url + "/healthz")
    with running(config, store, last_tick=lambda: None) as srv:
        starting = httpx.get(srv.url + "/healthz")
    assert stalled.status_code == 503
    assert stalled.json()["reason"].startswith("scheduler: last tick finished 3600 s ago")
    assert starting.status_code == 503 and "no scheduler tick" in starting.json()["reason"]


def remove_database_files(config):
    """Delete the SQLite file and its WAL companions; return the file's path."""
    db = config.settings.data_dir / "collector.db"
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    return db


@pytest.mark.sqlite_only
def test_healthz_metrics_and_pages_report_an_unreachable_database(tmp_path):
    config, store = make_world(tmp_path)
    store.close()
    db = remove_database_files(config)
    db.mkdir()  # sqlite cannot open a directory: every query fails as the database failing
    try:
        with running(config, store, last_tick=lambda: T0, clock=lambda: T0) as srv:
            r = httpx.get(srv.url + "/healthz")
            page = httpx.get(srv.url + "/")
            metrics = httpx.get(srv.url + "/metrics")
    finally:
        store.close()
    assert r.status_code == 503 and r.json()["reason"].startswith("database:")
    assert page.status_code == 503 and "database is not answering" in page.text
    assert "collector_database_up 0.0" in metrics.text.splitlines()


@pytest.mark.sqlite_only
def test_healthz_is_503_when_the_database_file_is_corrupt(tmp_path):
    config, store = make_world(tmp_path)
    store.close()
    db = remove_database_files(config)
    db.write_bytes(b"this is not a database file at all" * 200)
    try:
        with running(config, store, last_tick=lambda: T0, clock=lambda: T0) as srv:
            r = httpx.get(srv.url + "/healthz")
    finally:
        store.close()
    assert r.status_code == 503 and "not a database" in r.json()["reason"]


def test_judge_health_without_a_scheduler_checks_the_database_only():
    assert judge_health(database_error=None, scheduler=False, last_tick=None, now=T0).ok
    assert not judge_health(database_error="locked", scheduler=False, last_tick=None,
                            now=T0).ok


def test_tick_age_limit_is_inclusive_and_configurable():
    at_limit = judge_health(database_error=None, scheduler=True, last_tick=T0,
                            now=T0 + timedelta(seconds=60), max_tick_age_s=60)
    past = judge_health(database_error=None, scheduler=True, last_tick=T0,
                        now=T0 + timedelta(seconds=61), max_tick_age_s=60)
    assert (at_limit.ok, past.ok) == (True, False)


# -- metrics ----------------------------------------------------------------------------------

def test_metrics_expose_polls_errors_latency_documents_digests_and_health(world):
    """The exposition is read back by prometheus-client's own parser: every existing metric
    name is there with its labels and value, next to the process and platform metrics."""
    config, store = world
    registry = Registry()
    registry.record_poll("reddawn", True, None, 0.3, 2)
    registry.record_poll("reddawn", False, "timeout", 31.0, 0)
    registry.record_digest("labour", 2, True)
    add_many(store, 3)
    store.update_source("vanguard", health="broken", polls=9, consecutive_failures=6,
                        first_failure_at=T0 - timedelta(days=3),
                        last_success_at=T0 - timedelta(days=4))
    with running(config, store, metrics=registry, clock=lambda: T0) as srv:
        r = httpx.get(srv.url + "/metrics")
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value
              for f in families.values() for s in f.samples}

    def value(name: str, **labels: str) -> float:
        return values[(name, tuple(sorted(labels.items())))]

    assert value("collector_polls_total", source="reddawn", result="ok") == 1
    assert value("collector_polls_total", source="reddawn", result="error") == 1
    assert value("collector_poll_errors_total", source="reddawn", kind="timeout") == 1
    assert value("collector_poll_duration_seconds_bucket", source="reddawn", le="0.5") == 1
    assert value("collector_poll_duration_seconds_bucket", source="reddawn", le="60.0") == 2
    assert value("collector_poll_duration_seconds_count", source="reddawn") == 2
    assert value("collector_documents_collected_total", source="reddawn") == 2
    assert value("collector_digest_runs_total", digest="labour", result="ok") == 1
    assert value("collector_digest_statements_sent_total", digest="labour") == 2
    assert value("collector_documents") == 3
    assert value("collector_digest_pending", digest="labour") == 0
    assert value("collector_sources", health="broken") == 1
    assert value("collector_sources", health="unknown") == 2
    assert value("collector_source_health", source="vanguard", health="broken") == 1
    assert value("collector_database_up") == 1
    assert families["collector_polls"].type == "counter"
    assert families["collector_poll_duration_seconds"].type == "histogram"
    assert families["collector_sources"].type == "gauge"
    # the library's process and platform collectors
    assert value("process_resident_memory_bytes") > 0
    assert value("process_open_fds") > 0
    assert "process_cpu_seconds" in families
    assert any(name == "python_info" for name, _ in values)


def test_bind_addresses_parse_for_ipv4_and_ipv6_and_reject_nonsense():
    assert parse_bind("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_bind("[::1]:9000") == ("::1", 9000)
    for bad in ("localhost", ":80", "host:99999", "host:x"):
        with pytest.raises(ValueError):
            parse_bind(bad)


def test_server_stops_and_frees_its_port(world):
    config, store = world
    with running(config, store) as srv:
        url = srv.url
        assert httpx.get(url + "/").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/", timeout=2)


def test_a_taken_port_is_reported_as_an_error(world):
    config, store = world

    async def main() -> str:
        first = HttpServer(config, store, bind="127.0.0.1:0")
        await first.start()
        try:
            second = HttpServer(config, store, bind=f"127.0.0.1:{first.port}")
            with pytest.raises(CollectorError) as info:
                await second.start()
            return str(info.value)
        finally:
            await first.stop()

    message = asyncio.run(main())
    assert "cannot listen on 127.0.0.1" in message
    assert "`bind`" in message and "COLLECTOR_BIND" in message


def test_head_requests_get_headers_without_a_body(world):
    config, store = world
    with running(config, store) as srv:
        r = httpx.head(srv.url + "/")
    assert r.status_code == 200 and r.content == b""
    assert_security_headers(r)


def test_error_pages_cut_long_echoes(world):
    config, store = world
    with running(config, store) as srv:
        r = httpx.get(srv.url + "/d/" + "a" * 5000)
    assert r.status_code == 404
    assert "a" * 201 not in r.text and "a" * 200 + "…" in r.text


def test_filters_that_cannot_be_used_are_refused_in_words(world):
    config, store = world
    with running(config, store) as srv:
        bad_date = httpx.get(srv.url + "/?from=yesterday")
        backwards = httpx.get(srv.url + "/?from=2024-05-02&to=2024-05-01")
        nobody = httpx.get(srv.url + "/?org=nobody")
        no_org_page = httpx.get(srv.url + "/o/nobody")
        sort = httpx.get(srv.url + "/search?q=x&sort=random")
    assert bad_date.status_code == 400
    assert "The from date must look like 2024-05-31, not &#39;yesterday&#39;." in bad_date.text
    assert backwards.status_code == 400 and "before the" in backwards.text
    assert nobody.status_code == 400 and "There is no organisation" in nobody.text
    assert no_org_page.status_code == 404
    assert sort.status_code == 400 and "Sort by" in sort.text


def test_latest_page_explains_an_empty_digest_after_first_polls(world):
    """Statements stored by first polls are the baseline: the page says why no digest holds
    them."""
    config, store = world
    from collector.store import NewDocument

    doc = NewDocument(id="b" * 16, source_id="reddawn", url="http://127.0.0.1:9/b/",
                      canonical_url="http://127.0.0.1:9/b/", url_key="http://127.0.0.1:9/b/",
                      title="Baseline", text="Baseline\n\nText.\n", published_at=T0,
                      content_hash="hash-b", signature=None, method="feed", language="en",
                      author=None, word_count=1, flags=(), backfill=True)
    store.add_document(doc, seen_key=doc.url, digests=[], now=T0)
    with running(config, store) as srv:
        page = httpx.get(srv.url + "/").text
    assert "1 of the 1 stored statements came from first polls" in page
