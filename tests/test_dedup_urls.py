"""URL canonicalisation: the normalisation table, trusted canonical claims, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.dedup import canonical_url, url_key
from collector.document import document_id
from collector.errors import ParseError

BASE = "https://example.org/news/2025/strike-statement"

# (input, canonical_url) pairs: one normalisation each.
CANONICAL_TABLE = [
    # tracking parameters
    (BASE + "?utm_source=tw&utm_medium=social&utm_campaign=x", BASE),
    (BASE + "?fbclid=IwAR0abc", BASE),
    (BASE + "?gclid=Cj0KCQ&msclkid=12", BASE),
    (BASE + "?mc_cid=abc123&mc_eid=def456", BASE),
    (BASE + "?_ga=2.1234&_gl=1*abc", BASE),
    (BASE + "?pk_campaign=news&mtm_source=x", BASE),
    (BASE + "?ref=rss", BASE),
    (BASE + "?id=42&utm_source=x", BASE + "?id=42"),
    # AMP variants
    (BASE + "/amp", BASE),
    (BASE + "/amp/", BASE),
    ("https://example.org/amp/news/2025/strike-statement", BASE),
    (BASE + "?amp=1", BASE),
    (BASE + "?outputType=amp", BASE),
    ("https://example.org/news/2025/strike-statement.amp.html",
     "https://example.org/news/2025/strike-statement.html"),
    ("https://example-org.cdn.ampproject.org/c/s/example.org/news/2025/strike-statement", BASE),
    ("https://amp.example.org/news/x", "https://www.example.org/news/x"),
    # print views
    (BASE + "?print=1", BASE),
    (BASE + "?print=yes", BASE),
    (BASE + "/print/", BASE),
    (BASE + "/print", BASE),
    (BASE + "?view=print", BASE),
    # scheme and host case, default ports
    ("HTTPS://Example.ORG/news/2025/strike-statement", BASE),
    ("https://example.org:443/news/2025/strike-statement", BASE),
    ("http://example.org:80/a", "http://example.org/a"),
    ("https://example.org.:443/a", "https://example.org/a"),
    ("https://example.org:8443/a", "https://example.org:8443/a"),
    # trailing slash, fragment, empty path, dot segments, duplicate slashes
    (BASE + "/", BASE),
    (BASE + "#comments", BASE),
    (BASE + "/#top", BASE),
    ("https://example.org", "https://example.org/"),
    ("https://example.org/news/./2025/../2025//strike-statement", BASE),
    ("https://example.org/news/index.html", "https://example.org/news"),
    # query order and percent escapes
    ("https://example.org/s?b=2&a=1", "https://example.org/s?a=1&b=2"),
    ("https://example.org/%7euser/a%2fb", "https://example.org/~user/a%2Fb"),
    ("https://example.org/déclaration", "https://example.org/d%C3%A9claration"),
    ("https://example.org/a;jsessionid=ABC123?x=1", "https://example.org/a?x=1"),
    # things that select content stay
    ("https://example.org/list?page=2", "https://example.org/list?page=2"),
    ("https://example.org/doc?format=pdf", "https://example.org/doc?format=pdf"),
    ("https://example.org/app#!/statement/12", "https://example.org/app#!/statement/12"),
    ("https://example.org/a?ref=/internal/path", "https://example.org/a?ref=/internal/path"),
    # scheme and www are kept by the canonical URL (url_key folds them)
    ("http://www.example.org/a", "http://www.example.org/a"),
]


@pytest.mark.parametrize(("raw", "expected"), CANONICAL_TABLE)
def test_canonical_url_normalises(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


@pytest.mark.parametrize("variant", [
    "http://example.org/news/2025/strike-statement",
    "https://www.example.org/news/2025/strike-statement/",
    "http://WWW.example.org:80/news/2025/strike-statement?utm_source=x#top",
    "https://example.org/news/2025/strike-statement/amp/?print=1",
])
def test_url_key_folds_scheme_and_www(variant: str) -> None:
    assert url_key(variant) == url_key(BASE)


def test_url_key_keeps_different_pages_apart() -> None:
    assert url_key(BASE) != url_key(BASE + "-2")
    assert url_key("https://example.org/a?id=1") != url_key("https://example.org/a?id=2")
    assert url_key("https://example.org/a") != url_key("https://example.net/a")


def test_document_id_is_stable_across_url_variants() -> None:
    """The FORMAT.md id is made from the canonical URL, so tracking and AMP do not change it."""
    ids = {document_id(canonical_url(u)) for u in (
        BASE, BASE + "?utm_source=x", BASE + "/amp/", BASE + "#x", BASE.upper().replace(
            "/NEWS/2025/STRIKE-STATEMENT", "/news/2025/strike-statement"))}
    assert len(ids) == 1


# --- declared canonical URLs --------------------------------------------------------------

def test_declared_canonical_on_same_host_is_used() -> None:
    got = canonical_url("https://example.org/?p=123", declared="https://example.org/2025/strike")
    assert got == "https://example.org/2025/strike"


def test_relative_declared_canonical_is_resolved() -> None:
    assert canonical_url(BASE + "?x=1", declared="/news/2025/strike") == \
        "https://example.org/news/2025/strike"


def test_declared_canonical_on_sibling_host_of_same_site_is_used() -> None:
    got = canonical_url("https://m.example.org/a", declared="https://www.example.org/a/")
    assert got == "https://www.example.org/a"


def test_declared_canonical_on_another_site_is_ignored() -> None:
    """A section reprinting a statement with rel=canonical to the international's site must not
    take that site's document id: the near-duplicate check links them instead."""
    assert canonical_url(BASE, declared="https://international.example.net/statement") == BASE


