"""The browser fetcher with the real Chromium from Debian, on loopback sites.

- a listing and its articles built by JavaScript are stored as a reader sees them (and a plain
  fetch of the same source finds nothing, so the test can fail);
- every request a page makes goes through collector's address check: the test fetcher allows
  only 127.0.0.1/32, so the page's own site loads while its script, XHR, frame, web worker and
  redirect to a second loopback address, 127.0.0.2, are refused. 127.0.0.2 is loopback too,
  hence "private": the refusal is the ordinary one for private addresses, and 127.0.0.2 runs a
  real server that records whether anything reached it. Allowing 127.0.0.0/8 instead lets the
  same page load the secret, which shows the refusal is what kept it out; side doors (pings,
  beacons, WebRTC …) reach nothing there either;
- images, media, fonts, service workers and permissions are refused;
- a page whose script loops forever fails within its bound, and the next page still renders;
- pop-ups and downloads are refused;
- a missing Chromium fails only the sources that need it, with the install command.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collector import browser as browser_mod
from collector.browser import Browser, empty_shell
from collector.errors import FetchError
from collector.fetch import Fetcher, FetchPolicy
from collector.scheduler import Worker
from collector.store import Store
from tests.helpers import load, store_of, write_config
from tests.webserver import Page, SiteServer, serve

pytestmark = pytest.mark.skipif(browser_mod.find_chromium() is None,
                                reason="Chromium is not installed (apt-get install chromium)")

#: Bound on one page in these tests (a cold Chromium start is about a second).
PAGE_TIMEOUT_S = 4.0

SHELL = """<!doctype html><html lang="en"><head><title>{title}</title>
<script defer src="/static/app.js"></script></head>
<body><div id="root"></div><noscript>This site needs JavaScript.</noscript></body></html>"""

APP_JS = """
const root = document.getElementById('root');
const path = location.pathname;
function el(tag, text) { const e = document.createElement(tag); e.textContent = text; return e; }
if (path === '/news/') {
  fetch('/api/list.json').then(r => r.json()).then(items => {
    const main = document.createElement('main');
    main.appendChild(el('h1', 'Statements'));
    for (const it of items) {
      const card = document.createElement('article');
      const h2 = document.createElement('h2');
      const a = el('a', it.title); a.href = it.url; h2.appendChild(a); card.appendChild(h2);
      const t = el('time', it.date); t.setAttribute('datetime', it.date); card.appendChild(t);
      main.appendChild(card);
    }
    root.appendChild(main);
  });
} else {
  const slug = path.split('/').filter(Boolean).pop();
  fetch('/api/' + slug + '.json').then(r => r.json()).then(doc => {
    document.title = doc.title + ' – Harbour Union';
    const art = document.createElement('article');
    const head = document.createElement('header');
    head.appendChild(el('h1', doc.title));
    const meta = el('div', 'Posted on '); meta.className = 'entry-meta';
    const t = el('time', doc.date); t.setAttribute('datetime', doc.date); meta.appendChild(t);
    head.appendChild(meta); art.appendChild(head);
    const body = document.createElement('div'); body.className = 'entry-content';
    for (const p of doc.paragraphs) body.appendChild(el('p', p));
    art.appendChild(body);
    const main = document.createElement('main'); main.appendChild(art); root.appendChild(main);
  });
}
"""

ARTICLES = [
    ("dockers-strike-continues", "Dockers strike continues", "2026-03-02",
     ["The dockers of the northern harbour stayed out for a third day on Monday, and the "
      "pickets at every gate were larger than on the first morning of the strike.",
      "The union said the employers had not answered its demand for a shorter week and a "
      "guaranteed crew size on every ship that is loaded or unloaded in the port.",
      "A meeting of all members will decide on Thursday whether the strike goes on."]),
    ("rent-freeze-now", "Rent freeze now", "2026-03-04",
     ["Tenants from forty buildings marched to the city hall to demand a freeze of all rents "
      "for the next three years, and a register of every landlord in the city.",
      "The council promised an answer before the summer recess, which the tenants called a "
      "delay rather than an answer, and they announced a second march for April."]),
]


def js_site(site: SiteServer) -> None:
    site.pages["/news/"] = Page(SHELL.format(title="News"))
    site.pages["/static/app.js"] = Page(APP_JS, content_type="application/javascript")
    site.pages["/api/list.json"] = Page(json.dumps(
        [{"title": t, "url": f"/news/{slug}/", "date": d} for slug, t, d, _ in ARTICLES]),
        content_type="application/json")
    for slug, title, date, paragraphs in ARTICLES:
        site.pages[f"/news/{slug}/"] = Page(SHELL.format(title="News"))
        site.pages[f"/api/{slug}.json"] = Page(json.dumps(
            {"title": title, "date": date, "paragraphs": paragraphs}),
            content_type="application/json")


def test_listing_and_articles_rendered_by_javascript_are_stored_as_a_reader_sees_them(
        tmp_path, site):
    js_site(site)
    config = load(tmp_path, f"""sources:
  - id: js
    url: {site.url('/news/')}
    kind: page
    render: browser
    backfill: 10
