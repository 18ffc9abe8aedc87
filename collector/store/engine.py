"""The database engine: SQLite's pragmas and write locking, and the migration head."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

#: SQLite waits this long for a lock before "database is locked" (RELIABILITY row 43).
SQLITE_BUSY_TIMEOUT_MS = 10_000
#: Page cache of one SQLite connection, KiB (SQLite's default is 2,000)
SQLITE_CACHE_KIB = 512

_MIGRATIONS = Path(__file__).parent / "migrations" / "versions"
_REVISION_RE = re.compile(r"^(down_revision|revision)\s*=\s*(None|['\"]([^'\"]+)['\"])",
                          re.MULTILINE)


def head_revision(versions: Path = _MIGRATIONS) -> str | None:
    """The head revision id of the migration scripts, read from their text (no alembic
    import); None if it cannot be told (no scripts, several heads): then alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("*.py"):
        found = dict((m.group(1), m.group(3)) for m in _REVISION_RE.finditer(
            script.read_text(encoding="utf-8")))
        if found.get("revision"):
            revisions.add(found["revision"])
            if found.get("down_revision"):
                parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                  "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling is turned off so that BEGIN IMMEDIATE below
            # takes the write lock at the start of a write transaction, not halfway through it.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            # each pooled connection keeps its own page cache (SQLite's default: 2 MB); with a
            # connection per thread of the to_thread pool, a large store's caches filled to
            # most of that apiece in a poll of 5,000 sources; the OS page cache holds the file
            # anyway (docs/benchmarks-poll.md, Profile)
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Readers take no lock (WAL gives them a snapshot); writers take the write lock at
            # once, so two writers queue on busy_timeout instead of failing mid-transaction.
            read = conn.get_execution_options().get("collector_read", False)
            conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
