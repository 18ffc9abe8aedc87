"""A feed that moved permanently (301/308 on every hop) is polled at its new address from then
on; a temporary redirect is followed but not remembered; if the new address fails, the next poll
starts again from the configured URL. Real loopback server, real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.helpers import load, poll, store_of
from tests.pages import article, rss_feed
from tests.webserver import Page

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _site(site, status: int) -> str:
    base = site.url("")
    items = [article(i, f"Statement {i}", T0.replace(day=i)) for i in (1, 2)]
    site.pages["/new-feed"] = Page(rss_feed("Union", base, items), "application/rss+xml",
                                   etag='"v1"')
    site.pages["/old-feed"] = Page(b"", status=status,
                                   headers={"Location": site.url("/new-feed")})
    return site.url("/old-feed")


def _paths(site) -> list[str]:
    paths = [r.path for r in site.requests if r.path.endswith("-feed")]
    site.requests.clear()
    return paths


def _config(tmp_path, url):
    return load(tmp_path, f"""sources:
  - id: union
    url: {url}
    kind: feed
    backfill: 0
""")


@pytest.mark.parametrize("status", [301, 308])
def test_a_permanent_move_is_remembered_and_polled_directly(tmp_path, site, status):
    config = _config(tmp_path, _site(site, status))
    [(_, first)] = poll(config)
    assert first.ok
    assert _paths(site) == ["/old-feed", "/new-feed"]
    state = store_of(config).source_state("union")
    assert state.resolved_url == site.url("/new-feed")
    assert "moved permanently from" in (state.resolved_reason or "")

    [(_, second)] = poll(config)
    assert second.ok and second.not_modified
    assert _paths(site) == ["/new-feed"]   # straight to the new address, conditionally


def test_a_temporary_redirect_is_not_remembered(tmp_path, site):
    config = _config(tmp_path, _site(site, 302))
    poll(config)
    assert store_of(config).source_state("union").resolved_url is None
    _paths(site)
    poll(config)
    assert _paths(site) == ["/old-feed", "/new-feed"]


def test_a_failing_new_address_sends_the_next_poll_back_to_the_configured_url(tmp_path, site):
    config = _config(tmp_path, _site(site, 301))
    poll(config)
    _paths(site)
    del site.pages["/new-feed"]                 # the new address now answers 404
    [(_, failed)] = poll(config)
    assert not failed.ok and failed.error_kind == "http_status"
    assert _paths(site) == ["/new-feed"]
    assert store_of(config).source_state("union").resolved_url is None
    poll(config)
    assert _paths(site)[0] == "/old-feed"


def test_a_move_to_something_that_is_not_a_feed_is_not_remembered(tmp_path, site):
    """Persisted only after validation: the new address must serve a feed that parses."""
    _site(site, 301)
    site.pages["/new-feed"] = Page("<html><body>Parked domain</body></html>")
    config = _config(tmp_path, site.url("/old-feed"))
    [(_, outcome)] = poll(config)
    assert not outcome.ok and outcome.error_kind == "not_a_feed"
    assert store_of(config).source_state("union").resolved_url is None
    _paths(site)
    poll(config)
    assert _paths(site) == ["/old-feed", "/new-feed"]
