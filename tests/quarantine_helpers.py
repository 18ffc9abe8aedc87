"""Listing parsers that misbehave on cue, for the quarantine tests.

They run inside a real parse worker, which imports them by module path, so this module keeps
to the standard library and the feed parser (a parse worker refuses OpenSSL, which httpx and
the test helpers would pull in).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from collector.discover.feed import parse_feed
from collector.errors import ExtractError

#: A feed body holding this kills the worker as a segfault in a native parser would.
CRASH_MARK = b"<!-- crash the parser -->"
#: A feed body holding this makes the parse run far past any deadline the tests set.
SLOW_MARK = b"<!-- parse for ever -->"


def _segfault() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file left behind
    except (ImportError, ValueError, OSError):
        pass
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(60)  # not reached: the signal ends the process


def misbehaving_parse_feed(body: bytes, url: str, **kwargs: Any) -> Any:
    """`parse_feed`, except that a marked body crashes the worker or overruns the deadline."""
    if CRASH_MARK in body:
        _segfault()
    if SLOW_MARK in body:
        time.sleep(60)
    return parse_feed(body, url, **kwargs)


def segfault(_: object = None) -> None:
    """Die the way a parser with a memory-safety bug dies."""
    _segfault()


def abort(_: object = None) -> None:
    """Die the way a parser that detects corrupted memory dies (SIGABRT)."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    os.abort()


def sleep(seconds: float) -> None:
    """A parse that takes `seconds`."""
    time.sleep(seconds)


def refuse(_: object = None) -> None:
    """An ordinary parse failure: the parser understood the input and said no."""
    raise ExtractError("the page has no document body")
