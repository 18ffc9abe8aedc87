"""A task whose module takes IMPORT_S seconds to import in a parse worker (a worker is a
`python -c` interpreter): what a slow start-up on a loaded host looks like to the first parse,
made certain. In the test process itself the import is immediate."""

from __future__ import annotations

import sys
import time

#: Longer than the deadline tests/test_isolate_start.py gives the task.
IMPORT_S = 1.5

if sys.argv[:1] == ["-c"]:
    time.sleep(IMPORT_S)


def echo(value: object) -> object:
    return value
