"""The feed parser of bench/starvation.py: `parse_feed`, except that feeds of the hosts named
in COLLECTOR_BENCH_HOSTILE overrun every deadline.

It runs inside the parse workers, which import it by module path, so it keeps to the standard
library and the feed parser (a parse worker refuses OpenSSL).
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit

from collector.discover.feed import parse_feed

#: Comma-separated host addresses whose feeds hang the parser.
HOSTILE_ENV = "COLLECTOR_BENCH_HOSTILE"


def hostile_parse_feed(body: bytes, url: str, **kwargs: Any) -> Any:
    if urlsplit(url).hostname in os.environ.get(HOSTILE_ENV, "").split(","):
        time.sleep(3600)  # far past any deadline: the worker is killed at the deadline
    return parse_feed(body, url, **kwargs)
