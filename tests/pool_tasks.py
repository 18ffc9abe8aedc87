"""Tasks for the parse-pool tests that report when they start (and hang or wait on cue).

They run inside real parse workers, which import them by module path; this module imports
only the standard library, so a fresh worker loads it in a few milliseconds and a short
deadline measures the task, not the import.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


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
