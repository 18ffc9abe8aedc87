"""Sources of the new kinds (a Telegram channel, a Mastodon profile found by `auto`, a page
rendered by the browser) show in `collector status`, /healthz, /metrics, the digest feed and
the web page like any other source, because their polls end in the same outcome path."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

from collector import browser as browser_mod
from collector.cli import main
from collector.store import Store
from tests.channel_sites import Post, mastodon_feed, publish_channel
from tests.helpers import load, poll
from tests.test_server_helpers import running
from tests.webserver import Page

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return str(resp.read().decode("utf-8"))


def test_new_kinds_show_in_status_health_metrics_digests_and_the_web_page(
        tmp_path, site, capsys, monkeypatch):
    publish_channel(site, "harbourunion", [
        Post(1, "Strike called for Monday\nAll crews stop at six.", T0),
        Post(2, "Pickets at every gate\nBring a flask.", T0 + timedelta(hours=1))])
    site.pages["/@harbour.rss"] = Page(mastodon_feed(site.base, "harbour", [
        (7, "<p>March on Saturday<br>From the union hall.</p>", T0 + timedelta(hours=2))]),
        content_type="application/rss+xml")
    # no Chromium: the browser source fails, with the install command, and is shown failing
    monkeypatch.setattr(browser_mod, "CHROMIUM_PATHS", ("/nonexistent/chromium",))
    site.pages["/app/"] = Page("<html><body><div id=root></div>"
                               "<script src=/app.js></script></body></html>")
    config = load(tmp_path, f"""sources:
  - id: tg
    name: Harbour Union on Telegram
    kind: telegram
    channel: harbourunion
    url: {site.url('/s/harbourunion')}
  - id: masto
    name: Harbour Union on Mastodon
    url: {site.url('/@harbour')}
  - id: app
    name: Harbour Union app
    url: {site.url('/app/')}
    kind: page
    render: browser
digests:
  - id: channels
    channel: feed
    title: Channels
    schedule: immediate
""")
    results = {s.id: o for s, o in poll(config)}
    assert results["tg"].ok and results["tg"].new_documents == 2
    assert results["masto"].ok and results["masto"].new_documents == 1
    assert not results["app"].ok and results["app"].error_kind == "browser_missing"
    # a first poll's documents are backfill, kept out of digests: new posts arrive later
    publish_channel(site, "harbourunion", [
        Post(1, "Strike called for Monday\nAll crews stop at six.", T0),
        Post(2, "Pickets at every gate\nBring a flask.", T0 + timedelta(hours=1)),
        Post(3, "Strike pay on Friday\nAt the union hall.", T0 + timedelta(hours=3))])
    site.pages["/@harbour.rss"] = Page(mastodon_feed(site.base, "harbour", [
        (8, "<p>Thank you, Antwerp<br>Your dockers stood with us.</p>", T0 + timedelta(hours=4)),
        (7, "<p>March on Saturday<br>From the union hall.</p>", T0 + timedelta(hours=2))]),
        content_type="application/rss+xml")
    later = {s.id: o for s, o in poll(config)}
    assert later["tg"].new_documents == 1 and later["masto"].new_documents == 1

    assert main(["--config", str(config.path), "status", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["sources"]}
    assert rows["tg"]["health"] == "healthy" and rows["tg"]["documents"] == 3
    assert rows["masto"]["health"] == "healthy" and rows["masto"]["documents"] == 2
    assert rows["app"]["consecutive_failures"] == 2
    assert rows["app"]["last_error"]["kind"] == "browser_missing"
    assert rows["app"]["last_error"]["message"].startswith("Chromium is not installed")

    assert main(["--config", str(config.path), "digest", "channels", "--send"]) == 0
    capsys.readouterr()
    store = Store(config.settings.database_url)
    try:
        with running(config, store) as srv:
            base = srv.url.rstrip("/")
            sources_page = get(base + "/sources")
            for name in ("Harbour Union on Telegram", "Harbour Union on Mastodon",
                         "Harbour Union app"):
                assert name in sources_page
            assert "Chromium is not installed" in sources_page
            latest = get(base + "/")
            assert "Strike called for Monday" in latest and "March on Saturday" in latest
            feed = get(base + "/feeds/channels.atom")
            assert "Strike pay on Friday" in feed and "Thank you, Antwerp" in feed
            # /healthz judges the service; a failing source of a new kind is a source's
            # failure, as for any kind, not the service's
            assert json.loads(get(base + "/healthz"))["status"] == "ok"
            text = get(base + "/metrics")
    finally:
        store.close()
    for sid in ("tg", "masto", "app"):
        assert f'source="{sid}"' in text, sid
    assert 'kind="browser_missing"' in text
