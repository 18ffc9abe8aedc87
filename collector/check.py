"""`collector check --source ID` / `--url URL`: a dry run of one source, storing nothing.

It shows the method chosen (and, for `auto`, why and what else was tried), the candidates the
listing offers, and the first document exactly as it would be stored, so that a user can write
a source in a minute.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from . import browser, channels
from .config import Config, Settings, Source, source_from_url
from .document import render
from .encoding import decode_html
from .errors import CollectorError, ConfigError
from .fetch import Fetcher, user_agent
from .models import Fetched
from .pipeline import Pipeline, candidates_for, policy_for, utcnow

#: Candidates listed by the dry run.
SHOWN_CANDIDATES = 15


async def dry_run(config: Config | None, *, source_id: str | None, url: str | None,
                  allow_private: bool, out: TextIO) -> int:
    if source_id:
        if config is None:
            raise ConfigError(["--source needs a readable sources.yaml"])
        try:
            source = config.source(source_id)
        except KeyError:
            raise ConfigError([f"{config.path}: no source with id '{source_id}'"]) from None
    else:
        assert url is not None
        source = source_from_url(url, allow_private=allow_private)
    contact = config.settings.contact if config else None
    fetcher = Fetcher(user_agent=user_agent(contact))
    try:
        return await _run(config, source, fetcher, out)
    finally:
        await fetcher.aclose()


async def _run(config: Config | None, source: Source, fetcher: Fetcher, out: TextIO) -> int:
    def say(line: str = "") -> None:
        print(line, file=out)

    say(f"source:  {source.id} ({source.name})")
    say(f"url:     {source.url}")
    kind, url = source.kind, source.url
    settings = config.settings if config else Settings(data_dir=Path("."), database_url="")
    pipeline = Pipeline(Config(path=Path("-"), settings=settings, sources=(source,)),
                        store=None, fetcher=fetcher)  # type: ignore[arg-type]
    try:
        return await _check(source, kind, url, fetcher, pipeline, say, out)
    finally:
        await pipeline.browser.aclose()


async def _check(source: Source, kind: str, url: str, fetcher: Fetcher, pipeline: Pipeline,
                 say: Callable[..., None], out: TextIO) -> int:
    if source.render != "plain" and browser.find_chromium() is None:
        say(f"browser: {browser.missing_message()}")
    try:
        if kind == "auto":
            from .discover import auto

            policy = policy_for(source)

            async def fetch(u: str):  # type: ignore[no-untyped-def]
                return await fetcher.fetch(u, policy=policy)

            found = await auto.discover(source.url, fetch)
            for tried_url, outcome in found.tried:
                say(f"  tried  {tried_url}: {outcome}")
            kind, url = found.kind, found.url
            say(f"method:  {kind} {url}")
            say(f"why:     {found.reason}")
        else:
            say(f"method:  {kind} (as configured)")
        if kind in channels.KINDS:
            cands = await channels.preview(pipeline, source)
        else:
            fetched = await fetcher.fetch(url, policy=policy_for(
                source, expected="feed" if kind in ("feed", "sitemap") else "page"))
            say(f"fetched: HTTP {fetched.status}, {len(fetched.content)} bytes, "
                f"{fetched.content_type or 'no content type'}")
            if kind == "page":
                fetched = await _render(source, fetched, pipeline, say)
            cands = await candidates_for(fetcher, source, kind, fetched, now=utcnow())
    except CollectorError as exc:
        say(f"FAILED:  {exc}")
        return 1
    say(f"candidates: {len(cands)}")
    for c in cands[:SHOWN_CANDIDATES]:
        date = c.published.date().isoformat() if c.published else "no date"
        say(f"  - {date}  {c.title or '(no title)'}")
        say(f"    {c.url or c.key}")
    if len(cands) > SHOWN_CANDIDATES:
        say(f"  … and {len(cands) - SHOWN_CANDIDATES} more")
    if not cands:
        say("no items found: nothing would be collected")
        return 1
    try:
        pieces = await pipeline.extract_item(source, cands[0])
    except CollectorError as exc:
        say(f"first item could not be extracted: {exc}")
        return 1
    for _key, extracted, piece_url in pieces[:3]:
        say()
        published = extracted.published.isoformat() if extracted.published else "unknown"
        flags = f"; flags {','.join(extracted.flags)}" if extracted.flags else ""
        pages = f"{extracted.pages} pages; " if extracted.pages else ""
        say(f"first document ({extracted.method}; {pages}published {published}; "
            f"{extracted.word_count} words{flags})")
        say(f"from {piece_url}")
        for place, how in extracted.locations:
            say(f"also {how} {place}")
        for place in cands[0].alternates:
            say(f"also variant {place}")
        say("-" * 72)
        out.write(render(extracted.title, extracted.blocks))
        say("-" * 72)
    return 0


async def _render(source: Source, fetched: Fetched, pipeline: Pipeline,
                  say: Callable[..., None]) -> Fetched:
    """Say whether the listing page is an empty shell; render it as the source says."""
    if browser.looks_like_html(fetched):
        shell = browser.empty_shell(decode_html(fetched.content,
                                                fetched.headers.get("content-type")))
        if shell is not None and source.render == "plain":
            say(f"note:    the page is {shell}; set `render: browser` on this source")
            if browser.find_chromium() is None:
                say(f"browser: {browser.missing_message()}")
    page = await browser.rendered(pipeline.browser, source.render, fetched,
                                  pipeline.fetch_policy(source))
    if page is not fetched:
        say(f"rendered: {len(page.content)} bytes of DOM after scripts ran (Chromium)")
    return page
