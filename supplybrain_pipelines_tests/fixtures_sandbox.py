"""Fixtures for tests that ingest from a real sandbox into a migrated database. A test module
imports them and defines ``business`` (the generated business it wants)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from supplybrain_pipelines.sandbox.seed import load_master_data, register_accounts
from supplybrain_pipelines.sandbox.server import SandboxServer


@pytest.fixture
def sandbox(business) -> Iterator[SandboxServer]:
    """The module's business served on a free loopback port, 300 records a page."""
    with SandboxServer(business, page_cap=300) as server:
        yield server


@pytest.fixture
def seeded_db(migrated_db_url, business, sandbox):
    """A migrated database with the business's master data and its accounts pointing at the
    sandbox."""
    engine = sa.create_engine(migrated_db_url)
    with engine.begin() as conn:
        load_master_data(conn, business)
        register_accounts(conn, business, sandbox.url)
    engine.dispose()
    return migrated_db_url
