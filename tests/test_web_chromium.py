"""The web page in a real headless Chromium: pages render, search finds a statement by a word in
its body, markup in a title stays text (and never runs), and the content security policy lets
the page's own style sheet apply while Chromium reports no violation.

Chromium loads pages from the server on 127.0.0.1 only: proxies are off and every other host
name resolves to nothing.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from collector import server as server_module
from tests.test_server_helpers import T0, add_doc, make_world, running

CHROMIUM = Path("/usr/bin/chromium")
#: Seconds one page load may take (a cold Chromium start is about two seconds).
LOAD_TIMEOUT_S = 60

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Chromium is not installed at /usr/bin/chromium "
                                       "(Debian package `chromium`)")

HOSTILE_TITLE = ('<b>Bold</b> <img src=x onerror="document.body.dataset.pwned=1">'
                 '<script>document.body.dataset.pwned=1</script> & more')


def load(url: str, profile: Path) -> tuple[LexborHTMLParser, list[str]]:
    """The DOM Chromium built for `url`, and its console messages."""
    result = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--no-proxy-server",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
         "--enable-logging=stderr", "--v=0", "--dump-dom", url],
        capture_output=True, text=True, timeout=LOAD_TIMEOUT_S, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return LexborHTMLParser(result.stdout), console


@pytest.fixture
def world(tmp_path):
    config, store = make_world(tmp_path)
    docs = {
        "strike": add_doc(store, "reddawn", "strike", "Dockers strike",
                          ["The harbour is closed by pickets.", "Solidarity with the dockers."]),
        "election": add_doc(store, "vanguard", "election", "Election call",
                            ["Vote on Sunday for the list of the league."]),
        "hostile": add_doc(store, "odd", "hostile", HOSTILE_TITLE,
                           ["A statement with a peculiar headline about zeppelins."]),
    }
    store.update_source("vanguard", health="broken", consecutive_failures=7, polls=9,
                        last_error="connection refused", last_error_kind="refused",
                        first_failure_at=T0 - timedelta(days=3),
                        last_success_at=T0 - timedelta(days=4))
    with running(config, store) as srv:
        yield srv, docs, tmp_path / "chromium-profile"
    store.close()


def test_pages_render_with_their_landmarks_tables_and_form(world):
    srv, docs, profile = world
    latest, console = load(srv.url + "/", profile)
    assert latest.css_first("main h1").text() == "Latest statements"
    assert latest.css_first("table caption").text().startswith(
        "Statements, newest first by publication date")
    assert latest.css_first("label[for=q]").text() == "Search statements"
    assert {a.text() for a in latest.css("tbody td:first-child a")} == {
        "Dockers strike", "Election call", HOSTILE_TITLE}
    assert console == []

    document, console = load(f"{srv.url}/d/{docs['strike'].id}", profile)
    assert document.css_first("h1").text() == "Dockers strike"
    assert [p.text() for p in document.css("article section p")] == [
        "The harbour is closed by pickets.", "Solidarity with the dockers."]
    assert console == []

    sources, console = load(srv.url + "/sources", profile)
    health = {tr.css("td")[0].text().split(" (")[0]: tr.css("td")[1].text()
              for tr in sources.css("tbody tr")}
    assert health["Vanguard League"] == "broken"
    assert sources.css_first("caption").text() == (
        "Health of every source, those needing attention first")
    assert console == []


def test_search_finds_a_statement_by_a_word_in_its_body(world):
    srv, docs, profile = world
    page, console = load(srv.url + "/search?q=pickets", profile)
    links = page.css("tbody td:first-child a")
    assert [a.text() for a in links] == ["Dockers strike"]
    assert links[0].attributes["href"] == f"/d/{docs['strike'].id}"
    assert page.css_first("input#q").attributes["value"] == "pickets"
    assert console == []


def test_a_title_containing_markup_is_shown_as_text_and_never_runs(world):
    srv, docs, profile = world
    for path in (f"/d/{docs['hostile'].id}", "/", "/search?q=zeppelins"):
        page, console = load(srv.url + path, profile)
        main = page.css_first("main")
        assert "data-pwned" not in page.body.attributes, path
        assert main.css("b, img, script") == [], path
        assert HOSTILE_TITLE in main.text(), path
        assert console == [], path
    page, _ = load(f"{srv.url}/d/{docs['hostile'].id}", profile)
    assert page.css_first("h1").text() == HOSTILE_TITLE


def test_chromium_reports_a_style_the_policy_does_not_admit(world, monkeypatch):
    """The console check above can fail: with a wrong hash Chromium blocks the style."""
    srv, _docs, profile = world
    monkeypatch.setitem(server_module.SECURITY_HEADERS, "Content-Security-Policy",
                        "default-src 'none'; style-src 'sha256-AAAA'")
    _page, console = load(srv.url + "/", profile)
    assert any("Content Security Policy" in line for line in console)
