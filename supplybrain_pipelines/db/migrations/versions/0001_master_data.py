"""Master data, planning settings and purchase orders.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Creates schema ``supplybrain`` and the old backend's master-data, planning and purchase-order
tables with its table/column names, types, defaults and unique-constraint names, plus an index on
every foreign-key column, ``now()`` defaults on timestamps and ``stock_balance.quantity >= 0``.
Every object is named here literally, so this history never depends on ``db.tables``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"

_FLOAT_SETTINGS = (
    "layer3_stockout_boost_max",
    "layer3_overstock_dampen_max",
    "layer5_unavoidable_stockout_risk_threshold",
    "layer5_accelerate_production_risk_threshold",
    "production_cost_per_unit",
    "logistics_cost_per_unit",
    "wb_commission_percent_main",
    "wb_commission_percent_assorti",
    "average_realized_price_main",
    "average_realized_price_assorti",
    "available_capital",
)


def _table(name: str, *elements: sa.Column | sa.Constraint) -> None:
    """CREATE TABLE name (id SERIAL PRIMARY KEY, ...) and an index on each foreign-key column."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        *elements,
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        schema=SCHEMA,
    )
    for element in elements:
        if isinstance(element, sa.Column) and element.foreign_keys:
            op.create_index(f"ix_{name}_{element.name}", name, [element.name], schema=SCHEMA)


