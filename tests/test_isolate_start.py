"""A parse's deadline starts when the worker has taken the task: a worker's start-up (its
interpreter, the import of the task function's module) is not charged to the first parse, so
that on a starved host a fresh worker's first parse does not overrun before it began."""

from __future__ import annotations

import asyncio
import time

import pytest

from collector.errors import ExtractError
from collector.isolate import Isolator
from tests import slow_import_task

DEADLINE_S = 1.0


@pytest.fixture
def isolator():
    iso = Isolator(1, memory_mb=None)
    yield iso
    iso.close()


def test_a_start_up_longer_than_the_deadline_is_not_the_parse(isolator):
    assert slow_import_task.IMPORT_S > DEADLINE_S

    async def scenario():
        began = time.monotonic()
        value = await isolator.run(slow_import_task.echo, "ok", timeout_s=DEADLINE_S)
        return value, time.monotonic() - began

    value, took = asyncio.run(scenario())
    assert value == "ok"
    assert took >= slow_import_task.IMPORT_S  # the start-up did take longer than the deadline


def test_the_deadline_still_holds_once_the_worker_has_taken_the_task(isolator):
    async def scenario():
        with pytest.raises(ExtractError, match="longer than 1 s; worker killed"):
            await isolator.run(time.sleep, 30, timeout_s=DEADLINE_S)
        return await isolator.run(len, "still alive", timeout_s=30)

    assert asyncio.run(scenario()) == len("still alive")
