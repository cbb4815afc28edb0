"""Demand over one in-stock mask: new day bases, ``counted_from``, ``demand_unexploded``, and
the indexes that find a SKU unit's first evidence before a window.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

- ``demand.days_basis`` now says ``since_first_activity`` (was ``since_first_stock``: the first
  evidence is a first order or a first recorded availability) or ``no_activity``; the table is
  rebuilt by every demand run, so its rows are emptied rather than rewritten.
- ``demand.counted_from``: the first day of the window that counts.
- ``demand_unexploded``: bundle units that could not be turned into singles, by reason.
- ``orders_daily (sku_unit_id, day)`` and ``(article_id, size_id, bundle_type_id, day)`` (partial)
  and ``stock_history (sku_unit_id, day)``: one index probe per SKU unit answers "any order or
  stock before the window?", whatever the length of the history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"
BASES = "('in_stock', 'calendar', 'since_first_activity', 'no_activity')"


def upgrade() -> None:
    op.execute(f"DELETE FROM {SCHEMA}.demand")
    op.drop_constraint(op.f("ck_demand_days_basis"), "demand", schema=SCHEMA, type_="check")
    op.create_check_constraint(op.f("ck_demand_days_basis"), "demand", f"days_basis IN {BASES}",
                               schema=SCHEMA)
    op.add_column("demand", sa.Column("counted_from", sa.Date(), nullable=True), schema=SCHEMA)
    op.create_table(
        "demand_unexploded",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("bundle_type_id", sa.Integer(), nullable=False),
        sa.Column("size_id", sa.Integer(), nullable=True),
        sa.Column("color_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("units", sa.Float(), nullable=False),
        sa.CheckConstraint("reason IN ('no_recipe', 'no_sku_unit')",
                           name=op.f("ck_demand_unexploded_reason")),
        schema=SCHEMA,
    )
    op.create_index("ix_orders_daily_sku_unit_id_day", "orders_daily", ["sku_unit_id", "day"],
                    schema=SCHEMA, postgresql_where=sa.text("sku_unit_id IS NOT NULL"))
    op.create_index("ix_orders_daily_bundle_day", "orders_daily",
                    ["article_id", "size_id", "bundle_type_id", "day"], schema=SCHEMA,
                    postgresql_where=sa.text("bundle_type_id IS NOT NULL"))
    op.create_index("ix_stock_history_sku_unit_id_day", "stock_history", ["sku_unit_id", "day"],
                    schema=SCHEMA)


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
