"""RELIABILITY.md rows that had no test of their own, through the real pipeline.

Every test polls a real loopback server (tests/webserver.py or tests/badserver.py), either
with a fresh worker as `collector poll` does or through the `collector` command itself, and
reads the result back from the real store or the files written. The docstring of each test
names the row it covers; docs/reliability.md maps every row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

import httpx

from collector import limits
from collector.pipeline import MAX_ITEM_ATTEMPTS
from tests.badserver import BadServer
from tests.helpers import load, poll, store_of, terminate, write_config
from tests.pages import article, paragraphs, rss_feed, wordpress_page
from tests.webserver import Page

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


# --- builders ---------------------------------------------------------------------------------

def _rss(items: str, *, channel: str = "Statements") -> str:
    """An RSS 2.0 document around `items`; `channel` changes the bytes without the items."""
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f"<title>Site</title><link>http://example.org/</link>"
            f"<description>{escape(channel)}</description>{items}</channel></rss>")


def _item(title: str, *, link: str | None = None, guid: str | None = None,
          date: str | None = None, body: str | None = None, summary: str | None = None) -> str:
    parts = [f"<title>{escape(title)}</title>"]
    if link is not None:
        parts.append(f"<link>{escape(link)}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{escape(guid)}</guid>')
    if date is not None:
        parts.append(f"<pubDate>{escape(date)}</pubDate>")
    if summary is not None:
        parts.append(f"<description>{escape(summary)}</description>")
    if body is not None:
        parts.append(f"<content:encoded><![CDATA[{body}]]></content:encoded>")
    return "<item>" + "".join(parts) + "</item>"


def _body(seed: int) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in paragraphs(seed, 4))


def _source(site, path: str = "/feed/", *, sid: str = "s", extra: str = "") -> str:
    return f"sources:\n  - id: {sid}\n    url: {site.url(path)}\n    kind: feed\n{extra}"


def _docs(config) -> list:
    store = store_of(config)
    try:
        return list(store.iter_documents())
    finally:
        store.close()


def _state(config, sid: str = "s"):
    store = store_of(config)
    try:
        return store.source_state(sid)
    finally:
        store.close()


def _publish(site, items, *, etag: str) -> None:
    site.pages["/feed/"] = Page(rss_feed("Red Dawn", site.base, items), "application/rss+xml",
                                etag=etag)
    for a in items:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page("Red Dawn", a, site.base))


# --- row 4: other schemes and proxies ---------------------------------------------------------

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                   "all_proxy")


def test_proxy_variables_in_the_environment_are_not_used(tmp_path, site, monkeypatch):
    """Row 4: a proxy set in the environment cannot route fetches around the address checks;
    requests go straight to the source (the same environment does divert a default httpx
    client, so the trap is live)."""
    _publish(site, [article(1, "Dockers strike", T0)], etag='"p1"')
    with BadServer(host="127.0.0.3") as proxy:
        for name in PROXY_VARIABLES:
            monkeypatch.setenv(name, proxy.url(""))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        # the trap: httpx with its defaults does go through the proxy
        httpx.get(site.url("/robots.txt"), timeout=5)
        diverted = proxy.connections
        assert diverted >= 1

        config = load(tmp_path, _source(site))
        (_, outcome), = poll(config)

        assert proxy.connections == diverted
    assert outcome.ok and outcome.new_documents == 1, outcome
    assert site.requests_for("/feed/") and site.requests_for("/statement-1/")


def test_feed_item_links_to_other_schemes_are_never_followed(tmp_path, site):
    """Row 4: items linking to file: or gopher: are kept from the feed's own text; nothing is
    read from the file system and the gopher address is never connected to."""
    with BadServer(host="127.0.0.4") as gopher:
        items = (_item("Local file", link="file:///etc/passwd", body=_body(1))
                 + _item("Gopher hole", link=f"gopher://127.0.0.4:{gopher.port}/1x",
                         body=_body(2)))
        site.pages["/feed/"] = Page(_rss(items), "application/rss+xml")
        config = load(tmp_path, _source(site))

        (_, outcome), = poll(config)

        assert gopher.connections == 0
    assert outcome.ok and outcome.new_documents == 2, outcome
    docs = _docs(config)
    assert sorted(d.title for d in docs) == ["Gopher hole", "Local file"]
    for d in docs:
        assert d.url.startswith(site.url("/feed/") + "#item-"), d.url
        assert "root:" not in d.text


# --- row 9: hostile markup on an article page --------------------------------------------------

def test_a_page_of_nested_divs_costs_only_its_own_item(tmp_path, site):
    """Row 9: an article page of 100,000 nested <div>s is refused by the pre-check; the item
    falls back to the feed's summary (flagged partial) and its neighbour is stored normally."""
    good = article(1, "A normal statement", T0)
    site.pages["/statement-1/"] = Page(wordpress_page("Red", good, site.base))
    site.pages["/bomb/"] = Page("<html><body>" + "<div>" * 100_000 + "deep")
    items = (_item(good.title, link=site.url("/statement-1/"), guid="g1")
             + _item("Deep page", link=site.url("/bomb/"), guid="g2",
                     summary="The summary of the deep statement."))
    site.pages["/feed/"] = Page(_rss(items), "application/rss+xml")
    config = load(tmp_path, _source(site))

    (_, outcome), = poll(config)

    assert outcome.ok and outcome.new_documents == 2, outcome
    docs = {d.title: d for d in _docs(config)}
    assert docs[good.title].method == "page"
    assert all(p in docs[good.title].text for p in good.paragraphs)
    deep = docs["Deep page"]
    assert deep.method == "summary" and "partial" in deep.flags
    assert "The summary of the deep statement." in deep.text


