"""Pages per second and peak memory: browser fetches against plain fetches of the same pages.

Usage: .venv/bin/python bench/browser.py [--pages N] [--concurrency C] [--rounds R]

Serves N article pages on loopback (each a server-rendered article of ~400 words that also
loads one small script, one style sheet and one image, like a typical CMS page), then fetches
all of them R times:

- plain: `collector.fetch.Fetcher.fetch` (what every `render: plain` source does);
- browser: the same fetch followed by `collector.browser.Browser.render` (what `render:
  browser` does): Chromium loads the page, its script and style sheet through collector's
  fetcher, the image is refused, and the DOM is read back.

C pages are in flight at once in both cases (the browser's page cap is set to C). The browser
is started before timing (its start-up, about a second, is paid once per process). Peak memory
is sampled every 250 ms: the resident memory of this process, plus, for the browser, that of
Chromium's whole process group.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.browser import Browser, find_chromium, group_rss
from collector.fetch import Fetcher, FetchPolicy
from tests.webserver import Page, SiteServer

SENTENCE = ("the union said members would meet on thursday to decide on the strike and on "
            "the demands for a shorter week full crews and the reinstatement of the stewards")
WORDS = SENTENCE.split(" ")
#: How often memory is sampled (a scan of /proc: more often costs the run itself CPU).
SAMPLE_S = 0.25


def article(i: int) -> str:
    paragraphs = "".join(
        "<p>" + " ".join(WORDS[(i + j + k) % len(WORDS)] for k in range(40)) + ".</p>"
        for j in range(10))
    return f"""<!doctype html><html lang="en"><head><title>Statement {i}</title>
<link rel="stylesheet" href="/static/site.css"><script defer src="/static/site.js"></script>
</head><body><header><nav><a href="/">Home</a> <a href="/news/">News</a></nav></header>
<main><article><h1>Statement {i}</h1><time datetime="2026-03-01">1 March 2026</time>
<img src="/img/{i}.jpg" alt="">{paragraphs}</article></main>
<footer>© Harbour Union</footer></body></html>"""


def self_rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def sample_peak(stop: asyncio.Event, browser: Browser | None, peak: list[int]) -> None:
    while not stop.is_set():
        total = self_rss()
        if browser is not None and browser.pid is not None:
            total += await asyncio.to_thread(group_rss, browser.pid)
        peak[0] = max(peak[0], total)
        await asyncio.sleep(SAMPLE_S)


async def run(urls: list[str], concurrency: int, rounds: int, use_browser: bool
              ) -> tuple[float, int, int]:
    """(seconds, pages done, peak resident bytes)."""
    policy = FetchPolicy(allow_private=True, robots=False, expected="page")
    async with Fetcher(per_host_delay_s=0, per_host_concurrency=concurrency) as fetcher:
        browser = Browser(fetcher, max_pages=concurrency) if use_browser else None
        try:
            if browser is not None:      # start Chromium outside the timed part
                await browser.render(await fetcher.fetch(urls[0], policy=policy), policy)
            sem = asyncio.Semaphore(concurrency)
            done = 0

            async def one(url: str) -> None:
                nonlocal done
                async with sem:
                    page = await fetcher.fetch(url, policy=policy)
                    if browser is not None:
                        page = await browser.render(page, policy)
                    assert b"Statement" in page.content
                    done += 1

            stop = asyncio.Event()
            peak = [0]
            sampler = asyncio.create_task(sample_peak(stop, browser, peak))
            started = time.perf_counter()
            for _ in range(rounds):
                await asyncio.gather(*(one(u) for u in urls))
            took = time.perf_counter() - started
            stop.set()
            await sampler
            return took, done, peak[0]
        finally:
            if browser is not None:
                await browser.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if find_chromium() is None:
        print("Chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    site = SiteServer().start()
    try:
        site.pages["/static/site.css"] = Page("body{font-family:serif} main{max-width:40em}",
                                              content_type="text/css")
        site.pages["/static/site.js"] = Page(
            "document.querySelectorAll('p').forEach(p => p.dataset.read = '1');",
            content_type="application/javascript")
        urls = []
        for i in range(args.pages):
            site.pages[f"/news/{i}/"] = Page(article(i))
            urls.append(site.url(f"/news/{i}/"))
        results = {}
        for name, use_browser in (("plain", False), ("browser", True)):
            took, done, peak = asyncio.run(run(urls, args.concurrency, args.rounds,
                                               use_browser))
            results[name] = (done / took, peak)
            print(f"{name:8} {done} pages in {took:.2f} s: {done / took:7.1f} pages/s, "
                  f"peak memory {peak / 2**20:6.0f} MiB")
        (p_rate, p_peak), (b_rate, b_peak) = results["plain"], results["browser"]
        print(f"browser / plain: {b_rate / p_rate:.3f}× the pages per second "
              f"({p_rate / b_rate:.0f}× slower), {b_peak / p_peak:.1f}× the peak memory")
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
