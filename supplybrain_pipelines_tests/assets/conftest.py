"""Fixtures shared by the asset tests (``sandbox`` and ``seeded_db`` for a module that defines
``business``: fixtures_sandbox.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.seed import load_master_data
from supplybrain_pipelines_tests.fixtures_sandbox import sandbox, seeded_db  # noqa: F401


@pytest.fixture
def db(migrated_db_url):
    """A migrated database holding the master data of a small generated business."""
    engine = sa.create_engine(migrated_db_url)
    with engine.begin() as conn:
        load_master_data(conn, generate_business(seed=3, articles=2, days=10))
    engine.dispose()
    return migrated_db_url
