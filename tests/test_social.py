"""Mastodon and Bluesky profiles: `auto` recognises the profile URL and polls its feed; each
post becomes a statement titled by its first line. Local servers stand in for both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collector.channels.social import profile_feed
from tests.channel_sites import bluesky_feed, mastodon_feed
from tests.helpers import load, poll, store_of
from tests.webserver import Page

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
RSS = "application/rss+xml; charset=utf-8"


def test_profile_urls_are_recognised_and_other_urls_are_not():
    assert profile_feed("https://social.example/@harbour") == (
        "https://social.example/@harbour.rss", "Mastodon profile")
    assert profile_feed("https://bsky.app/profile/harbour.example.org") == (
        "https://bsky.app/profile/harbour.example.org/rss", "Bluesky profile")
    assert profile_feed("https://bsky.app/profile/did:plc:abc123/") == (
        "https://bsky.app/profile/did:plc:abc123/rss", "Bluesky profile")
    for url in ("https://example.org/news/", "https://social.example/@harbour/12345",
                "https://bsky.app/profile/harbour.example.org/post/3k", "ftp://x/@a",
                "https://social.example/@harbour?page=2"):
        assert profile_feed(url) is None, url


def test_a_mastodon_profile_is_polled_through_its_feed(tmp_path, site):
    site.pages["/@harbour"] = Page("<html><body><div id=mastodon></div>"
                                   "<script src=/packs/app.js></script></body></html>")
    site.pages["/@harbour.rss"] = Page(mastodon_feed(site.base, "harbour", [
        (3, "<p>Strike called for Monday<br>All crews stop at six.</p><p>#strike</p>",
         T0 + timedelta(hours=3)),
        (2, "", T0 + timedelta(hours=2)),               # a photo with no words
        (1, "<p>Solidarity with the dockers of Antwerp!</p>", T0 + timedelta(hours=1)),
    ]), content_type=RSS)
    config = load(tmp_path, f"""sources:
  - id: masto
    url: {site.url('/@harbour')}
""")
    (_, outcome), = poll(config)
    assert outcome.ok, outcome.error
    assert outcome.method == "social" and outcome.new_documents == 2
    docs = {d.url: d for d in store_of(config).iter_documents()}
    strike = docs[site.url("/@harbour/3")]
    assert strike.title == "Strike called for Monday"
    assert strike.text.strip().split("\n\n") == ["Strike called for Monday",
                                                 "Strike called for Monday",
                                                 "All crews stop at six.", "#strike"]
    assert strike.published_at == T0 + timedelta(hours=3)
    assert docs[site.url("/@harbour/1")].title == "Solidarity with the dockers of Antwerp!"
    # neither the profile page nor the posts' pages were fetched: the feed carries the posts
    assert site.requests_for("/@harbour") == []
    assert site.requests_for("/@harbour/3") == []


def test_a_bluesky_profile_is_polled_through_its_feed(tmp_path, site):
    handle = "harbour.example.org"
    site.pages[f"/profile/{handle}/rss"] = Page(bluesky_feed(site.base, handle, [
        ("3kb", "Pickets at every gate tonight. Bring a flask.", T0 + timedelta(hours=2)),
        ("3ka", "We publish our demands today\nShorter week, full crews.", T0),
    ]), content_type=RSS)
    config = load(tmp_path, f"""sources:
  - id: sky
    url: {site.url(f'/profile/{handle}')}
""")
    (_, outcome), = poll(config)
    assert outcome.ok and outcome.method == "social" and outcome.new_documents == 2
    titles = {d.title for d in store_of(config).iter_documents()}
    assert titles == {"Pickets at every gate tonight. Bring a flask.",
                      "We publish our demands today"}

    # a new post later is new; the old ones are not taken twice
    site.pages[f"/profile/{handle}/rss"] = Page(bluesky_feed(site.base, handle, [
        ("3kc", "March on Saturday", T0 + timedelta(hours=5)),
        ("3kb", "Pickets at every gate tonight. Bring a flask.", T0 + timedelta(hours=2)),
        ("3ka", "We publish our demands today\nShorter week, full crews.", T0),
    ]), content_type=RSS)
    (_, outcome), = poll(config)
    assert outcome.new_documents == 1


def test_a_profile_like_url_without_a_feed_falls_back_to_the_usual_discovery(tmp_path, site):
    site.pages["/@notmastodon"] = Page(
        "<html><head><title>Blog</title></head><body><main>"
        + "".join(f'<article><h2><a href="/@notmastodon/post-{i}">Post {i} about the '
                  f'harbour</a></h2></article>' for i in range(3))
        + "</main></body></html>")
    config = load(tmp_path, f"""sources:
  - id: blog
    url: {site.url('/@notmastodon')}
""")
    (_, outcome), = poll(config)
    assert outcome.ok and outcome.method == "page"
    assert site.requests_for("/@notmastodon.rss")
