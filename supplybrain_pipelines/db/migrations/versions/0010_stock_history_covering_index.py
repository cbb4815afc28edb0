"""Demand reads the window's stock history by SKU unit from one covering index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

- ``stock_history (sku_unit_id, day) INCLUDE (available)`` replaces 0009's
  ``(sku_unit_id, day)``: ``demand`` aggregates the window per SKU unit (days recorded, first day
  in stock, days out of stock) in one index-only pass in SKU order, with no hash table or sort
  to spill (about 1 s → 0.45 s at 125k SKU units × 30 days), and the probe for stock before
  the window no longer visits the table.
- Index-only scans skip the table only on pages the visibility map marks all-visible, so the
  table is vacuumed after every day's insert (one row per SKU unit) rather than after it grew
  by 20 % (weeks of rows): ``autovacuum_vacuum_insert_scale_factor = 0``,
  ``autovacuum_vacuum_insert_threshold = 10000``.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"


def upgrade() -> None:
    op.drop_index("ix_stock_history_sku_unit_id_day", table_name="stock_history", schema=SCHEMA)
    op.create_index("ix_stock_history_sku_unit_id_day_available", "stock_history",
                    ["sku_unit_id", "day"], schema=SCHEMA, postgresql_include=["available"])
    op.execute(f"ALTER TABLE {SCHEMA}.stock_history SET (autovacuum_vacuum_insert_scale_factor "
               "= 0, autovacuum_vacuum_insert_threshold = 10000)")


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
