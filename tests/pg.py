"""The PostgreSQL lane of the test suite: a fresh database per test on a real server.

The suite runs on SQLite by default. With COLLECTOR_TEST_DATABASE_URL set to a PostgreSQL
server URL (`eval "$(.ci/postgres.sh start)"` gives one), every test that writes a config
through `tests.helpers.write_config` gets its own new database on that server (created on first
use, dropped with `WITH (FORCE)` when the test ends), so the same tests exercise both databases.

Loaded as a pytest plugin (`pytest_plugins` in tests/conftest.py), this module provides:
- the autouse fixture `pg_databases`, which gives each test its own set of databases;
- `database_url_for(directory)`: the URL a config in `directory` should use (None: SQLite);
- fixtures `database_url` (SQLite file or fresh PostgreSQL database, by lane) and `pg_url`
  (a fresh PostgreSQL database; the test is skipped without a server);
- markers `postgres` (skipped on the SQLite lane) and `sqlite_only` (a test about SQLite
  itself keeps SQLite on the PostgreSQL lane too).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: The server of the PostgreSQL lane (any database on it; tests create their own).
SERVER_URL = os.environ.get("COLLECTOR_TEST_DATABASE_URL") or None

NO_SERVER = ("needs PostgreSQL: set COLLECTOR_TEST_DATABASE_URL to a server URL "
             "(eval \"$(.ci/postgres.sh start)\" starts a throwaway one)")

requires_postgres = pytest.mark.skipif(SERVER_URL is None, reason=NO_SERVER)


class PgServer:
    """Creates and drops throwaway databases on one PostgreSQL server."""

    def __init__(self, url: str):
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        if self.url.get_backend_name() != "postgresql":
            raise pytest.UsageError(f"COLLECTOR_TEST_DATABASE_URL is not PostgreSQL: {url}")
        # SQLAlchemy names the driver (postgresql+psycopg://); libpq wants plain postgresql://
        self._admin_dsn = (self.url.set(drivername="postgresql")
                           .render_as_string(hide_password=False))

    def _execute(self, sql: str) -> None:
        import psycopg

        try:
            with psycopg.connect(self._admin_dsn, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql)  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:
            raise RuntimeError(f"PostgreSQL at {self.url.render_as_string()} refused "
                               f"{sql.split()[0]} {sql.split()[1]}: {exc}") from exc

    def create(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"collector_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        self._execute(f'CREATE DATABASE "{name}"')
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a database made by `create`, ending any connection a test left open."""
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _TestDatabases:
    """The databases of one test: one per data directory, made on first use."""

    def __init__(self, server: PgServer):
        self.server = server
        self.by_dir: dict[Path, str] = {}
        self.connections: list[Any] = []

    def url_for(self, directory: Path) -> str:
        key = Path(directory).resolve()
        if key not in self.by_dir:
            self.by_dir[key] = self.server.create()
        return self.by_dir[key]

    def drop_all(self) -> None:
        # Tests may drop a Store without closing it; its connections are closed here, before
        # the database goes, so psycopg never has to warn about an open one being collected.
        for conn in self.connections:
            with contextlib.suppress(Exception):
                conn.close()
        self.connections.clear()
        for url in self.by_dir.values():
            self.server.drop(url)
        self.by_dir.clear()


_server: PgServer | None = None
_active: _TestDatabases | None = None


def server() -> PgServer:
    global _server
    if SERVER_URL is None:
        pytest.skip(NO_SERVER)
    if _server is None:
        _server = PgServer(SERVER_URL)
    return _server


def database_url_for(directory: Path) -> str | None:
    """The database URL a test's config written in `directory` should name.

    None on the SQLite lane (the config's default, a file in its data directory), and outside a
    test. On the PostgreSQL lane: a fresh database, the same one for the same directory within
    one test (as the SQLite file would be).
    """
    if _active is None:
        return None
    return _active.url_for(directory)


def _track_connection(dbapi_connection: Any, _record: Any) -> None:
    """Keep every PostgreSQL connection a test opens, to close it when the test ends."""
    if _active is not None and type(dbapi_connection).__module__.startswith("psycopg"):
        _active.connections.append(dbapi_connection)


def pytest_configure(config: pytest.Config) -> None:
    if SERVER_URL is not None:
        from sqlalchemy import event
        from sqlalchemy.pool import Pool

        event.listen(Pool, "connect", _track_connection)
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (skipped without "
                                       "COLLECTOR_TEST_DATABASE_URL)")
    config.addinivalue_line("markers", "sqlite_only: about SQLite itself; keeps SQLite on the "
                                       "PostgreSQL lane")


def pytest_report_header(config: pytest.Config) -> str:
    if SERVER_URL is None:
        return "database lane: SQLite"
    from sqlalchemy.engine import make_url

    return f"database lane: PostgreSQL at {make_url(SERVER_URL).render_as_string()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SERVER_URL is not None:
        return
    skip = pytest.mark.skip(reason=NO_SERVER)
    for item in items:
        if item.get_closest_marker("postgres") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def pg_databases(request: pytest.FixtureRequest) -> Iterator[None]:
    """On the PostgreSQL lane, give this test its own databases and drop them afterwards."""
    global _active
    if SERVER_URL is None or request.node.get_closest_marker("sqlite_only") is not None:
        yield
        return
    _active = _TestDatabases(server())
    try:
        yield
    finally:
        active, _active = _active, None
        active.drop_all()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A store URL for this test: a SQLite file, or a fresh PostgreSQL database on that lane."""
    url = database_url_for(tmp_path)
    return url or f"sqlite:///{tmp_path / 'data' / 'collector.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database, whatever the lane; skipped when there is no server."""
    srv = server()
    url = srv.create()
    try:
        yield url
    finally:
        srv.drop(url)