# --- rows 10 and 38: one bad item ---------------------------------------------------------------

def test_a_failing_item_page_is_retried_a_bounded_number_of_times_alone(tmp_path, site):
    """Rows 10 and 38: one item whose page fails (and whose feed entry has no text) is
    skipped without failing the poll or its neighbours, retried at later polls, and given up
    after a bounded number of attempts. The feed never changes (same bytes, same ETag): a poll
    that leaves an item to retry records no validators, so the next poll reads the listing
    again; once the item is given up, the feed is asked conditionally again (304)."""
    good = [article(i, f"Statement {i}", T0.replace(day=i)) for i in (1, 3)]
    for a in good:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page("Red", a, site.base))
    site.pages["/broken/"] = Page("server exploded", "text/plain", status=500)
    items = "".join(_item(a.title, link=site.url(f"/{a.slug}/"), guid=a.slug) for a in good)
    items += _item("Broken item", link=site.url("/broken/"), guid="broken")
    site.pages["/feed/"] = Page(_rss(items), "application/rss+xml", etag='"feed-1"')

    config = load(tmp_path, _source(site))
    outcomes = []
    for _ in range(MAX_ITEM_ATTEMPTS + 2):
        (_, outcome), = poll(config)
        outcomes.append(outcome)

    assert all(o.ok for o in outcomes), outcomes
    assert outcomes[0].new_documents == 2 and outcomes[0].skipped == 1
    assert sorted(d.title for d in _docs(config)) == ["Statement 1", "Statement 3"]
    # 500 is not retried within a poll, so each attempt is one request
    assert len(site.requests_for("/broken/")) == MAX_ITEM_ATTEMPTS
    assert all(len(site.requests_for(f"/{a.slug}/")) == 1 for a in good)
    # the listing was read in full while the item waited for its next attempt, and answered
    # 304 once it was given up
    asked = [r.headers.get("if-none-match") for r in site.requests_for("/feed/")]
    assert asked == [None] * MAX_ITEM_ATTEMPTS + ['"feed-1"'] * 2, asked
    assert [o.not_modified for o in outcomes] == [False] * MAX_ITEM_ATTEMPTS + [True] * 2


# --- row 12: markup in feed content -------------------------------------------------------------

ATOM_HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
             "<title>Site</title><id>urn:site</id><updated>2024-05-01T09:00:00Z</updated>")


