"""Fixtures of the check tests: ``sandbox`` and ``seeded_db`` for a module that defines
``business`` (fixtures_sandbox.py)."""

from supplybrain_pipelines_tests.fixtures_sandbox import sandbox, seeded_db  # noqa: F401
