"""`kind: telegram`: a channel's preview pages, served locally, through the real pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collector.channels.post import title_of
from collector.channels.telegram import parse_page
from tests.channel_sites import Post, publish_channel, telegram_page
from tests.helpers import load, poll, store_of

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
CHANNEL = "harbourunion"


def source(site, **extra):  # type: ignore[no-untyped-def]
    lines = "".join(f"    {k}: {v}\n" for k, v in extra.items())
    return f"""sources:
  - id: tg
    kind: telegram
    channel: {CHANNEL}
    url: {site.url(f'/s/{CHANNEL}')}
{lines}"""


def text_post(n: int, text: str | None = None, **kw) -> Post:  # type: ignore[no-untyped-def]
    return Post(n, text or f"Statement number {n} on the harbour.\nThe dockers held a "
                           f"meeting about point {n} and agreed to continue.",
                T0 + timedelta(hours=n), **kw)


def test_each_post_becomes_a_statement_titled_by_its_first_line(tmp_path, site):
    posts = [text_post(1), text_post(2, "Strike called for Monday\nAll crews stop at six. "
                                        "Pickets at gates 3 and 4."), text_post(3)]
    publish_channel(site, CHANNEL, posts)
    config = load(tmp_path, source(site))
    (_, outcome), = poll(config)
    assert outcome.ok, outcome.error
    assert outcome.new_documents == 3 and outcome.method == "telegram"
    docs = {d.url: d for d in store_of(config).iter_documents()}
    doc = docs[site.url(f"/{CHANNEL}/2")]
    assert doc.title == "Strike called for Monday"
    # the title, then the post's whole text
    assert doc.text.strip().split("\n\n") == ["Strike called for Monday",
                                              "Strike called for Monday",
                                              "All crews stop at six. Pickets at gates 3 and 4."]
    assert doc.published_at == T0 + timedelta(hours=2)
    # the permalinks were never fetched: the preview page carries the whole text
    assert site.requests_for(f"/{CHANNEL}/2") == []


def test_a_forwarded_post_is_marked(tmp_path, site):
    publish_channel(site, CHANNEL, [text_post(1), text_post(2, forwarded_from="dockersfed")])
    config = load(tmp_path, source(site))
    poll(config)
    docs = {d.url: d for d in store_of(config).iter_documents()}
    forwarded = docs[site.url(f"/{CHANNEL}/2")]
    assert forwarded.text.strip().split("\n\n")[1] == \
        f"Forwarded from dockersfed ({site.url('/dockersfed/7')})"
    assert forwarded.title == "Statement number 2 on the harbour."
    assert "Forwarded" not in docs[site.url(f"/{CHANNEL}/1")].text


def test_posts_of_only_media_are_skipped_and_counted_once(tmp_path, site):
    posts = [text_post(1), Post(2, "", T0 + timedelta(hours=2), photo=True), text_post(3)]
    publish_channel(site, CHANNEL, posts)
    config = load(tmp_path, source(site))
    (_, outcome), = poll(config)
    assert outcome.new_documents == 2 and outcome.skipped == 1
    assert len(list(store_of(config).iter_documents())) == 2
    (_, again), = poll(config)
    assert again.skipped == 0


def test_an_edited_post_becomes_a_revision_of_its_statement(tmp_path, site):
    posts = [text_post(1), text_post(2, "Meeting on Tuesday\nIn the union hall at seven.")]
    publish_channel(site, CHANNEL, posts)
    config = load(tmp_path, source(site))
    poll(config)
    posts[1] = text_post(2, "Meeting moved to Wednesday\nIn the union hall at seven.",
                         edited=True)
    publish_channel(site, CHANNEL, posts)
    (_, outcome), = poll(config)
    assert outcome.ok and outcome.new_documents == 0
    docs = [d for d in store_of(config).iter_documents() if d.url.endswith("/2")]
    assert len(docs) == 1
    assert docs[0].title == "Meeting moved to Wednesday" and docs[0].revision == 2
    # an unchanged channel changes nothing
    (_, quiet), = poll(config)
    assert quiet.new_documents == 0
    assert [d.revision for d in store_of(config).iter_documents() if d.url.endswith("/2")] == [2]


def test_first_poll_pages_back_to_backfill_and_later_polls_page_until_known(tmp_path, site):
    publish_channel(site, CHANNEL, [text_post(n) for n in range(1, 26)], per_page=5)
    config = load(tmp_path, source(site, backfill=12))
    (_, outcome), = poll(config)
    assert outcome.new_documents == 12
    # pages of 21–25, 16–20 and 11–15 hold the 12 newest; nothing older was asked for
    asked = {r.path for r in site.requests}
    assert {f"/s/{CHANNEL}", f"/s/{CHANNEL}?before=21", f"/s/{CHANNEL}?before=16"} <= asked
    assert f"/s/{CHANNEL}?before=11" not in asked
    numbers = sorted(int(d.url.rsplit("/", 1)[1]) for d in store_of(config).iter_documents())
    assert numbers == list(range(14, 26))

    # eight new posts: more than one page; paging goes back until it meets a known post
    site.requests.clear()
    publish_channel(site, CHANNEL, [text_post(n) for n in range(1, 34)], per_page=5)
    (_, outcome), = poll(config)
    assert outcome.new_documents == 8
    asked = [r.path for r in site.requests if r.path != "/robots.txt"]
    assert asked == [f"/s/{CHANNEL}", f"/s/{CHANNEL}?before=29"]


def test_parse_page_reads_dates_permalinks_edits_and_media():
    base = "https://t.me"
    html = telegram_page(CHANNEL, base, [
        text_post(4, edited=True), Post(5, "", T0, photo=True),
        text_post(6, forwarded_from="otherchan")], older=4)
    posts = parse_page(html, f"{base}/s/{CHANNEL}")
    assert [p.number for p in posts] == [4, 5, 6]
    assert posts[0].edited and not posts[2].edited
    assert posts[0].permalink == f"{base}/{CHANNEL}/4"
    assert posts[1].media_only and not posts[0].media_only
    assert posts[2].forwarded_from == "otherchan"
    assert posts[0].text.split("\n")[0] == "Statement number 4 on the harbour."


def test_a_page_that_is_not_a_channel_preview_fails_the_poll_with_the_url(tmp_path, site):
    site.pages[f"/s/{CHANNEL}"] = site.pages.get("/x") or __import__(
        "tests.webserver", fromlist=["Page"]).Page("<html><body><p>Nothing here</p></body></html>")
    config = load(tmp_path, source(site))
    (_, outcome), = poll(config)
    assert not outcome.ok and "not a Telegram channel preview" in (outcome.error or "")
    assert site.url(f"/s/{CHANNEL}") in (outcome.error or "")


def test_title_of_takes_the_first_line_or_sentence():
    assert title_of("\n  First line\nsecond") == "First line"
    long = "This is a long opening sentence that keeps going about the harbour. " * 3
    assert title_of(long) == "This is a long opening sentence that keeps going about the harbour."
    endless = "word " * 100
    cut = title_of(endless)
    assert cut.endswith("…") and len(cut) <= 121


def test_check_shows_the_channel_posts_and_stores_nothing(tmp_path, site, capsys):
    from collector.cli import main

    publish_channel(site, CHANNEL, [text_post(1), text_post(2, "Solidarity with the dockers")])
    load(tmp_path, source(site))
    assert main(["--config", str(tmp_path / "sources.yaml"), "check", "--source", "tg"]) == 0
    out = capsys.readouterr().out
    assert "method:  telegram" in out and "Solidarity with the dockers" in out
    assert not (tmp_path / "data" / "documents").exists() or \
        not list((tmp_path / "data" / "documents").glob("*.txt"))


def test_config_names_a_missing_or_bad_channel(tmp_path):
    import pytest

    from collector.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        load(tmp_path, """sources:
  - id: tg
    kind: telegram
  - id: tg2
    kind: telegram
    channel: "no spaces allowed"
  - id: web
    url: https://example.org/
    channel: harbourunion
""")
    text = str(caught.value)
    assert "source 'tg': missing required key 'channel'" in text or "'channel'" in text
    assert "is not a channel name" in text
    assert "is only for kind: telegram" in text


def test_the_channel_name_alone_reads_t_me(tmp_path):
    config = load(tmp_path, """sources:
  - id: tg
    kind: telegram
    channel: "@harbourunion"
""")
    assert config.sources[0].url == "https://t.me/s/harbourunion"
    assert config.sources[0].channel == "harbourunion"
