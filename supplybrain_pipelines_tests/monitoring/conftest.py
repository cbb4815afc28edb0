"""Fixtures shared with the planning tests: sandbox data ingested into a migrated database."""

from supplybrain_pipelines_tests.assets.test_planning_e2e import ingested_db  # noqa: F401
