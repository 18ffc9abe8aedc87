"""Re-reading sources.yaml while the service runs (SIGHUP, `systemctl reload`).

A reload reads and validates the file exactly as a start does. A file with problems is refused
as a whole: every problem is logged (with file and line), the web page's sources view shows
them, and the configuration in force stays. A valid file takes effect at once for what the
service decides next: new sources are registered and polled from the next tick, removed ones
are no longer claimed, changed sources, filters and digests apply to the next poll or digest
run. Nothing in flight is dropped: a poll already running finishes with the source as it was
when it started, and its outcome is saved.

`settings:` (data directory, database, address, SMTP …) hold the process's resources and
are read at start only; a reload that changes them says so in the log and keeps the running
ones until the next restart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .config import Config, load_config
from .errors import ConfigError

log = logging.getLogger("collector.reload")


@dataclass(frozen=True)
class Changes:
    """What a new configuration changes, by id."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    digests_changed: bool
    settings_changed: tuple[str, ...]

    def summary(self) -> str:
        parts = [f"{len(self.added)} sources added" + (f" ({', '.join(self.added)})"
                                                       if self.added else ""),
                 f"{len(self.removed)} removed" + (f" ({', '.join(self.removed)})"
                                                   if self.removed else ""),
                 f"{len(self.changed)} changed"]
        if self.digests_changed:
            parts.append("digests changed")
        return ", ".join(parts)


def changes(old: Config, new: Config) -> Changes:
    before = {s.id: s for s in old.sources}
    after = {s.id: s for s in new.sources}
    # `line` records where a source is written, not what it is
    changed = tuple(sorted(i for i in before.keys() & after.keys()
                           if dataclasses.replace(before[i], line=0)
                           != dataclasses.replace(after[i], line=0)))
    settings = tuple(f.name for f in dataclasses.fields(old.settings)
                     if getattr(old.settings, f.name) != getattr(new.settings, f.name))
    strip = [dataclasses.replace(d, line=0) for d in old.digests]
    return Changes(added=tuple(sorted(after.keys() - before.keys())),
                   removed=tuple(sorted(before.keys() - after.keys())), changed=changed,
                   digests_changed=strip != [dataclasses.replace(d, line=0)
                                             for d in new.digests]
                   or (old.include, old.exclude) != (new.include, new.exclude),
                   settings_changed=settings)


class Reloader:
    """Reads the file the service was started with and applies it to the running parts.

    `parts` are the objects holding configuration (worker, pipeline, digest runner, HTTP
    server); each gets the new Config through its `reconfigure(config)` method (or, for the
    server, `accept_config` / `refuse_config`). `sync` registers new sources in the store.
    """

    def __init__(self, config: Config, *, sync: Callable[[Config, datetime], None],
                 clock: Callable[[], datetime], parts: list[Any], server: Any = None):
        self.config = config
        self.sync = sync
        self.clock = clock
        self.parts = parts
        self.server = server
        self._lock = asyncio.Lock()

    async def reload(self) -> bool:
        """Re-read the file; True when the new configuration is in force."""
        async with self._lock:          # two quick SIGHUPs apply one after the other
            old = self.config
            try:
                new = await asyncio.to_thread(load_config, old.path,
                                              data_dir=old.settings.data_dir)
            except ConfigError as exc:
                for problem in exc.problems:
                    log.error("reload refused: %s", problem,
                              extra={"config": str(old.path), "kind": "config"})
                log.error("reload refused: %d problem(s) in %s; the configuration in force "
                          "stays", len(exc.problems), old.path)
                if self.server is not None:
                    self.server.refuse_config(exc.problems)
                return False
            diff = changes(old, new)
            if diff.settings_changed:
                log.warning("reload: settings changed (%s) take effect at the next restart",
                            ", ".join(diff.settings_changed))
                new = dataclasses.replace(new, settings=old.settings)
            await asyncio.to_thread(self.sync, new, self.clock())
            for part in self.parts:
                part.reconfigure(new)
            if self.server is not None:
                self.server.accept_config(new)
            self.config = new
            log.info("reloaded %s: %s", old.path, diff.summary(),
                     extra={"config": str(old.path), "added": list(diff.added),
                            "removed": list(diff.removed), "changed": list(diff.changed)})
            return True
