"""Fixtures of the end-to-end tests: one virtual clock and one moto server per session.

The clock is installed before any handler module is imported (see `localrun.clock`).
Each test gets the server reset (no resources, interceptors or recorded calls) and the
clock at `START`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from localrun.clock import VirtualClock, install
from localrun.server import LocalAws

START = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def clock() -> Iterator[VirtualClock]:
    virtual = VirtualClock(START)
    with install(virtual):
        yield virtual


@pytest.fixture(scope="session")
def server(clock: VirtualClock) -> Iterator[LocalAws]:
    with LocalAws() as aws:
        yield aws


@pytest.fixture
def aws(server: LocalAws, clock: VirtualClock) -> LocalAws:
    server.reset()
    clock.move_to(START)
    return server
