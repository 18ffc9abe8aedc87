"""Feed and page parsers that overrun on cue, for the parse-pool tests.

They run inside real parse workers, which import them by module path, so this module keeps to
the standard library and the parsers (a parse worker refuses OpenSSL, which httpx and the
test helpers would pull in).
"""

from __future__ import annotations

import os
import time
from typing import Any

from collector.discover.feed import parse_feed
from collector.extract import extract
from tests.pool_tasks import note

#: A feed or page holding this overruns any deadline the tests set.
HANG_MARK = b"<!-- hang the parser -->"
#: Environment variable naming a file to which each hanging parse appends a line as it starts.
LOG_ENV = "COLLECTOR_TEST_PARSE_LOG"


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