def _fk(table: str, column: str, target: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(
        column,
        sa.Integer(),
        sa.ForeignKey(f"{SCHEMA}.{target}.id", name=f"fk_{table}_{column}"),
        nullable=nullable,
    )


def _int(column: str, default: int | None = None, *, nullable: bool = False) -> sa.Column:
    server_default = None if default is None else sa.text(str(default))
    return sa.Column(column, sa.Integer(), nullable=nullable, server_default=server_default)


def _flag(column: str, default: bool) -> sa.Column:
    return sa.Column(
        column, sa.Boolean(), nullable=False, server_default=sa.text("true" if default else "false")
    )


def _now(column: str) -> sa.Column:
    return sa.Column(
        column, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
    )


def upgrade() -> None:
    op.execute(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
    _master_data()
    _planning()
    _purchase_orders()


def _master_data() -> None:
    _table(
        "article",
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.UniqueConstraint("code", name="uq_article_code"),
    )
    _table(
        "color",
        sa.Column("pantone_code", sa.String(50), nullable=True),
        sa.Column("inner_code", sa.String(50), nullable=False),
        sa.Column("description", sa.String(255), nullable=True),
        sa.UniqueConstraint("inner_code", name="uq_color_inner_code"),
    )
    _table(
        "size",
        sa.Column("label", sa.String(50), nullable=False),
        _int("sort_order", 0),
        sa.UniqueConstraint("label", name="uq_size_label"),
    )
    t = "sku_unit"
    _table(
        t,
        _fk(t, "article_id", "article"),
        _fk(t, "color_id", "color"),
        _fk(t, "size_id", "size"),
        sa.UniqueConstraint("article_id", "color_id", "size_id",
                            name="uq_sku_unit_article_color_size"),
    )
    _table(
        "bundle_type",
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        _flag("is_assorti", False),
        sa.UniqueConstraint("code", name="uq_bundle_type_code"),
    )
    t = "bundle_recipe"
    _table(
        t,
        _fk(t, "article_id", "article"),
        _fk(t, "bundle_type_id", "bundle_type"),
        _fk(t, "color_id", "color"),
        _int("position"),
        sa.UniqueConstraint("article_id", "bundle_type_id", "color_id",
                            name="uq_bundle_recipe_article_bundle_color"),
        sa.UniqueConstraint("article_id", "bundle_type_id", "position",
                            name="uq_bundle_recipe_article_bundle_position"),
    )
    _table(
        "warehouse",
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.UniqueConstraint("code", name="uq_warehouse_code"),
    )
    t = "stock_balance"
    _table(
        t,
        _fk(t, "sku_unit_id", "sku_unit"),
        _fk(t, "warehouse_id", "warehouse"),
        _int("quantity", 0),
        _now("updated_at"),
        sa.UniqueConstraint("sku_unit_id", "warehouse_id", name="uq_stock_balance_sku_warehouse"),
        sa.CheckConstraint("quantity >= 0", name="ck_stock_balance_quantity_non_negative"),
    )
    t = "article_wb_mapping"
    _table(
        t,
        _fk(t, "article_id", "article"),
        sa.Column("wb_sku", sa.Text(), nullable=False),
        # Plain integers without foreign keys, as in the old backend.
        _int("bundle_type_id", nullable=True),
        _int("color_id", nullable=True),
        _int("size_id", nullable=True),
        sa.UniqueConstraint("article_id", "wb_sku", name="uq_article_wb_mapping_article_sku"),
    )
    op.create_index("ix_article_wb_mapping_wb_sku", t, ["wb_sku"], schema=SCHEMA)


def _planning() -> None:
    _table(
        "global_planning_settings",
        _int("default_target_coverage_days", 60),
        _int("default_lead_time_days", 70),
        _int("default_service_level_percent", 90),
        _int("default_fabric_min_batch_qty", 7000),
        _int("default_elastic_min_batch_qty", 3000),
        sa.Column("default_production_order_assorti_bundle_type_ids", sa.Text(), nullable=True),
        # PostgreSQL cuts identifiers to 63 bytes; the old backend's two longest layer-5
        # columns are stored cut (..._risk_thres, ..._risk_thre), so they are created cut here.
        *(sa.Column(f"default_production_order_{s}"[:63], sa.Float(), nullable=True)
          for s in _FLOAT_SETTINGS),
    )
    t = "article_planning_settings"
    _table(
        t,
        _fk(t, "article_id", "article"),
        _flag("include_in_planning", True),
        _int("priority", 0),
        _int("target_coverage_days", nullable=True),
        _int("lead_time_days", nullable=True),
        _int("service_level_percent", nullable=True),
        _int("production_order_freshness_sales_stale_after_days", nullable=True),
        _int("production_order_freshness_stock_stale_after_days", nullable=True),
        sa.Column("production_order_assorti_bundle_type_ids", sa.Text(), nullable=True),
        *(sa.Column(f"production_order_{s}", sa.Float(), nullable=True) for s in _FLOAT_SETTINGS),
        sa.UniqueConstraint("article_id", name="uq_article_planning_settings_article_id"),
    )
    t = "planning_settings"
    _table(
        t,
        _fk(t, "article_id", "article"),
        _flag("is_active", True),
        _int("min_fabric_batch"),
        _int("min_elastic_batch"),
        _int("alert_threshold_days"),
        _int("safety_stock_days"),
        sa.Column("strictness", sa.Float(), nullable=False),
        sa.Column("notes", sa.String(500), nullable=True),
        sa.UniqueConstraint("article_id", name="uq_planning_settings_article"),
    )
    t = "color_planning_settings"
    _table(
        t,
        _fk(t, "article_id", "article"),
        _fk(t, "color_id", "color"),
        _int("fabric_min_batch_qty", nullable=True),
        sa.UniqueConstraint("article_id", "color_id", name="uq_color_planning_article_color"),
    )
    _table(
        "elastic_type",
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.UniqueConstraint("code", name="uq_elastic_type_code"),
    )
    t = "elastic_planning_settings"
    _table(
        t,
        _fk(t, "article_id", "article"),
        _fk(t, "elastic_type_id", "elastic_type"),
        _int("elastic_min_batch_qty", nullable=True),
        sa.UniqueConstraint("article_id", "elastic_type_id",
                            name="uq_elastic_planning_article_type"),
    )
    t = "production_order_size_weight_settings"
    _table(
        t,
        _fk(t, "article_id", "article"),
        _fk(t, "size_id", "size"),
        sa.Column("weight", sa.Float(), nullable=False, server_default=sa.text("1.0")),
        sa.UniqueConstraint("article_id", "size_id", name="uq_po_size_weight_article_size"),
    )
    t = "production_order_elastic_bindings"
    _table(
        t,
        _fk(t, "article_id", "article"),
        _fk(t, "elastic_type_id", "elastic_type"),
        _fk(t, "color_id", "color", nullable=True),
        _fk(t, "sku_unit_id", "sku_unit", nullable=True),
        _flag("is_active", True),
        sa.UniqueConstraint("article_id", "elastic_type_id", "color_id", "sku_unit_id",
                            name="uq_po_elastic_binding_scope"),
    )
    t = "production_order_in_flight_defaults"
    _table(
        t,
        _fk(t, "article_id", "article"),
        _fk(t, "color_id", "color"),
        _fk(t, "size_id", "size"),
        _int("qty", 0),
        _int("eta_days", 0),
        sa.Column("stage", sa.String(50), nullable=False, server_default=sa.text("'other'")),
        _flag("is_active", True),
        sa.UniqueConstraint("article_id", "color_id", "size_id", "stage", "eta_days",
                            name="uq_po_in_flight_default_scope"),
    )


def _purchase_orders() -> None:
    _table(
        "purchase_order",
        _now("created_at"),
        _now("updated_at"),
        sa.Column("status", sa.String(50), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("comment", sa.String(1000), nullable=True),
        sa.Column("external_ref", sa.String(255), nullable=True),
    )
    t = "purchase_order_item"
    _table(
        t,
        _fk(t, "purchase_order_id", "purchase_order"),
        _fk(t, "article_id", "article"),
        _fk(t, "color_id", "color"),
        _fk(t, "size_id", "size"),
        _int("quantity"),
        sa.Column("source", sa.String(50), nullable=False, server_default=sa.text("'auto'")),
        sa.Column("notes", sa.String(1000), nullable=True),
        sa.UniqueConstraint("purchase_order_id", "article_id", "color_id", "size_id",
                            name="uq_po_item_po_article_color_size"),
    )


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
