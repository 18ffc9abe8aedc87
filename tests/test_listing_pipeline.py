"""Listing pages, first-run backfill, filters and auto-discovery through the real pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

from tests.helpers import load, poll, store_of
from tests.pages import Article, article, rss_feed, wordpress_page
from tests.webserver import Page

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def listing(base, items, *, next_page=None):
    cards = "\n".join(
        f"""<article class="news-card"><h2 class="card-title"><a href="{base}/news/{a.slug}/">
{escape(a.title)}</a></h2><time datetime="{a.published.date()}">{a.published:%d %B %Y}</time>
<p class="excerpt">{escape(a.paragraphs[0][:100])}…</p>
<a class="read-more" href="{base}/news/{a.slug}/">Read more</a></article>"""
        for a in items)
    pager = f'<nav class="pagination"><a rel="next" href="{next_page}">Next page</a></nav>' \
        if next_page else ""
    return f"""<!DOCTYPE html><html lang="en"><head><title>News – Tenants Union</title></head>
<body><header><nav class="menu"><a href="{base}/">Home</a> <a href="{base}/news/">News</a>
<a href="{base}/about/">About</a> <a href="{base}/join/">Join us</a></nav></header>
<main><h1>News and statements</h1>{cards}{pager}</main>
<aside><h3>Topics</h3><a href="{base}/tag/housing/">housing</a>
<a href="{base}/tag/rent/">rent</a></aside>
<footer><a href="{base}/privacy/">Privacy</a> © Tenants Union</footer></body></html>"""


def publish(site, items, *, page2=None):
    site.pages["/news/"] = Page(listing(site.base, items,
                                        next_page=site.url("/news/?page=2") if page2 else None))
    if page2:
        site.pages["/news/?page=2"] = Page(listing(site.base, page2))
    for a in items + (page2 or []):
        site.pages[f"/news/{a.slug}/"] = Page(wordpress_page("Tenants Union", a, site.base))


def items(n, start=0):
    return [article(i, f"Tenants statement {i}", T0 + timedelta(days=i))
            for i in range(start + n, start, -1)]


DIGEST = """digests:
  - id: feed
    channel: feed
    schedule: immediate
"""


def test_first_poll_takes_backfill_only_and_later_items_count_as_new(tmp_path, site):
    publish(site, items(5))
    config = load(tmp_path, f"""sources:
  - id: tenants
    url: {site.url('/news/')}
    kind: page
    backfill: 2
{DIGEST}""")
    (_, outcome), = poll(config)
    assert outcome.ok and outcome.new_documents == 2
    store = store_of(config)
    docs = list(store.iter_documents())
    # the two newest, stored oldest first so that sequence numbers follow publication
    assert [d.title for d in docs] == ["Tenants statement 4", "Tenants statement 5"]
    assert all(d.backfill for d in docs)
    assert store.count_pending() == {}
    # the three older items were remembered, never fetched
    assert site.requests_for("/news/statement-1/") == []

    publish(site, items(6))
    (_, outcome), = poll(config)
    assert outcome.new_documents == 1
    docs = list(store_of(config).iter_documents())
    assert docs[-1].title == "Tenants statement 6" and not docs[-1].backfill
    assert store_of(config).count_pending() == {"feed": 1}
    assert site.requests_for("/news/statement-1/") == []


def test_listing_without_selectors_yields_only_article_links(tmp_path, site):
    publish(site, items(3))
    config = load(tmp_path, f"sources:\n  - id: t\n    url: {site.url('/news/')}\n"
                            "    kind: page\n")
    poll(config)
    fetched = {r.path for r in site.requests}
    assert {"/news/statement-1/", "/news/statement-2/", "/news/statement-3/"} <= fetched
    assert not fetched & {"/about/", "/join/", "/tag/housing/", "/privacy/", "/"}


def test_pagination_is_followed_on_the_first_poll_up_to_the_depth(tmp_path, site):
    publish(site, items(3, start=3), page2=items(3))
    config = load(tmp_path, f"""sources:
  - id: t
    url: {site.url('/news/')}
    kind: page
    pagination_depth: 1
    backfill: 10
