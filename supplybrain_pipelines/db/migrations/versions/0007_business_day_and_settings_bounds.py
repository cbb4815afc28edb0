"""Business day and settings bounds

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

- ``orders_daily`` is rebuilt from ``orders`` by business day: a calendar day in the business
  time zone (``SUPPLYBRAIN_BUSINESS_TZ``, default Europe/Moscow), where it was the UTC day.
  One DELETE and one INSERT … SELECT on the server, with the rollup SQL of the ``orders`` asset
  (``db/orders_rollup.py``).
- CHECK constraints on the planning settings that the maths cannot run with: service levels
  strictly between 0 and 100, ``pack_multiple`` ≥ 1, lead times and coverage days ≥ 0 (NULL
  stays allowed where the column is nullable). A constraint that rows already stored break is
  added NOT VALID, so new and changed rows are checked while those rows are kept as they are,
  and a warning names the table, the rows, their values and how to fix and validate.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from supplybrain_pipelines.db.orders_rollup import rebuild_all

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"
log = logging.getLogger("supplybrain_pipelines.db.migrations")

#: (table, constraint name without the ``ck_<table>_`` prefix, column, condition, what is
#: allowed). Mirrored in ``db/tables/planning.py``.
CHECKS = (
    ("global_planning_settings", "service_level_range", "default_service_level_percent",
     "default_service_level_percent > 0 AND default_service_level_percent < 100",
     "strictly between 0 and 100"),
    ("global_planning_settings", "lead_time_non_negative", "default_lead_time_days",
     "default_lead_time_days >= 0", "0 or more"),
    ("global_planning_settings", "coverage_non_negative", "default_target_coverage_days",
     "default_target_coverage_days >= 0", "0 or more"),
    ("article_planning_settings", "service_level_range", "service_level_percent",
     "service_level_percent > 0 AND service_level_percent < 100",
     "strictly between 0 and 100, or empty"),
    ("article_planning_settings", "lead_time_non_negative", "lead_time_days",
     "lead_time_days >= 0", "0 or more, or empty"),
    ("article_planning_settings", "coverage_non_negative", "target_coverage_days",
     "target_coverage_days >= 0", "0 or more, or empty"),
    ("article_planning_settings", "pack_multiple_positive", "pack_multiple",
     "pack_multiple >= 1", "1 or more, or empty"),
)
#: Rows named in one warning; the rest are counted.
LISTED = 20


def _violations(conn: sa.Connection, table: str, column: str, condition: str) -> list:
    # NOT (condition) is NULL, not true, for a NULL value: NULLs pass a CHECK, and are not listed.
    return conn.execute(sa.text(
        f"SELECT id, {column} AS value FROM {SCHEMA}.{table} WHERE NOT ({condition}) "
        "ORDER BY id")).all()


def _warning(table: str, name: str, column: str, allowed: str, rows: list) -> str:
    listed = ", ".join(f"id {r.id} ({column} {r.value})" for r in rows[:LISTED])
    more = f" and {len(rows) - LISTED} more" if len(rows) > LISTED else ""
    return (f"{SCHEMA}.{table}: {len(rows)} row(s) break the new check {name} ({column} must "
            f"be {allowed}): {listed}{more}. They were left unchanged and the constraint was "
            "added NOT VALID, so new and changed rows are checked (an update of such a row "
            f"must fix it). Fix them, e.g. UPDATE {SCHEMA}.{table} SET {column} = <a valid "
            f"value> WHERE id IN (...); then run ALTER TABLE {SCHEMA}.{table} VALIDATE "
            f"CONSTRAINT {name};")


def upgrade() -> None:
    conn = op.get_bind()
    rebuild_all(conn)
    for table, short, column, condition, allowed in CHECKS:
        name = f"ck_{table}_{short}"
        bad = _violations(conn, table, column, condition)
        not_valid = " NOT VALID" if bad else ""
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ADD CONSTRAINT {name} "
                   f"CHECK ({condition}){not_valid}")
        if bad:
            log.warning(_warning(table, name, column, allowed, bad))


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
