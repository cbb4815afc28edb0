"""The marketplace clients' tests share one sandbox per module (a module may override
``sandbox``, e.g. for another page size) and start each test with no faults and empty stats."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from supplybrain_pipelines.sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sb(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The module's sandbox with no faults and empty stats."""
    sandbox.faults.reset()
    sandbox.reset_stats()
    yield sandbox
    sandbox.faults.reset()
