"""Master data and inventory: articles, colours, sizes, SKU units, bundles, the WB barcode map,
warehouses, own stock and purchase orders (old backend migrations 0001, 0003, 0004, 0011)."""

from __future__ import annotations

import sqlalchemy as sa

from supplybrain_pipelines.db.tables._meta import fk, metadata, pk, timestamp

article = sa.Table(
    "article",
    metadata,
    pk(),
    sa.Column("code", sa.String(50), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=True),
)

color = sa.Table(
    "color",
    metadata,
    pk(),
    # Fabric grouping key for fabric minimums; several inner colours may share one Pantone.
    sa.Column("pantone_code", sa.String(50), nullable=True),
    sa.Column("inner_code", sa.String(50), nullable=False, unique=True),
    sa.Column("description", sa.String(255), nullable=True),
)

size = sa.Table(
    "size",
    metadata,
    pk(),
    sa.Column("label", sa.String(50), nullable=False, unique=True),
    sa.Column("sort_order", sa.Integer, nullable=False, server_default=sa.text("0")),
)

sku_unit = sa.Table(
    "sku_unit",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("color_id", "color"),
    fk("size_id", "size"),
    sa.UniqueConstraint("article_id", "color_id", "size_id", name="uq_sku_unit_article_color_size"),
)

bundle_type = sa.Table(
    "bundle_type",
    metadata,
    pk(),
    sa.Column("code", sa.String(50), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("is_assorti", sa.Boolean, nullable=False, server_default=sa.false()),
)

bundle_recipe = sa.Table(
    "bundle_recipe",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("bundle_type_id", "bundle_type"),
    fk("color_id", "color"),
    sa.Column("position", sa.Integer, nullable=False),
    sa.UniqueConstraint(
        "article_id", "bundle_type_id", "color_id", name="uq_bundle_recipe_article_bundle_color"
    ),
    sa.UniqueConstraint(
        "article_id", "bundle_type_id", "position", name="uq_bundle_recipe_article_bundle_position"
    ),
)

warehouse = sa.Table(
    "warehouse",
    metadata,
    pk(),
    sa.Column("code", sa.String(50), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    # Free text; monitoring treats type 'internal' as the own warehouse (NSK).
    sa.Column("type", sa.String(50), nullable=False),
)

stock_balance = sa.Table(
    "stock_balance",
    metadata,
    pk(),
    fk("sku_unit_id", "sku_unit"),
    fk("warehouse_id", "warehouse"),
    sa.Column("quantity", sa.Integer, nullable=False, server_default=sa.text("0")),
    timestamp("updated_at"),
    sa.UniqueConstraint("sku_unit_id", "warehouse_id", name="uq_stock_balance_sku_warehouse"),
    sa.CheckConstraint("quantity >= 0", name="quantity_non_negative"),
)

article_wb_mapping = sa.Table(
    "article_wb_mapping",
    metadata,
    pk(),
    fk("article_id", "article"),
    # The WB barcode.
    sa.Column("wb_sku", sa.Text, nullable=False, index=True),
    # Plain integers without foreign keys, as in the old backend.
    sa.Column("bundle_type_id", sa.Integer, nullable=True),
    sa.Column("color_id", sa.Integer, nullable=True),
    sa.Column("size_id", sa.Integer, nullable=True),
    sa.UniqueConstraint("article_id", "wb_sku", name="uq_article_wb_mapping_article_sku"),
)

purchase_order = sa.Table(
    "purchase_order",
    metadata,
    pk(),
    timestamp("created_at"),
    timestamp("updated_at"),
    # draft → approved → ordered → received, or cancelled (enforced by the application).
    sa.Column("status", sa.String(50), nullable=False),
    sa.Column("target_date", sa.Date, nullable=False),
    sa.Column("comment", sa.String(1000), nullable=True),
    sa.Column("external_ref", sa.String(255), nullable=True),
)

purchase_order_item = sa.Table(
    "purchase_order_item",
    metadata,
    pk(),
    fk("purchase_order_id", "purchase_order"),
    fk("article_id", "article"),
    fk("color_id", "color"),
    fk("size_id", "size"),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("source", sa.String(50), nullable=False, server_default="auto"),
    sa.Column("notes", sa.String(1000), nullable=True),
    sa.UniqueConstraint(
        "purchase_order_id", "article_id", "color_id", "size_id",
        name="uq_po_item_po_article_color_size",
    ),
)