def test_scripts_handlers_and_plain_text_markup_in_feed_content(tmp_path, site):
    """Row 12: scripts, event handlers, SVG, CSS and javascript: links in HTML content leave
    only their visible text; `<` in text/plain content is kept as a character, not a tag."""
    hostile = ("<p>The assembly voted to strike on Monday morning.</p>"
               "<script>alert(1)</script><img src=x onerror=alert(2)>"
               "<svg onload=alert(3)><script>alert(4)</script></svg>"
               "<style>p { background: url(javascript:alert(5)) }</style>"
               '<p><a href="javascript:alert(6)">Read the call</a> and join us.</p>')
    atom = (ATOM_HEAD
            + '<entry><title>Hostile markup</title><id>urn:e1</id>'
              '<updated>2024-05-01T09:00:00Z</updated>'
              f"<content type=\"html\">{escape(hostile)}</content></entry>"
            + '<entry><title>Plain text</title><id>urn:e2</id>'
              '<updated>2024-05-01T09:00:00Z</updated>'
              '<content type="text">Wrap the word in &lt;b&gt; tags &amp; mean it.</content>'
              "</entry></feed>")
    site.pages["/feed/"] = Page(atom, "application/atom+xml")
    config = load(tmp_path, _source(site))

    (_, outcome), = poll(config)

    assert outcome.ok and outcome.new_documents == 2, outcome
    docs = {d.title: d for d in _docs(config)}
    text = docs["Hostile markup"].text
    assert "The assembly voted to strike on Monday morning." in text
    assert "Read the call and join us." in text
    assert "alert" not in text and "javascript" not in text and "background" not in text
    assert "Wrap the word in <b> tags & mean it." in docs["Plain text"].text


# --- row 16: a host clock that is not UTC ------------------------------------------------------

def test_dates_are_utc_on_a_host_whose_time_zone_is_not(tmp_path, site):
    """Row 16: `collector poll` and `collector export` on a host set to UTC+05:30 write the
    publication and collection times in UTC, unshifted by the host's zone."""
    _publish(site, [article(1, "Dockers strike", T0)], etag='"tz"')
    write_config(tmp_path, _source(site))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env["TZ"] = "Asia/Kolkata"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "collector.cli", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)

    before = datetime.now(UTC).replace(microsecond=0)
    polled = cli("poll")
    exported = cli("export", "out")
    after = datetime.now(UTC)

    assert polled.returncode == 0 and exported.returncode == 0, polled.stderr + exported.stderr
    record, = [json.loads(line) for line in
               (tmp_path / "out" / "index.jsonl").read_text(encoding="utf-8").splitlines()]
    assert record["published"] == "2024-05-01T09:00:00Z"
    collected = datetime.fromisoformat(record["collected"])
    assert before <= collected <= after, (before, record["collected"], after)


# --- row 22: permanent redirects ----------------------------------------------------------------

def test_a_permanent_redirect_is_remembered_once_the_new_address_is_validated(tmp_path, site):
    """Row 22: a 301 is followed; once the new address has served a feed that parsed, later
    polls go straight there (conditionally). The configured URL stays as it is: it is where a
    failure at the new address, or a change in sources.yaml, starts again."""
    _publish(site, [article(1, "Dockers strike", T0)], etag='"m1"')
    site.pages["/old-feed/"] = Page("moved", "text/plain", status=301,
                                    headers={"Location": site.url("/feed/")})
    config = load(tmp_path, _source(site, "/old-feed/"))

    first = poll(config)[0][1]
    second = poll(config)[0][1]

    assert first.ok and first.new_documents == 1, first
    assert second.ok and second.not_modified, second
    assert len(site.requests_for("/old-feed/")) == 1
    assert site.requests_for("/feed/")[-1].headers.get("if-none-match") == '"m1"'
    assert _state(config).url == site.url("/old-feed/")
    assert _state(config).resolved_url == site.url("/feed/")


# --- row 24: validators -------------------------------------------------------------------------

def test_both_validators_are_stored_sent_and_replaced_each_time(tmp_path, site):
    """Row 24: ETag and Last-Modified are both stored and both sent; a new ETag with the same
    Last-Modified is taken; a response without an ETag clears the stored one."""
    items = [article(1, "Dockers strike", T0)]
    lm1, lm2 = "Wed, 01 May 2024 09:00:00 GMT", "Thu, 02 May 2024 09:00:00 GMT"
    _publish(site, items, etag='"e1"')
    site.pages["/feed/"].last_modified = lm1
    config = load(tmp_path, _source(site))
    poll(config)
    assert (_state(config).etag, _state(config).last_modified) == ('"e1"', lm1)

    items.append(article(2, "Second statement", T0.replace(day=2)))
    _publish(site, items, etag='"e2"')                     # new ETag, same Last-Modified
    site.pages["/feed/"].last_modified = lm1
    assert poll(config)[0][1].new_documents == 1
    sent = site.requests_for("/feed/")[-1].headers
    assert (sent.get("if-none-match"), sent.get("if-modified-since")) == ('"e1"', lm1)
    assert (_state(config).etag, _state(config).last_modified) == ('"e2"', lm1)

    items.append(article(3, "Third statement", T0.replace(day=3)))
    _publish(site, items, etag=None)                       # the server drops its ETag
    site.pages["/feed/"].last_modified = lm2
    assert poll(config)[0][1].new_documents == 1
    assert (_state(config).etag, _state(config).last_modified) == (None, lm2)

    last = poll(config)[0][1]
    sent = site.requests_for("/feed/")[-1].headers
    assert "if-none-match" not in sent and sent.get("if-modified-since") == lm2
    assert last.ok and last.not_modified


