"""Planning evidence (issue 16): forecast accuracy and the policy backtest.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04

- ``forecast_accuracy``: rolling-origin WAPE and bias of the demand rate and two baselines, per
  SKU unit, article, demand class and catalogue, per run.
- ``policy_backtest``: the reorder-point / order-up-to policy replayed on the demand that
  occurred (fill rate, cycle service level, stock-outs, orders), per SKU unit, article and
  catalogue, per run.
- The consumer views ``forecast_accuracy_latest`` and ``policy_backtest_latest`` (the newest
  run's rows, as ``planning_proposals_latest``), readable by the reader role
  ``supplybrain_reader`` (migration 0005).

Column descriptions are written by ``supplybrain db upgrade`` from ``db/tables/evidence.py`` and
``db/views.py`` after the revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"
READER_ROLE = "supplybrain_reader"
LATEST_VIEWS = {
    "forecast_accuracy_latest": "forecast_accuracy",
    "policy_backtest_latest": "policy_backtest",
}


def _run_columns() -> list[sa.Column]:
    return [sa.Column("run_id", sa.Text(), nullable=False),
            sa.Column("as_of", sa.Date(), nullable=False),
            sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False,
                      server_default=sa.text("now()"))]


def _key_columns() -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), nullable=True)
            for name in ("sku_unit_id", "article_id", "color_id", "size_id")]


def _scores(prefix: str) -> list[sa.Column]:
    return [sa.Column(f"{prefix}forecast_units", sa.Float(), nullable=False),
            sa.Column(f"{prefix}wape", sa.Float(), nullable=True),
            sa.Column(f"{prefix}bias_pct", sa.Float(), nullable=True)]


def upgrade() -> None:
    op.create_table(
        "forecast_accuracy",
        *_run_columns(),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("horizon", sa.Text(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=True),
        *_key_columns(),
        sa.Column("demand_class", sa.Text(), nullable=True),
        sa.Column("origins", sa.Integer(), nullable=False),
        sa.Column("actual_units", sa.Float(), nullable=False),
        *_scores(""), *_scores("mean30_"), *_scores("last7_"),
        sa.CheckConstraint("level IN ('sku_unit', 'article', 'demand_class', 'catalogue')",
                           name=op.f("ck_forecast_accuracy_level")),
        sa.CheckConstraint("horizon IN ('fixed', 'lead_time')",
                           name=op.f("ck_forecast_accuracy_horizon")),
        schema=SCHEMA,
    )
    op.create_table(
        "policy_backtest",
        *_run_columns(),
        sa.Column("level", sa.Text(), nullable=False),
        *_key_columns(),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=True),
        sa.Column("target_coverage_days", sa.Integer(), nullable=True),
        sa.Column("target_service_level", sa.Float(), nullable=True),
        sa.Column("pack_multiple", sa.Integer(), nullable=True),
        sa.Column("start_stock", sa.Float(), nullable=False),
        sa.Column("start_stock_day", sa.Date(), nullable=True),
        sa.Column("units_demanded", sa.Float(), nullable=False),
        sa.Column("units_served", sa.Float(), nullable=False),
        sa.Column("fill_rate", sa.Float(), nullable=True),
        sa.Column("stockout_days", sa.Integer(), nullable=False),
        sa.Column("sku_units_with_stockout", sa.Integer(), nullable=False),
        sa.Column("average_on_hand", sa.Float(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("units_ordered", sa.Integer(), nullable=False),
        sa.Column("average_order_units", sa.Float(), nullable=True),
        sa.Column("cycles", sa.Integer(), nullable=False),
        sa.Column("cycles_stocked_out", sa.Integer(), nullable=False),
        sa.Column("cycle_service_level", sa.Float(), nullable=True),
        sa.CheckConstraint("level IN ('sku_unit', 'article', 'catalogue')",
                           name=op.f("ck_policy_backtest_level")),
        schema=SCHEMA,
    )
    for table in LATEST_VIEWS.values():
        op.create_index(f"ix_{table}_run_id", table, ["run_id"], schema=SCHEMA)
        op.create_index(f"ix_{table}_computed_at", table, ["computed_at"], schema=SCHEMA)
    for view, table in LATEST_VIEWS.items():
        op.execute(f"""
            CREATE VIEW {SCHEMA}.{view} AS
            SELECT * FROM {SCHEMA}.{table}
            WHERE run_id = (SELECT run_id FROM {SCHEMA}.{table}
                            ORDER BY computed_at DESC, run_id DESC LIMIT 1)
        """)
        op.execute(f"GRANT SELECT ON {SCHEMA}.{view} TO {READER_ROLE}")


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