""")
    (_, outcome), = poll_with(config)
    assert outcome.ok, outcome.error
    assert outcome.new_documents == 2
    docs = {d.title: d for d in store_of(config).iter_documents()}
    for slug, title, date, paragraphs in ARTICLES:
        doc = docs[title]
        assert doc.url == site.url(f"/news/{slug}/")
        # exactly the paragraphs the script wrote into the page, nothing of the shell
        assert doc.text.strip().split("\n\n") == [title, *paragraphs]
        assert "JavaScript" not in doc.text
        assert doc.published_at is not None and doc.published_at.date().isoformat() == date
    # the page's script and data were fetched by collector's own fetcher, with its agent
    app = site.requests_for("/static/app.js")
    assert app and all(r.headers["user-agent"].startswith("collector/") for r in app)


def test_the_same_source_without_the_browser_finds_nothing(tmp_path, site):
    js_site(site)
    config = load(tmp_path, f"""sources:
  - id: js
    url: {site.url('/news/')}
    kind: page
""")
    (_, outcome), = poll_with(config)
    assert outcome.ok and outcome.new_documents == 0
    assert site.requests_for("/api/list.json") == []


def poll_with(config, *, fetcher: Fetcher | None = None,
              page_timeout_s: float = PAGE_TIMEOUT_S):  # type: ignore[no-untyped-def]
    """One poll of every source on a worker whose browser has a short page bound."""
    async def main():  # type: ignore[no-untyped-def]
        store = Store(config.settings.database_url)
        worker = Worker(config, store, fetcher=fetcher or Fetcher(per_host_delay_s=0))
        worker.pipeline.browser = Browser(worker.fetcher, page_timeout_s=page_timeout_s)
        try:
            await worker.start()
            return await worker.poll_ids([s.id for s in config.sources])
        finally:
            await worker.close()
            store.close()

    return asyncio.run(main())


# --- address checks --------------------------------------------------------------------------

SECRET = "internal-secret-7f3a"

PRYING_PAGE = """<!doctype html><html><head><title>Prying</title>
<script defer src="{other}/steal.js"></script>
<script src="/redirecting.js"></script></head>
<body><main><article><h1>A statement with company</h1><p id="text">Ordinary text.</p>
<div id="xhr">none</div><div id="ws">none</div></article>
<iframe src="{other}/frame.html"></iframe></main>
<script>
fetch('{other}/data.json').then(r => r.text())
  .then(t => document.getElementById('xhr').textContent = t)
  .catch(() => document.getElementById('xhr').textContent = 'blocked');
const job = new Blob(["fetch('{other}/worker.json').then(r => r.text())" +
                     ".then(t => postMessage(t)).catch(() => postMessage('blocked'))"],
                    {{type: 'text/javascript'}});
new Worker(URL.createObjectURL(job)).onmessage =
  e => document.getElementById('xhr').dataset.worker = e.data;
