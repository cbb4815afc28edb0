"""Minimums' maximum cover and planning-health flags

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

- ``global_planning_settings.max_minimum_cover_days`` (NULL → 365, CHECK ≥ 1) and
  ``minimum_cover_policy`` (NULL → 'defer', CHECK 'defer' | 'raise'): how much cover raising a
  need to the fabric/elastic minimums may create, and what happens beyond it.
- ``planning_health`` gets the article's cover check: ``minimum_exceeds_max_cover``,
  ``minimum_cover_policy``, ``max_minimum_cover_days``, ``minimum_cover_days`` and
  ``quantity_with_minimums``. The consumer view ``planning_health_latest`` is recreated with
  the same definition so that it shows them (``SELECT *`` is expanded when a view is created);
  ``CREATE OR REPLACE`` keeps the reader role's grant.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"


def upgrade() -> None:
    op.add_column("global_planning_settings",
                  sa.Column("max_minimum_cover_days", sa.Integer(), nullable=True), schema=SCHEMA)
    op.add_column("global_planning_settings",
                  sa.Column("minimum_cover_policy", sa.Text(), nullable=True), schema=SCHEMA)
    op.create_check_constraint(
        "ck_global_planning_settings_max_minimum_cover_days", "global_planning_settings",
        "max_minimum_cover_days >= 1", schema=SCHEMA)
    op.create_check_constraint(
        "ck_global_planning_settings_minimum_cover_policy", "global_planning_settings",
        "minimum_cover_policy IN ('defer', 'raise')", schema=SCHEMA)
    for column in (
        sa.Column("minimum_exceeds_max_cover", sa.Boolean(), nullable=False,
                  server_default=sa.false()),
        sa.Column("minimum_cover_policy", sa.Text(), nullable=True),
        sa.Column("max_minimum_cover_days", sa.Integer(), nullable=True),
        sa.Column("minimum_cover_days", sa.Float(), nullable=True),
        sa.Column("quantity_with_minimums", sa.Integer(), nullable=True),
    ):
        op.add_column("planning_health", column, schema=SCHEMA)
    op.execute(f"""
        CREATE OR REPLACE VIEW {SCHEMA}.planning_health_latest AS
        SELECT * FROM {SCHEMA}.planning_health
        WHERE run_id = (SELECT run_id FROM {SCHEMA}.planning_health
                        ORDER BY computed_at DESC, run_id DESC LIMIT 1)
    """)


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
