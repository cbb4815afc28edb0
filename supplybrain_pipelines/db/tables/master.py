"""Master data and inventory: articles, colours, sizes, SKU units, bundles, the WB barcode map,
warehouses, own stock and purchase orders (old backend migrations 0001, 0003, 0004, 0011)."""

from __future__ import annotations

import sqlalchemy as sa

from supplybrain_pipelines.db.tables._meta import (
    CREATED_AT,
    UPDATED_AT,
    fk,
    metadata,
    pk,
    timestamp,
)

article = sa.Table(
    "article",
    metadata,
    pk(),
    sa.Column("code", sa.String(50), nullable=False, unique=True,
              comment="The article's code (model number), unique."),
    sa.Column("name", sa.String(255), nullable=True, comment="The article's name, if known."),
    comment="Articles (product models); an SKU unit is an article in one colour and size.",
)

color = sa.Table(
    "color",
    metadata,
    pk(),
    # Fabric grouping key for fabric minimums; several inner colours may share one Pantone.
    sa.Column("pantone_code", sa.String(50), nullable=True,
              comment="Pantone code of the fabric: groups colours for the fabric minimums."),
    sa.Column("inner_code", sa.String(50), nullable=False, unique=True,
              comment="The brand's own colour code, unique."),
    sa.Column("description", sa.String(255), nullable=True,
              comment="The colour's name or description."),
    comment="Colours of the articles (the brand's inner codes).",
)

size = sa.Table(
    "size",
    metadata,
    pk(),
    sa.Column("label", sa.String(50), nullable=False, unique=True,
              comment="The size's label (e.g. 42 or M), unique."),
    sa.Column("sort_order", sa.Integer, nullable=False, server_default=sa.text("0"),
              comment="Position in the size run, smallest first (for display)."),
    comment="Sizes.",
)

sku_unit = sa.Table(
    "sku_unit",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("color_id", "color"),
    fk("size_id", "size"),
    sa.UniqueConstraint("article_id", "color_id", "size_id", name="uq_sku_unit_article_color_size"),
    comment="SKU units: an article in one colour and one size, the unit that is planned and "
            "produced.",
)

bundle_type = sa.Table(
    "bundle_type",
    metadata,
    pk(),
    sa.Column("code", sa.String(50), nullable=False, unique=True,
              comment="The bundle type's code, unique."),
    sa.Column("name", sa.String(100), nullable=False, comment="The bundle type's name."),
    sa.Column("is_assorti", sa.Boolean, nullable=False, server_default=sa.false(),
              comment="True for an assorted bundle (kept from the old backend; planning does "
              "not read it)."),
    comment="Bundle types: packs of several units of one article sold as one WB item.",
)

bundle_recipe = sa.Table(
    "bundle_recipe",
    metadata,
    pk(),
    fk("article_id", "article"),
    fk("bundle_type_id", "bundle_type"),
    fk("color_id", "color", comment="A colour the bundle holds one unit of (per size)."),
    sa.Column("position", sa.Integer, nullable=False,
              comment="The colour's place in the bundle, unique per article and bundle type."),
    sa.UniqueConstraint(
        "article_id", "bundle_type_id", "color_id", name="uq_bundle_recipe_article_bundle_color"
    ),
    sa.UniqueConstraint(
        "article_id", "bundle_type_id", "position", name="uq_bundle_recipe_article_bundle_position"
    ),
    comment="Bundle recipes: the colours an article's bundle type is made of (one unit each, "
            "same size); used to explode bundle sales and stock into SKU units.",
)

warehouse = sa.Table(
    "warehouse",
    metadata,
    pk(),
    sa.Column("code", sa.String(50), nullable=False, unique=True,
              comment="The warehouse's code, unique."),
    sa.Column("name", sa.String(255), nullable=False, comment="The warehouse's name."),
    # Free text; monitoring treats type 'internal' as the own warehouse (NSK).
    sa.Column("type", sa.String(50), nullable=False,
              comment="Free text; 'internal' marks the brand's own warehouse."),
    comment="Warehouses whose stock the brand keeps in stock_balance.",
)

stock_balance = sa.Table(
    "stock_balance",
    metadata,
    pk(),
    fk("sku_unit_id", "sku_unit"),
    fk("warehouse_id", "warehouse"),
    sa.Column("quantity", sa.Integer, nullable=False, server_default=sa.text("0"),
              comment="Units of the SKU unit in the warehouse (>= 0)."),
    timestamp("updated_at", UPDATED_AT),
    sa.UniqueConstraint("sku_unit_id", "warehouse_id", name="uq_stock_balance_sku_warehouse"),
    sa.CheckConstraint("quantity >= 0", name="quantity_non_negative"),
    comment="Own stock per SKU unit and warehouse (imported); supply uses it when MoySklad "
            "reports no stock for the SKU unit.",
)

article_wb_mapping = sa.Table(
    "article_wb_mapping",
    metadata,
    pk(),
    fk("article_id", "article", comment="The article the barcode sells."),
    # The WB barcode.
    sa.Column("wb_sku", sa.Text, nullable=False, index=True, comment="The WB barcode."),
    # Plain integers without foreign keys, as in the old backend.
    sa.Column("bundle_type_id", sa.Integer, nullable=True,
              comment="The bundle type the barcode sells (bundle_type.id); NULL: a single unit."),
    sa.Column("color_id", sa.Integer, nullable=True,
              comment="The colour of a single unit (color.id); NULL for a bundle."),
    sa.Column("size_id", sa.Integer, nullable=True, comment="The size (size.id)."),
    sa.UniqueConstraint("article_id", "wb_sku", name="uq_article_wb_mapping_article_sku"),
    comment="The WB barcode map: which article, colour, size or bundle type a WB barcode "
            "sells.",
)

purchase_order = sa.Table(
    "purchase_order",
    metadata,
    pk(),
    timestamp("created_at", CREATED_AT),
    timestamp("updated_at", UPDATED_AT),
    # draft → approved → ordered → received, or cancelled (enforced by the application).
    sa.Column("status", sa.String(50), nullable=False,
              comment="draft, approved, ordered, received or cancelled; approved and ordered "
              "count as on order."),
    sa.Column("target_date", sa.Date, nullable=False,
              comment="The date the goods are expected in stock."),
    sa.Column("comment", sa.String(1000), nullable=True, comment="Free-text note."),
    sa.Column("external_ref", sa.String(255), nullable=True,
              comment="The order's reference in the source system (the CSV import's key)."),
    comment="Production (purchase) orders.",
)

purchase_order_item = sa.Table(
    "purchase_order_item",
    metadata,
    pk(),
    fk("purchase_order_id", "purchase_order"),
    fk("article_id", "article"),
    fk("color_id", "color"),
    fk("size_id", "size"),
    sa.Column("quantity", sa.Integer, nullable=False, comment="Units ordered."),
    sa.Column("source", sa.String(50), nullable=False, server_default="auto",
              comment="Where the line came from ('auto' by default; kept from the old "
              "backend)."),
    sa.Column("notes", sa.String(1000), nullable=True, comment="Free-text note."),
    sa.UniqueConstraint(
        "purchase_order_id", "article_id", "color_id", "size_id",
        name="uq_po_item_po_article_color_size",
    ),
    comment="Lines of the production orders: units of one article, colour and size.",
)