try {{
  const ws = new WebSocket('{ws}/socket');
  ws.onopen = () => document.getElementById('ws').textContent = 'open';
  ws.onerror = () => document.getElementById('ws').textContent = 'blocked';
}} catch (e) {{ document.getElementById('ws').textContent = 'blocked'; }}
</script></body></html>"""


@pytest.fixture
def other_host():  # type: ignore[no-untyped-def]
    """A second loopback address playing an internal host."""
    yield from serve("127.0.0.2")


def prying_site(site: SiteServer, other: SiteServer) -> None:
    ws = other.base.replace("http://", "ws://")
    site.pages["/prying/"] = Page(PRYING_PAGE.format(other=other.base, ws=ws))
    site.pages["/redirecting.js"] = Page("", status=302,
                                         headers={"Location": other.url("/redirected.js")})
    for path, body, ctype in (
            ("/steal.js", f"document.getElementById('text').textContent += ' {SECRET}-js';",
             "application/javascript"),
            ("/redirected.js", f"document.title = '{SECRET}-redirect';",
             "application/javascript"),
            ("/data.json", f'"{SECRET}-xhr"', "application/json"),
            ("/worker.json", f'"{SECRET}-worker"', "application/json"),
            ("/frame.html", f"<p>{SECRET}-frame</p>", "text/html")):
        other.pages[path] = Page(body, content_type=ctype,
                                 headers={"Access-Control-Allow-Origin": "*"})


def render_once(url: str, fetcher_networks: list[str], **browser_kw):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        async with Fetcher(per_host_delay_s=0, allowed_networks=fetcher_networks) as fetcher:
            b = Browser(fetcher, **{"page_timeout_s": PAGE_TIMEOUT_S, **browser_kw})
            try:
                policy = FetchPolicy(allow_private=False, robots=False, expected="page")
                page = await fetcher.fetch(url, policy=policy)
                got = await b.render(page, policy)
                return got.content.decode(), b.last_refusals
            finally:
                await b.aclose()

    return asyncio.run(main())


#: The prying page's web worker makes its request only once its thread has started, which on a
#: loaded machine can take longer than the service's quiet window: these tests give the page a
#: quiet window long enough for the worker (and bounds to match), so that both see its request.
PRYING_WAIT = {"quiet_s": 2.0, "settle_s": 20.0, "page_timeout_s": 60.0}


def test_requests_to_a_disallowed_address_are_refused_whatever_makes_them(site, other_host):
    prying_site(site, other_host)
    html, refusals = render_once(site.url("/prying/"), ["127.0.0.1/32"],
                                 **PRYING_WAIT)
    assert SECRET not in html
    assert "Ordinary text." in html
    assert other_host.requests == []          # nothing reached the internal host
    refused = "\n".join(refusals.requests)
    for path in ("/steal.js", "/data.json", "/frame.html", "/socket", "/worker.json"):
        assert f"{other_host.base.split('//')[1]}{path}" in refused or path in refused, path
    assert "blocked" in html                  # the page saw its XHR fail


def test_with_the_address_allowed_the_same_page_loads_the_secret(site, other_host):
    prying_site(site, other_host)
    html, _ = render_once(site.url("/prying/"), ["127.0.0.0/8"], **PRYING_WAIT)
    assert f"{SECRET}-js" in html and f"{SECRET}-xhr" in html and f"{SECRET}-worker" in html
    assert other_host.requests_for("/redirected.js")


# --- bounds ----------------------------------------------------------------------------------

def test_a_page_that_loops_forever_fails_within_its_bound_and_the_next_page_renders(site):
    site.pages["/loop/"] = Page("<!doctype html><html><body><div id=root></div>"
                                "<script>while (true) {}</script></body></html>")
    js_site(site)

    async def main():  # type: ignore[no-untyped-def]
        async with Fetcher(per_host_delay_s=0) as fetcher:
            b = Browser(fetcher, page_timeout_s=PAGE_TIMEOUT_S)
            policy = FetchPolicy(allow_private=True, robots=False, expected="page")
            try:
                # warm start, so the bound measured below is the page's alone
                await b.render(await fetcher.fetch(site.url("/news/"), policy=policy), policy)
                started = time.monotonic()
                with pytest.raises(FetchError) as caught:
                    await b.render(await fetcher.fetch(site.url("/loop/"), policy=policy),
                                   policy)
                took = time.monotonic() - started
                after = await b.render(await fetcher.fetch(site.url("/news/"), policy=policy),
                                       policy)
                return caught.value, took, after
            finally:
                await b.aclose()

    error, took, after = asyncio.run(main())
    assert error.kind == "browser_timeout" and "/loop/" in str(error)
    # the page bound plus at most the close (or kill) bound
    assert took < PAGE_TIMEOUT_S + browser_mod.limits.BROWSER_CLOSE_TIMEOUT_S + 2
    assert b"Dockers strike continues" in after.content


def test_a_browser_over_its_memory_bound_is_killed_and_replaced(site):
    js_site(site)

    async def main():  # type: ignore[no-untyped-def]
        async with Fetcher(per_host_delay_s=0) as fetcher:
            b = Browser(fetcher, page_timeout_s=PAGE_TIMEOUT_S)
            policy = FetchPolicy(allow_private=True, robots=False, expected="page")
            try:
                page = await fetcher.fetch(site.url("/news/"), policy=policy)
                await b.render(page, policy)
                first = b.pid
                assert first is not None
                # a bound no Chromium fits in: the watchdog kills it at its next check
                b.max_rss_bytes = 1
                deadline = time.monotonic() + 10 * browser_mod.limits.BROWSER_MEMORY_CHECK_S
                while b.kills == 0:
                    assert time.monotonic() < deadline, "the watchdog never killed it"
                    await asyncio.sleep(0.05)
                gone = _group_gone(first)
                b.max_rss_bytes = browser_mod.limits.BROWSER_MAX_RSS_BYTES
                again = await b.render(page, policy)
                return first, gone, b.pid, again
            finally:
                await b.aclose()

    first, gone, second, again = asyncio.run(main())
    assert gone, "processes of the killed browser's group are left"
    assert second is not None and second != first
    assert b"Dockers strike continues" in again.content


def _group_gone(pgid: int) -> bool:
    """No live process is left in group `pgid` (a killed child's own children wait as zombies
    until init reaps them; those are dead)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return False
    return True


