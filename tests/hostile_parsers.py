"""Parses that overrun on cue, and tasks that report when they start, for the parse-pool tests.

They run inside real parse workers, which import them by module path, so this module keeps to
the standard library and the parsers (a parse worker refuses OpenSSL, which httpx and the
test helpers would pull in).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from collector.discover.feed import parse_feed
from collector.extract import extract

#: A feed or page holding this overruns any deadline the tests set.
HANG_MARK = b"<!-- hang the parser -->"
#: Environment variable naming a file to which each hanging parse appends a line as it starts.
LOG_ENV = "COLLECTOR_TEST_PARSE_LOG"


def note(log: str, name: str) -> None:
    """Append `name` to the file `log` (one line; appends of a line are atomic)."""
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(name + "\n")


def started(log: str | Path) -> list[str]:
    """The names noted so far, in order."""
    try:
        return Path(log).read_text(encoding="utf-8").split()
    except FileNotFoundError:
        return []


def record(log: str, name: str) -> str:
    """A quick parse that notes that it ran."""
    note(log, name)
    return name


def hang(log: str, name: str) -> None:
    """A parse that notes its start, then runs far past any deadline."""
    note(log, name)
    time.sleep(3600)


def hold(log: str, name: str, gate: str) -> str:
    """A parse that notes its start and runs until the file `gate` exists (bounded: an hour)."""
    note(log, name)
    for _ in range(360_000):
        if os.path.exists(gate):
            return name
        time.sleep(0.01)
    return name


def _hang_if_marked(data: bytes | str, what: str) -> None:
    mark = HANG_MARK if isinstance(data, bytes) else HANG_MARK.decode()
    if mark in data:  # type: ignore[operator]
        log = os.environ.get(LOG_ENV)
        if log:
            note(log, what)
        time.sleep(3600)


def hanging_parse_feed(body: bytes, url: str, **kwargs: Any) -> Any:
    """`parse_feed`, except that a marked feed overruns."""
    _hang_if_marked(body, f"feed:{url}")
    return parse_feed(body, url, **kwargs)


def hanging_extract(html: bytes | str, **kwargs: Any) -> Any:
    """`extract`, except that a marked page overruns."""
    _hang_if_marked(html, f"page:{kwargs.get('url')}")
    return extract(html, **kwargs)