# --- row 26: a source failing for weeks ---------------------------------------------------------

class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_a_source_failing_for_three_weeks_is_broken_and_still_polled_daily(tmp_path):
    """Row 26: weeks of failures never stop polling: the source is marked broken, keeps its
    last error, and its next poll stays within the capped backoff."""
    config = load(tmp_path, "sources:\n  - id: s\n    url: http://127.0.0.1:9/feed\n"
                            "    kind: feed\n")
    clock = Clock(datetime.now(UTC))
    start = clock.now
    for _ in range(8):
        (_, outcome), = poll(config, clock=clock)
        assert not outcome.ok and outcome.error_kind == "refused"
        clock.now += timedelta(days=3)
    clock.now -= timedelta(days=3)

    state = _state(config)
    assert state.health == "broken"
    assert state.consecutive_failures == 8
    assert state.first_failure_at == start
    assert "refused" in (state.last_error or "")
    assert clock.now < state.next_poll_at <= clock.now + timedelta(seconds=limits.MAX_BACKOFF_S)


# --- row 27: a listing with no entries ----------------------------------------------------------

def test_an_empty_feed_leaves_the_seen_state_alone(tmp_path, site):
    """Row 27: a feed that briefly lists no entries is a successful, empty poll; when the
    entries come back, none of them is new."""
    items = [article(i, f"Statement {i}", T0.replace(day=i)) for i in (1, 2, 3)]
    _publish(site, items, etag='"full"')
    config = load(tmp_path, _source(site))
    assert poll(config)[0][1].new_documents == 3

    _publish(site, [], etag='"empty"')
    empty = poll(config)[0][1]
    _publish(site, items, etag='"back"')
    back = poll(config)[0][1]

    assert empty.ok and empty.new_documents == 0 and not empty.not_modified, empty
    assert back.ok and back.new_documents == 0, back
    assert len(_docs(config)) == 3
    assert all(len(site.requests_for(f"/{a.slug}/")) == 1 for a in items)


# --- row 30: a bad byte in a UTF-8 feed ---------------------------------------------------------

def test_one_bad_byte_does_not_garble_a_utf8_feed(tmp_path, site):
    """Row 30: a UTF-8 feed (BOM and declaration agree) with one invalid byte keeps every
    other character right: the bad byte alone is replaced."""
    body = ("<p>Les cheminots déclarent la grève générale à partir de lundi. "
            "Ils appellent toutes les sections à se joindre au mouvement. BAD</p>")
    raw = ("\ufeff" + _rss(_item("Grève générale", guid="g1", body=body))).encode("utf-8")
    raw = raw.replace(b"BAD", b"\xff")
    site.pages["/feed/"] = Page(raw, "application/rss+xml; charset=utf-8")
    config = load(tmp_path, _source(site))

    (_, outcome), = poll(config)

    assert outcome.ok, outcome
    doc, = _docs(config)
    assert doc.title == "Grève générale"
    assert "déclarent la grève générale" in doc.text, doc.text
    assert "Ã" not in doc.text


def test_double_encoded_utf8_in_a_feed_is_repaired(tmp_path, site):
    """Row 30: text that was UTF-8-encoded twice by the publisher ("GrÃ¨ve") is stored as the
    characters meant ("Grève"), in the title and in the body."""
    def twice(text: str) -> str:
        return text.encode("utf-8").decode("latin-1")

    body = ("<p>Les cheminots déclarent la grève générale à partir de lundi. "
            "Ils appellent toutes les sections à se joindre au mouvement.</p>")
    raw = _rss(_item(twice("Grève générale"), guid="g1", body=twice(body))).encode("utf-8")
    assert "GrÃ¨ve".encode() in raw
    site.pages["/feed/"] = Page(raw, "application/rss+xml; charset=utf-8")
    config = load(tmp_path, _source(site))

    (_, outcome), = poll(config)

    assert outcome.ok, outcome
    doc, = _docs(config)
    assert doc.title == "Grève générale"
    assert "déclarent la grève générale" in doc.text, doc.text


