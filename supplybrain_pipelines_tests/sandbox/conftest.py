"""Fixtures of the sandbox tests: one generated business per session, and a real sandbox
server on a free loopback port for each test that asks for one (fresh faults, stats and rate
limits every time; starting one takes about 0.1 s)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.model import Business
from supplybrain_pipelines.sandbox.server import SandboxServer

#: A fixed "today", so every run of the suite sees the same business.
AS_OF = date(2026, 5, 15)


@pytest.fixture(scope="session")
def business() -> Business:
    return generate_business(seed=7, as_of=AS_OF)


@pytest.fixture
def sandbox(business: Business) -> Iterator[SandboxServer]:
    with SandboxServer(business) as server:
        yield server


@pytest.fixture
def http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """A client on the sandbox root (closed before the server stops)."""
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        yield client


def wb_headers(business: Business, index: int = 0) -> dict[str, str]:
    return {"Authorization": business.wb_accounts[index].token}


def ms_headers(business: Business) -> dict[str, str]:
    return {"Authorization": f"Bearer {business.moysklad_accounts[0].token}",
            "Accept-Encoding": "gzip"}