# --- refusals --------------------------------------------------------------------------------

POPUP_PAGE = """<!doctype html><html><head><title>Pushy</title></head><body>
<main><article><h1>Pushy page</h1><p>Text that stays.</p></article></main>
<a id="dl" href="/files/report.txt" download="report.txt">report</a>
<script>
window.open('/popup/', '_blank');
document.getElementById('dl').click();
</script></body></html>"""


@pytest.mark.parametrize("blocker", ["chromium's blocker on", "chromium's blocker off"])
def test_popups_and_downloads_are_refused(site, blocker):
    """Chromium blocks a pop-up opened without a click itself; with its blocker off, the pop-up
    opens and is closed before it loads anything."""
    site.pages["/pushy/"] = Page(POPUP_PAGE)
    site.pages["/popup/"] = Page("<html><body>popup</body></html>")
    site.pages["/files/report.txt"] = Page("a report", content_type="text/plain",
                                           headers={"Content-Disposition": "attachment"})
    extra = ("--disable-popup-blocking",) if blocker.endswith("off") else ()
    html, refusals = render_once(site.url("/pushy/"), ["127.0.0.1/32"], extra_args=extra)
    assert "Text that stays." in html
    assert site.requests_for("/popup/") == []
    if extra:
        assert refusals.popups == 1
    assert refusals.downloads == 1


def test_file_urls_and_posts_are_not_loaded(site):
    site.pages["/reach/"] = Page("""<!doctype html><html><body><main><p>Reach.</p></main>
<iframe src="file:///etc/passwd"></iframe>
<script>fetch('/api/submit', {method: 'POST', body: 'x'}).catch(() => 0);</script>
</body></html>""")
    html, refusals = render_once(site.url("/reach/"), ["127.0.0.1/32"])
    assert "root:" not in html
    assert site.requests_for("/api/submit") == []
    assert any("POST" in r for r in refusals.requests)


# --- empty shells and a missing Chromium -----------------------------------------------------

def test_empty_shell_is_recognised_and_a_page_of_text_is_not():
    assert empty_shell(SHELL.format(title="x")) is not None
    assert "div#root" in (empty_shell(SHELL.format(title="x")) or "")
    prose = "<p>" + "word " * 200 + "</p>"
    assert empty_shell(f"<html><body><div id=root>{prose}</div>"
                       f"<script src=/a.js></script></body></html>") is None
    assert empty_shell("<html><body><div id=root></div></body></html>") is None  # no script


def test_render_auto_uses_the_browser_only_for_an_empty_shell(tmp_path, site):
    js_site(site)
    config = load(tmp_path, f"""sources:
  - id: js
    url: {site.url('/news/')}
    kind: page
    render: auto
""")
    (_, outcome), = poll_with(config)
    assert outcome.ok and outcome.new_documents == 2


