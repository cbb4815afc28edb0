"""Unified facts that demand and supply read (owned by ``assets/unified``).

``orders``: one row per ordered item of any channel (WB ``srid``; MoySklad order position), with
its UTC time and what it maps to (a single SKU unit, or an article's bundle type in a size).
``orders_daily``: the daily rollup of ``orders``, so later assets never rescan the history.
``stock``: current stock per channel, location and item.
"""

from __future__ import annotations

import sqlalchemy as sa

from supplybrain_pipelines.db.tables._meta import metadata


def _mapping_columns() -> list[sa.Column]:
    """What an item maps to; all NULL while its barcode or assortment item is unmatched."""
    return [sa.Column(name, sa.Integer, nullable=True) for name in
            ("article_id", "bundle_type_id", "color_id", "size_id", "sku_unit_id")]


orders = sa.Table(
    "orders", metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Integer, primary_key=True),
    sa.Column("order_id", sa.Text, primary_key=True),
    sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("item_key", sa.Text, nullable=False),
    sa.Column("barcode", sa.Text, nullable=True),
    *_mapping_columns(),
    sa.Column("quantity", sa.Numeric(14, 3), nullable=False),
    sa.Column("price", sa.Numeric(14, 2), nullable=True),
    sa.Column("is_cancelled", sa.Boolean, nullable=False),
    sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_change_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_orders_ordered_at", "ordered_at"),
    # The unmatched lines (few): the incremental refresh re-maps them by order id.
    sa.Index("ix_orders_unmatched", "channel", postgresql_where=sa.text("article_id IS NULL")),
    sa.CheckConstraint("channel IN ('wb', 'moysklad')", name="channel"),
    sa.CheckConstraint("quantity >= 0", name="quantity_non_negative"),
)

orders_daily = sa.Table(
    "orders_daily", metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Integer, primary_key=True),
    sa.Column("item_key", sa.Text, primary_key=True),
    *_mapping_columns(),
    sa.Column("units_ordered", sa.Numeric(14, 3), nullable=False),
    sa.Column("units_cancelled", sa.Numeric(14, 3), nullable=False),
    sa.Column("units_net", sa.Numeric(14, 3), nullable=False),
    sa.Column("revenue", sa.Numeric(16, 2), nullable=False),
    # demand asks per SKU unit whether it was ever ordered before its window: singles by SKU
    # unit, bundles by article, size and bundle type (migration 0009)
    sa.Index("ix_orders_daily_sku_unit_id_day", "sku_unit_id", "day",
             postgresql_where=sa.text("sku_unit_id IS NOT NULL")),
    sa.Index("ix_orders_daily_bundle_day", "article_id", "size_id", "bundle_type_id", "day",
             postgresql_where=sa.text("bundle_type_id IS NOT NULL")),
)

stock = sa.Table(
    "stock", metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Integer, primary_key=True),
    sa.Column("location", sa.Text, primary_key=True),
    sa.Column("item_key", sa.Text, primary_key=True),
    sa.Column("barcode", sa.Text, nullable=True),
    *_mapping_columns(),
    sa.Column("quantity", sa.Numeric(14, 3), nullable=False),
    sa.Column("in_transit_to_client", sa.Numeric(14, 3), nullable=False, server_default="0"),
    sa.Column("in_transit_from_client", sa.Numeric(14, 3), nullable=False, server_default="0"),
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('wb', 'own')", name="channel"),
)

refresh_watermarks = sa.Table(
    "refresh_watermarks", metadata,
    sa.Column("target", sa.Text, primary_key=True),
    sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
)
