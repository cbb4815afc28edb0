"""Unified facts that demand and supply read (owned by ``assets/unified``).

``orders``: one row per ordered item of any channel (WB ``srid``; MoySklad order position), with
its UTC time and what it maps to (a single SKU unit, or an article's bundle type in a size).
``orders_daily``: the daily rollup of ``orders``, so later assets never rescan the history.
``stock``: current stock per channel, location and item.
"""

from __future__ import annotations

import sqlalchemy as sa

from supplybrain_pipelines.db.tables._meta import metadata

#: What each mapping column holds (all NULL while the item is unmatched).
_MAPPING = {
    "article_id": "The article the item maps to; NULL while the item is unmatched.",
    "bundle_type_id": "The bundle type when the item is a bundle; NULL for a single piece.",
    "color_id": "The colour of a single piece; NULL for a bundle or an unmatched item.",
    "size_id": "The size the item maps to; NULL while unmatched.",
    "sku_unit_id": "The SKU unit of a single piece; NULL for a bundle or an unmatched item.",
}


def _mapping_columns() -> list[sa.Column]:
    """What an item maps to; all NULL while its barcode or assortment item is unmatched."""
    return [sa.Column(name, sa.Integer, nullable=True, comment=comment)
            for name, comment in _MAPPING.items()]


def _account() -> sa.Column:
    return sa.Column("account_id", sa.Integer, primary_key=True,
                     comment="The account of the channel the row came from.")


orders = sa.Table(
    "orders", metadata,
    sa.Column("channel", sa.Text, primary_key=True, comment="'wb' or 'moysklad'."),
    _account(),
    sa.Column("order_id", sa.Text, primary_key=True,
              comment="The line's id in its channel: WB srid, MoySklad position id."),
    sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False,
              comment="When the order was placed (UTC)."),
    sa.Column("item_key", sa.Text, nullable=False,
              comment="The item ordered: WB barcode, MoySklad assortment id, or "
              "sku:<article>:<colour>:<size> for imported MoySklad lines."),
    sa.Column("barcode", sa.Text, nullable=True, comment="The WB barcode; NULL for MoySklad."),
    *_mapping_columns(),
    sa.Column("quantity", sa.Numeric(14, 3), nullable=False,
              comment="Units ordered (1 per WB line)."),
    sa.Column("price", sa.Numeric(14, 2), nullable=True,
              comment="Unit price in roubles (WB priceWithDisc; MoySklad position price)."),
    sa.Column("is_cancelled", sa.Boolean, nullable=False,
              comment="True when the line was cancelled: it leaves demand."),
    sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True,
              comment="When it was cancelled, where the channel says (WB)."),
    sa.Column("last_change_at", sa.DateTime(timezone=True), nullable=False,
              comment="When the source last changed the line."),
    sa.Index("ix_orders_ordered_at", "ordered_at"),
    # The unmatched lines (few): the incremental refresh re-maps them by order id.
    sa.Index("ix_orders_unmatched", "channel", postgresql_where=sa.text("article_id IS NULL")),
    sa.CheckConstraint("channel IN ('wb', 'moysklad')", name="channel"),
    sa.CheckConstraint("quantity >= 0", name="quantity_non_negative"),
    comment="Every order line of every channel, in UTC, mapped to a SKU unit or an article's "
            "bundle type and size.",
)

orders_daily = sa.Table(
    "orders_daily", metadata,
    sa.Column("day", sa.Date, primary_key=True,
              comment="The business day (calendar day in SUPPLYBRAIN_BUSINESS_TZ)."),
    sa.Column("channel", sa.Text, primary_key=True, comment="'wb' or 'moysklad'."),
    _account(),
    sa.Column("item_key", sa.Text, primary_key=True, comment="The item, as in orders."),
    *_mapping_columns(),
    sa.Column("units_ordered", sa.Numeric(14, 3), nullable=False,
              comment="Units ordered that day, cancelled or not."),
    sa.Column("units_cancelled", sa.Numeric(14, 3), nullable=False,
              comment="Units of those that were cancelled."),
    sa.Column("units_net", sa.Numeric(14, 3), nullable=False,
              comment="Units ordered and not cancelled."),
    sa.Column("revenue", sa.Numeric(16, 2), nullable=False,
              comment="Sum of price × quantity of the lines not cancelled, roubles."),
    # demand asks per SKU unit whether it was ever ordered before its window: singles by SKU
    # unit, bundles by article, size and bundle type (migration 0009)
    sa.Index("ix_orders_daily_sku_unit_id_day", "sku_unit_id", "day",
             postgresql_where=sa.text("sku_unit_id IS NOT NULL")),
    sa.Index("ix_orders_daily_bundle_day", "article_id", "size_id", "bundle_type_id", "day",
             postgresql_where=sa.text("bundle_type_id IS NOT NULL")),
    comment="Daily rollup of orders per business day, channel, account and item; demand "
            "reads this.",
)

stock = sa.Table(
    "stock", metadata,
    sa.Column("channel", sa.Text, primary_key=True,
              comment="'wb' (WB warehouses) or 'own' (MoySklad stores)."),
    _account(),
    sa.Column("location", sa.Text, primary_key=True,
              comment="The WB warehouse's name or the MoySklad store's id."),
    sa.Column("item_key", sa.Text, primary_key=True,
              comment="The item: WB barcode or MoySklad assortment id."),
    sa.Column("barcode", sa.Text, nullable=True, comment="The WB barcode; NULL for own stock."),
    *_mapping_columns(),
    sa.Column("quantity", sa.Numeric(14, 3), nullable=False, comment="Units in stock there."),
    sa.Column("in_transit_to_client", sa.Numeric(14, 3), nullable=False, server_default="0",
              comment="WB units on their way to buyers (0 for own stock)."),
    sa.Column("in_transit_from_client", sa.Numeric(14, 3), nullable=False, server_default="0",
              comment="WB units returning from buyers (0 for own stock)."),
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False,
              comment="When the source's stock was read."),
    sa.CheckConstraint("channel IN ('wb', 'own')", name="channel"),
    comment="Current stock per channel, location and item, mapped like orders; rebuilt each "
            "run.",
)

refresh_watermarks = sa.Table(
    "refresh_watermarks", metadata,
    sa.Column("target", sa.Text, primary_key=True,
              comment="The table refreshed incrementally (e.g. 'orders')."),
    sa.Column("watermark", sa.DateTime(timezone=True), nullable=False,
              comment="The next refresh reads raw rows with ingested_at at or after this."),
    comment="Where each incremental refresh of a unified table starts next time.",
)
