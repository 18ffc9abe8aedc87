"""Shared fixtures: a loopback web server, a data directory with a config, the shared data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.badserver import badserver  # noqa: F401
from tests.smtpd import make_smtp_server, smtp_certificate, smtp_server  # noqa: F401
from tests.webserver import SiteServer, serve

pytest_plugins = ("tests.pg",)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture
def site() -> Iterator[SiteServer]:
    yield from serve()


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the repository")
    return SHARED