def test_missing_chromium_fails_only_the_sources_that_need_it(tmp_path, site, monkeypatch,
                                                              caplog, capsys):
    js_site(site)
    site.pages["/plain/"] = Page("<html><body><main>"
                                 + "".join(f'<article><h2><a href="/news/{s}/">{t}</a></h2>'
                                           f'</article>' for s, t, _, _ in ARTICLES)
                                 + "</main></body></html>")
    monkeypatch.setattr(browser_mod, "CHROMIUM_PATHS", ("/nonexistent/chromium",))
    config = load(tmp_path, f"""sources:
  - id: js
    url: {site.url('/news/')}
    kind: page
    render: browser
  - id: plain
    url: {site.url('/plain/')}
    kind: page
""")
    results = dict((s.id, o) for s, o in poll_with(config))
    assert not results["js"].ok and results["js"].error_kind == "browser_missing"
    assert "apt-get install chromium" in (results["js"].error or "")
    assert results["plain"].ok
    # said once at start, naming the sources that need it
    said = [r.getMessage() for r in caplog.records
            if "Chromium is not installed" in r.getMessage() and r.levelname == "ERROR"]
    assert len(said) == 1 and said[0].endswith("these sources fail until it is: js")

    from collector.cli import main

    assert main(["--config", str(config.path), "check"]) == 0
    out = capsys.readouterr().out
    assert "warning: Chromium is not installed" in out and "apt-get install chromium" in out


def test_check_names_an_empty_shell_and_suggests_the_browser(tmp_path, site, capsys):
    from collector.cli import main

    js_site(site)
    # read as a listing page, the shell offers nothing; the note says why and what to do
    assert main(["check", "--url", site.url("/news/"), "--allow-private"]) == 1
    out = capsys.readouterr().out
    assert "no items found" in out
    assert "empty shell" in out and "set `render: browser`" in out


# --- shutdown --------------------------------------------------------------------------------