# --- row 32: base URLs --------------------------------------------------------------------------

def test_relative_links_resolve_against_xml_base_and_unsafe_bases_are_ignored(tmp_path, site):
    """Row 32: relative entry links resolve against xml:base; a javascript: base is ignored
    (the feed's own base applies), so every article fetched and stored is an http URL."""
    pieces = {"/news/one/": 1, "/news/two/": 2, "/other/three": 3}
    for path, n in pieces.items():
        a = article(n, f"Statement {n}", T0.replace(day=n))
        a.slug = path.strip("/")
        site.pages[path] = Page(wordpress_page("Red", a, site.base))

    def entry(n: int, href: str, base: str = "") -> str:
        attr = f' xml:base="{escape(base)}"' if base else ""
        return (f"<entry{attr}><title>Statement {n}</title><id>urn:s{n}</id>"
                f'<updated>2024-05-0{n}T09:00:00Z</updated><link href="{href}"/></entry>')

    atom = (ATOM_HEAD.replace("<feed ", f'<feed xml:base="{site.url("/news/")}" ')
            + entry(1, "one/") + entry(2, "two/", "javascript:alert(1)//")
            + entry(3, "three", "/other/") + "</feed>")
    site.pages["/feeds/all.xml"] = Page(atom, "application/atom+xml")
    config = load(tmp_path, _source(site, "/feeds/all.xml"))

    (_, outcome), = poll(config)

    assert outcome.ok and outcome.new_documents == 3, outcome
    assert all(len(site.requests_for(p)) == 1 for p in pieces)
    assert sorted(d.url for d in _docs(config)) == sorted(site.url(p) for p in pieces)


# --- row 34: GUID churn -------------------------------------------------------------------------

def test_guids_that_change_on_every_fetch_add_no_documents(tmp_path, site):
    """Row 34: a feed that mints new GUIDs for the same items at every build yields no new
    documents; the items are known by their links."""
    items = [article(i, f"Statement {i}", T0.replace(day=i)) for i in (1, 2, 3)]
    for a in items:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page("Red", a, site.base))
    config = load(tmp_path, _source(site))
    news = []
    for build in range(3):
        site.pages["/feed/"] = Page(_rss("".join(
            _item(a.title, link=site.url(f"/{a.slug}/"), guid=f"{a.slug}-build-{build}",
                  date=format_datetime(a.published)) for a in items)), "application/rss+xml")
        (_, outcome), = poll(config)
        assert outcome.ok, outcome
        news.append(outcome.new_documents)

    assert news == [3, 0, 0]
    assert len(_docs(config)) == 3


def test_a_flood_of_new_items_is_taken_a_bounded_batch_per_poll(tmp_path, site):
    """Row 34: when a feed suddenly lists more new items than one poll takes (a rebuilt feed,
    churned ids), one poll stores at most the cap and the rest follow at the next poll, which
    comes due within BACKLOG_DELAY_S. The feed's bytes and ETag do not change between the two
    polls: the first records no validators, so the second reads the listing again."""
    cap = limits.MAX_NEW_ITEMS_PER_POLL
    total = cap + 7
    now = datetime.now(UTC)

    def build(n: int, etag: str) -> None:
        items = "".join(_item(f"Statement {i}", guid=f"g{i}", body=_body(i))
                        for i in range(n, 0, -1))
        site.pages["/feed/"] = Page(_rss(items), "application/rss+xml", etag=etag)

    build(1, '"baseline"')
    config = load(tmp_path, _source(site, extra="    backfill: 1\n"))
    assert poll(config, clock=lambda: now)[0][1].new_documents == 1
    build(total, '"flood"')
    (_, flood), = poll(config, clock=lambda: now)
    cut = _state(config)
    (_, rest), = poll(config, clock=lambda: now)
    done = _state(config)
    (_, after), = poll(config, clock=lambda: now)

    assert flood.ok and flood.new_documents == cap, flood
    assert rest.ok and rest.new_documents == total - 1 - cap, rest
    assert flood.left == total - 1 - cap and rest.left == 0
    # nothing recorded that would let the next poll skip the listing, and due again soon
    assert (cut.etag, cut.last_modified, cut.body_hash) == (None, None, None)
    assert cut.next_poll_at == now + timedelta(seconds=limits.BACKLOG_DELAY_S)
    # all taken: validators recorded and the source's usual interval (30 min, less jitter)
    assert done.etag == '"flood"' and done.body_hash is not None
    assert done.next_poll_at >= now + timedelta(minutes=28)
    assert after.ok and after.not_modified
    asked = [r.headers.get("if-none-match") for r in site.requests_for("/feed/")]
    assert asked == [None, '"baseline"', None, '"flood"'], asked
    titles = [d.title for d in _docs(config)]
    assert len(titles) == len(set(titles)) == total