""")
    (_, outcome), = poll(config)
    assert outcome.new_documents == 6


def test_filtered_items_are_remembered_and_not_fetched_again(tmp_path, site):
    publish(site, items(3))
    config = load(tmp_path, f"""sources:
  - id: t
    url: {site.url('/news/')}
    kind: page
    exclude:
      - regex: "statement [12]$"
        in: title
""")
    (_, outcome), = poll(config)
    assert outcome.new_documents == 1
    assert site.requests_for("/news/statement-1/") == []
    publish(site, items(4))
    (_, outcome), = poll(config)
    assert outcome.new_documents == 1
    assert site.requests_for("/news/statement-1/") == []
    titles = [d.title for d in store_of(config).iter_documents()]
    assert titles == ["Tenants statement 3", "Tenants statement 4"]


def test_auto_source_finds_the_feed_a_page_links_and_remembers_it(tmp_path, site):
    arts = items(2)
    site.pages["/"] = Page(f"""<html><head><title>Tenants</title><link rel="alternate"
type="application/rss+xml" title="News" href="{site.url('/feed/')}"></head>
<body><h1>Tenants Union</h1></body></html>""")
    site.pages["/feed/"] = Page(rss_feed("Tenants", site.base, arts,
                                         path_of=lambda a: f"/news/{a.slug}/"),
                                "application/rss+xml")
    for a in arts:
        site.pages[f"/news/{a.slug}/"] = Page(wordpress_page("Tenants", a, site.base))
    config = load(tmp_path, f"sources:\n  - id: t\n    url: {site.url('/')}\n")
    (_, outcome), = poll(config)
    assert outcome.ok and outcome.method == "feed" and outcome.new_documents == 2
    state = store_of(config).source_state("t")
    assert state.resolved_kind == "feed" and state.resolved_url == site.url("/feed/")
    assert state.resolved_reason
    before = len(site.requests_for("/"))
    poll(config)
    assert len(site.requests_for("/")) == before   # discovery is not repeated


def test_a_page_holding_several_statements_is_split_into_documents(tmp_path, site):
    from tests.pages import paragraphs

    parts = [("Statement on the strike", paragraphs(11)),
             ("Statement on the elections", paragraphs(12)),
             ("Greetings to the congress", paragraphs(13))]
    body = "".join(f"<h2>{t}</h2>" + "".join(f"<p>{p}</p>" for p in ps) for t, ps in parts)
    issue = Article("issue-12", "Issue 12", ["The twelfth issue of the paper."], T0)
    site.pages["/feed/"] = Page(rss_feed("Paper", site.base, [issue]), "application/rss+xml")
    site.pages["/issue-12/"] = Page(f"""<html><head><title>Issue 12 – The Paper</title></head>
<body><nav><a href="/">Home</a></nav><main><h1>Issue 12</h1>{body}</main>
<footer>© The Paper</footer></body></html>""")
    config = load(tmp_path, f"""sources:
  - id: paper
    url: {site.url('/feed/')}
    kind: feed
    split:
      headings: h2
""")
    (_, outcome), = poll(config)
    assert outcome.ok and outcome.new_documents == 3, outcome
    docs = list(store_of(config).iter_documents())
    assert [d.title for d in docs] == [t for t, _ in parts]
    assert len({d.id for d in docs}) == 3
    assert all("#part-" in d.url for d in docs)
    # the issue's item is seen: a changed feed (a new issue) fetches only the new page
    issue_13 = Article("issue-13", "Issue 13", ["The thirteenth issue of the paper."],
                       T0 + timedelta(days=7))
    site.pages["/feed/"] = Page(rss_feed("Paper", site.base, [issue_13, issue]),
                                "application/rss+xml")
    site.pages["/issue-13/"] = Page("""<html><body><main><h1>Issue 13</h1><h2>On the harvest</h2>
""" + "".join(f"<p>{p}</p>" for p in paragraphs(14)) + "</main></body></html>")
    (_, later), = poll(config)
    assert later.ok and later.new_documents == 1 and later.left == 0, later
    assert len(site.requests_for("/issue-12/")) == 1