def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_sigterm_while_a_page_hangs_the_browser_stops_the_service_within_8_s(tmp_path, site):
    """`collector run` is told to stop while Chromium spins in a page's script: the poll is
    cancelled after the shutdown grace, the browser's process group is killed, and the
    service exits, all within 8 s."""
    site.pages["/hang/"] = Page("<!doctype html><html><body><div id=root></div>"
                                "<script src='/spin.js'></script></body></html>")
    site.pages["/spin.js"] = Page("while (true) {}", content_type="application/javascript")
    write_config(tmp_path, f"""sources:
  - id: hang
    url: {site.url('/hang/')}
    kind: page
    render: browser
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env["TMPDIR"] = str(tmp_path)       # the browser's profile lands here: its processes
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "run", "--no-http"],
                                cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while not site.requests_for("/spin.js"):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the page never reached the browser"
            time.sleep(0.05)
        assert _processes_mentioning(str(tmp_path))     # Chromium is running the page
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text()
    assert took < 8.0, f"stopping took {took:.1f} s"
    assert _processes_mentioning(str(tmp_path)) == []


def test_a_pages_scripts_and_data_are_not_spaced_by_the_hosts_delay(site):
    """A browser loads a page's assets together: they share the host's concurrency limit but
    do not each wait out its spacing (here 60 s, longer than the page's bound)."""
    js_site(site)

    async def main():  # type: ignore[no-untyped-def]
        async with Fetcher(per_host_delay_s=60.0) as fetcher:
            b = Browser(fetcher, page_timeout_s=PAGE_TIMEOUT_S * 3)
            policy = FetchPolicy(allow_private=True, robots=False, expected="page")
            try:
                page = await fetcher.fetch(site.url("/news/"), policy=policy)
                return await b.render(page, policy)
            finally:
                await b.aclose()

    rendered = asyncio.run(main())
    assert b"Dockers strike continues" in rendered.content


def test_images_service_workers_and_permissions_are_refused(site):
    site.pages["/rich/"] = Page("""<!doctype html><html><head><title>Rich</title>
<link rel="preload" href="/fonts/face.woff2" as="font" crossorigin>
<style>@font-face { font-family: F; src: url(/fonts/face.woff2); } p { font-family: F; }</style>
</head><body><main><p>Plain words.</p><img src="/img/photo.png" alt="">
<video src="/media/clip.mp4" autoplay muted></video>
<div id="sw">none</div><div id="perm">none</div></main>
<script>
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js')
    .then(r => document.getElementById('sw').textContent = String(r))
    .catch(() => document.getElementById('sw').textContent = 'refused');
} else { document.getElementById('sw').textContent = 'refused'; }
Notification.requestPermission().then(p => document.getElementById('perm').textContent = p);
</script></body></html>""")
    for path, ctype in (("/img/photo.png", "image/png"), ("/media/clip.mp4", "video/mp4"),
                        ("/fonts/face.woff2", "font/woff2"),
                        ("/sw.js", "application/javascript")):
        site.pages[path] = Page("x", content_type=ctype)
    html, refusals = render_once(site.url("/rich/"), ["127.0.0.1/32"])
    for path in ("/img/photo.png", "/media/clip.mp4", "/fonts/face.woff2", "/sw.js"):
        assert site.requests_for(path) == [], path
    # the registration never happens: no worker script is fetched, no registration is made
    assert "ServiceWorkerRegistration" not in html
    assert '<div id="perm">granted</div>' not in html
    assert any("image not loaded" in r for r in refusals.requests)


SIDE_DOORS = """<!doctype html><html><head>
<link rel="preconnect" href="http://{host}:{tcp}"><link rel="prefetch" href="http://{host}:{tcp}/pf">
</head><body><main><p>Side doors.</p></main>
<a href="http://{host}:{tcp}/x" ping="http://{host}:{tcp}/ping">link</a>
<script>
try {{
  const pc = new RTCPeerConnection({{iceServers: [{{urls: 'stun:{host}:{udp}'}}]}});
  pc.createDataChannel('x'); pc.createOffer().then(o => pc.setLocalDescription(o));
}} catch (e) {{}}
try {{ navigator.sendBeacon('http://{host}:{tcp}/beacon', 'x'); }} catch (e) {{}}
try {{ new EventSource('http://{host}:{tcp}/events'); }} catch (e) {{}}
try {{ new Image().src = 'http://{host}:{tcp}/pixel.gif'; }} catch (e) {{}}
</script></body></html>"""


def test_side_doors_of_a_page_reach_no_disallowed_address(site):
    """Hints and side channels (preconnect, prefetch, pings, beacons, EventSource, an image
    made by script, a WebRTC STUN query) open nothing to an address the policy refuses: the
    internal host, a TCP and a UDP socket on 127.0.0.2, sees no connection and no packet."""
    tcp = socket.socket()
    tcp.bind(("127.0.0.2", 0))
    tcp.listen(16)
    tcp.settimeout(0.0)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.2", 0))
    udp.settimeout(0.0)
    try:
        site.pages["/doors/"] = Page(SIDE_DOORS.format(host="127.0.0.2",
                                                       tcp=tcp.getsockname()[1],
                                                       udp=udp.getsockname()[1]))
        html, refusals = render_once(site.url("/doors/"), ["127.0.0.1/32"])
        assert "Side doors." in html
        # anything sent would be queued on these sockets by now: the browser is gone
        with pytest.raises(BlockingIOError):
            tcp.accept()
        with pytest.raises(BlockingIOError):
            udp.recvfrom(2048)
        assert any("/events" in r for r in refusals.requests)
    finally:
        tcp.close()
        udp.close()


def test_render_auto_leaves_a_page_of_text_to_the_plain_fetch(tmp_path, site, caplog):
    site.pages["/plain/"] = Page("<html><body><main>" + "".join(
        f'<article><h2><a href="/news/{slug}/">{title}</a></h2><p>{" ".join(paras)}</p>'
        f'</article>' for slug, title, _, paras in ARTICLES) + "</main></body></html>")
    for slug, title, _, paras in ARTICLES:
        site.pages[f"/news/{slug}/"] = Page(
            f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            + "".join(f"<p>{p}</p>" for p in paras) + "</article></body></html>")
    config = load(tmp_path, f"""sources:
  - id: plain
    url: {site.url('/plain/')}
    kind: page
    render: auto
""")
    caplog.set_level("INFO", logger="collector.browser")
    (_, outcome), = poll_with(config)
    assert outcome.ok and outcome.new_documents == 2
    assert not [r for r in caplog.records if r.name == "collector.browser"]


def test_check_of_a_browser_source_shows_the_rendered_listing_and_first_document(
        tmp_path, site, capsys):
    from collector.cli import main

    js_site(site)
    load(tmp_path, f"""sources:
  - id: js
    url: {site.url('/news/')}
    kind: page
    render: browser
""")
    assert main(["--config", str(tmp_path / "sources.yaml"), "check", "--source", "js"]) == 0
    out = capsys.readouterr().out
    assert "rendered:" in out and "Chromium" in out
    assert "Dockers strike continues" in out and "Rent freeze now" in out
    assert ARTICLES[1][3][0] in out or ARTICLES[0][3][0] in out