def test_country_domains_of_different_owners_are_different_sites() -> None:
    assert canonical_url("https://alpha.co.uk/a", declared="https://beta.co.uk/a") == \
        "https://alpha.co.uk/a"
    assert canonical_url("https://news.alpha.co.uk/a", declared="https://alpha.co.uk/b") == \
        "https://alpha.co.uk/b"


def test_blogs_on_one_hosting_domain_are_different_sites() -> None:
    assert canonical_url("https://alice.github.io/a", declared="https://bob.github.io/a") == \
        "https://alice.github.io/a"


def test_declared_home_page_is_ignored_for_an_article() -> None:
    assert canonical_url(BASE, declared="https://example.org/") == BASE


def test_unrendered_template_placeholder_is_ignored() -> None:
    assert canonical_url(BASE, declared="https://example.org/{{ page.url }}") == BASE


def test_non_http_declared_canonical_is_ignored() -> None:
    assert canonical_url(BASE, declared="javascript:alert(1)") == BASE
    assert canonical_url(BASE, declared="ftp://example.org/a") == BASE


def test_og_url_is_used_when_rel_canonical_is_untrusted() -> None:
    got = canonical_url(BASE + "?x=1", declared="https://other.example.net/a",
                        og_url="https://example.org/news/2025/strike-statement-final")
    assert got == "https://example.org/news/2025/strike-statement-final"


def test_rel_canonical_wins_over_og_url() -> None:
    got = canonical_url(BASE, declared="https://example.org/a", og_url="https://example.org/b")
    assert got == "https://example.org/a"


def test_declared_canonical_is_normalised_too() -> None:
    got = canonical_url(BASE, declared="HTTPS://EXAMPLE.org/a/?utm_source=x")
    assert got == "https://example.org/a"


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    "", "   ", "ftp://example.org/a", "javascript:alert(1)", "file:///etc/passwd", "/relative/path",
    "https://", "https://user:pw@example.org/a", "http://INTERNAL:8888\\@example.org/",
    "https://example.org:99999/a", "https://exa mple.org/a", "https://example.org/a\x00b",
    "https://example.org/a\x1fb", "https://example.org/a\x7fb",
])
def test_bad_urls_raise_parse_error(bad: str) -> None:
    with pytest.raises(ParseError):
        canonical_url(bad)
    with pytest.raises(ParseError):
        url_key(bad)


def test_non_string_url_raises_parse_error() -> None:
    with pytest.raises(ParseError):
        canonical_url(None)  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------

_segment = st.text(alphabet="abcXYZ019-._~%é ", min_size=0, max_size=8)
_param = st.sampled_from(["utm_source", "id", "page", "fbclid", "q", "print", "amp", "ref"])


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP"]))
    host = draw(st.sampled_from(["example.org", "www.Example.org", "news.example.co.uk"]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/".join(draw(st.lists(_segment, max_size=4)))
    query = "&".join(f"{draw(_param)}={draw(_segment)}" for _ in range(draw(st.integers(0, 3))))
    frag = draw(st.sampled_from(["", "#top", "#!/x"]))
    return f"{scheme}://{host}{port}/{path}" + (f"?{query}" if query else "") + frag


@given(urls())
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@given(urls())
def test_url_key_agrees_with_canonical_url(url: str) -> None:
    assert url_key(canonical_url(url)) == url_key(url)