def test_items_left_when_the_poll_budget_runs_out_are_taken_from_the_same_feed(
        tmp_path, site, monkeypatch):
    """Row 34: a poll whose time budget (POLL_BUDGET_S) ran out leaves its remaining items
    unseen; the next poll takes them although the feed's bytes and ETag did not change."""
    now = datetime.now(UTC)

    def build(n: int) -> None:
        items = "".join(_item(f"Statement {i}", guid=f"g{i}", body=_body(i))
                        for i in range(n, 0, -1))
        site.pages["/feed/"] = Page(_rss(items), "application/rss+xml", etag=f'"{n}"')

    build(1)
    config = load(tmp_path, _source(site, extra="    backfill: 1\n"))
    assert poll(config, clock=lambda: now)[0][1].new_documents == 1
    build(4)
    # a budget already spent when the first item comes up: the poll takes nothing
    monkeypatch.setattr(limits, "POLL_BUDGET_S", -1)
    (_, spent), = poll(config, clock=lambda: now)
    cut = _state(config)
    monkeypatch.undo()
    (_, rest), = poll(config, clock=lambda: now)

    assert spent.ok and spent.new_documents == 0, spent
    assert rest.ok and rest.new_documents == 3, rest
    assert spent.left == 3 and rest.left == 0
    assert (cut.etag, cut.body_hash) == (None, None)
    assert cut.next_poll_at == now + timedelta(seconds=limits.BACKLOG_DELAY_S)
    assert sorted(d.title for d in _docs(config)) == [f"Statement {i}" for i in range(1, 5)]


# --- row 36: missing and unparseable dates ------------------------------------------------------

def test_items_without_a_usable_date_are_kept_and_dates_are_not_identity(tmp_path, site):
    """Row 36: items with no date or an unparseable one are stored with no publication date
    (their collection time stands in); adding or changing dates later makes nothing new."""
    def build(dates: dict[int, str | None], channel: str) -> None:
        items = "".join(_item(f"Statement {n}", body=_body(n), date=d)
                        for n, d in dates.items())
        site.pages["/feed/"] = Page(_rss(items, channel=channel), "application/rss+xml")

    real = format_datetime(T0)
    build({1: None, 2: "sometime last week", 3: real}, "first")
    config = load(tmp_path, _source(site))
    before = datetime.now(UTC)
    (_, first), = poll(config)
    later = format_datetime(T0 + timedelta(days=3))
    build({1: later, 2: later, 3: later}, "second")
    (_, second), = poll(config)

    assert first.ok and first.new_documents == 3, first
    assert second.ok and second.new_documents == 0, second
    docs = {d.title: d for d in _docs(config)}
    assert len(docs) == 3
    assert docs["Statement 1"].published_at is None
    assert docs["Statement 2"].published_at is None
    assert docs["Statement 3"].published_at == T0
    assert all(d.collected_at >= before - timedelta(seconds=1) for d in docs.values())



# --- row 42: SIGTERM while a fetch hangs ---------------------------------------------------------

def test_sigterm_during_a_hanging_fetch_exits_cleanly_within_the_budget(tmp_path, badserver):
    """Row 42: `collector run` stopped while a request hangs (a server that never answers,
    with a 30 s deadline) abandons it and exits 0 well inside docker's 10 s stop timeout."""
    write_config(tmp_path, "sources:\n  - id: hang\n"
                           f"    url: {badserver.url('/hang')}\n    kind: feed\n"
                           "    robots: false\n",
                 settings_extra="    deadline: 30s\n  tick: 1s\n")  # under `fetch:`
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "run", "--no-http"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while "/hang" not in badserver.paths() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.1)
        assert "/hang" in badserver.paths()
        took, rest = terminate(proc, timeout_s=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, rest
    assert took < 8, rest
    assert "stopped" in rest
