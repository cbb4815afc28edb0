"""Ingestion state, raw marketplace tables and the unified orders/stock facts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Cursors and account health per (account, endpoint); the quarantine and unmatched-item tables;
raw WB orders/sales/stocks and MoySklad orders/positions/assortment/stock; unified ``orders``,
``orders_daily`` and ``stock``. The trigger ``touch_ingested_at`` stamps a raw row whenever an
upsert changes it, so downstream refreshes read only changed rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RAW_TABLES = ("wb_orders", "wb_sales", "ms_customer_orders", "ms_order_positions", "ms_assortment")


def upgrade() -> None:
    op.create_table(
        "account_health",
        sa.Column("account_kind", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_days_left", sa.Integer(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error_class", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "last_error_class IS NULL OR last_error_class IN ('unauthorized', 'rate_limited', "
            "'http_5xx', 'http_4xx', 'network', 'bad_payload')",
            name=op.f("ck_account_health_error_class"),
        ),
        sa.PrimaryKeyConstraint(
            "account_kind", "account_id", "endpoint", name=op.f("pk_account_health")
        ),
        schema="supplybrain",
    )
    op.create_table(
        "ingest_cursors",
        sa.Column("account_kind", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("cursor_raw", sa.Text(), nullable=False),
        sa.Column("cursor_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint(
            "account_kind", "account_id", "endpoint", name=op.f("pk_ingest_cursors")
        ),
        schema="supplybrain",
    )
    op.create_table(
        "ms_assortment",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("article", sa.Text(), nullable=True),
        sa.Column("barcodes", postgresql.ARRAY(Text()), server_default="{}", nullable=False),
        sa.Column(
            "characteristics",
            postgresql.JSONB(astext_type=Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("sellable", sa.Boolean(), nullable=False),
        sa.Column("product_id", sa.Text(), nullable=True),
        sa.Column("sku_unit_id", sa.Integer(), nullable=True),
        sa.Column("matched_by", sa.Text(), nullable=True),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ms_assortment")),
        schema="supplybrain",
    )
    op.create_table(
        "ms_customer_orders",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("moment_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at_source", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applicable", sa.Boolean(), nullable=False),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ms_customer_orders")),
        schema="supplybrain",
    )
    op.create_table(
        "ms_stocks",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Text(), nullable=False),
        sa.Column("assortment_id", sa.Text(), nullable=False),
        sa.Column("stock", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "store_id", "assortment_id", name=op.f("pk_ms_stocks")
        ),
        schema="supplybrain",
    )
    op.create_table(
        "orders",
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("item_key", sa.Text(), nullable=False),
        sa.Column("barcode", sa.Text(), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("bundle_type_id", sa.Integer(), nullable=True),
        sa.Column("color_id", sa.Integer(), nullable=True),
        sa.Column("size_id", sa.Integer(), nullable=True),
        sa.Column("sku_unit_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("is_cancelled", sa.Boolean(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_change_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('wb', 'moysklad')", name=op.f("ck_orders_channel")),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_orders_quantity_non_negative")),
        sa.PrimaryKeyConstraint("channel", "account_id", "order_id", name=op.f("pk_orders")),
        schema="supplybrain",
    )
    op.create_index(
        "ix_orders_ordered_at", "orders", ["ordered_at"], unique=False, schema="supplybrain"
    )
    op.create_table(
        "orders_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.Text(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("bundle_type_id", sa.Integer(), nullable=True),
        sa.Column("color_id", sa.Integer(), nullable=True),
        sa.Column("size_id", sa.Integer(), nullable=True),
        sa.Column("sku_unit_id", sa.Integer(), nullable=True),
        sa.Column("units_ordered", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("units_cancelled", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("units_net", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "channel", "account_id", "item_key", name=op.f("pk_orders_daily")
        ),
        schema="supplybrain",
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_kind", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("reason_code", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=Text()), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column(
            "quarantined_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        schema="supplybrain",
    )
    op.create_index(
        "ix_quarantine_endpoint_time",
        "quarantine",
        ["account_kind", "endpoint", "quarantined_at"],
        unique=False,
        schema="supplybrain",
    )
    op.create_table(
        "refresh_watermarks",
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_refresh_watermarks")),
        schema="supplybrain",
    )
    op.create_table(
        "stock",
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("item_key", sa.Text(), nullable=False),
        sa.Column("barcode", sa.Text(), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("bundle_type_id", sa.Integer(), nullable=True),
        sa.Column("color_id", sa.Integer(), nullable=True),
        sa.Column("size_id", sa.Integer(), nullable=True),
        sa.Column("sku_unit_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column(
            "in_transit_to_client",
            sa.Numeric(precision=14, scale=3),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "in_transit_from_client",
            sa.Numeric(precision=14, scale=3),
            server_default="0",
            nullable=False,
        ),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('wb', 'own')", name=op.f("ck_stock_channel")),
        sa.PrimaryKeyConstraint(
            "channel", "account_id", "location", "item_key", name=op.f("pk_stock")
        ),
        schema="supplybrain",
    )
    op.create_table(
        "unmatched_items",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column(
            "first_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint(
            "source", "account_id", "item_key", name=op.f("pk_unmatched_items")
        ),
        schema="supplybrain",
    )
    op.create_table(
        "wb_orders",
        sa.Column("srid", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_change_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("barcode", sa.Text(), nullable=False),
        sa.Column("supplier_article", sa.Text(), nullable=True),
        sa.Column("tech_size", sa.Text(), nullable=True),
        sa.Column("nm_id", sa.BigInteger(), nullable=True),
        sa.Column("warehouse_name", sa.Text(), nullable=True),
        sa.Column("total_price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("price_with_disc", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("finished_price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("is_cancel", sa.Boolean(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("g_number", sa.Text(), nullable=True),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("srid", name=op.f("pk_wb_orders")),
        schema="supplybrain",
    )
    op.create_index(
        "ix_wb_orders_account_id_ordered_at",
        "wb_orders",
        ["account_id", "ordered_at"],
        unique=False,
        schema="supplybrain",
    )
    op.create_index(
        "ix_wb_orders_ingested_at", "wb_orders", ["ingested_at"], unique=False, schema="supplybrain"
    )
    op.create_table(
        "wb_sales",
        sa.Column("sale_id", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("srid", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_change_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("barcode", sa.Text(), nullable=False),
        sa.Column("warehouse_name", sa.Text(), nullable=True),
        sa.Column("for_pay", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("finished_price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("sale_id", name=op.f("pk_wb_sales")),
        schema="supplybrain",
    )
    op.create_index(
        "ix_wb_sales_ingested_at", "wb_sales", ["ingested_at"], unique=False, schema="supplybrain"
    )
    op.create_table(
        "wb_stocks",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_name", sa.Text(), nullable=False),
        sa.Column("barcode", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("in_way_to_client", sa.Integer(), nullable=False),
        sa.Column("in_way_from_client", sa.Integer(), nullable=False),
        sa.Column("quantity_full", sa.Integer(), nullable=True),
        sa.Column("last_change_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "warehouse_name", "barcode", name=op.f("pk_wb_stocks")
        ),
        schema="supplybrain",
    )
    op.create_table(
        "ms_order_positions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("assortment_id", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["supplybrain.ms_customer_orders.id"],
            name=op.f("fk_ms_order_positions_order_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ms_order_positions")),
        schema="supplybrain",
    )
    op.create_index(
        "ix_ms_order_positions_ingested_at",
        "ms_order_positions",
        ["ingested_at"],
        unique=False,
        schema="supplybrain",
    )
    op.create_index(
        op.f("ix_ms_order_positions_order_id"),
        "ms_order_positions",
        ["order_id"],
        unique=False,
        schema="supplybrain",
    )
    op.execute("""
        CREATE FUNCTION supplybrain.touch_ingested_at() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            NEW.ingested_at := now();
            RETURN NEW;
        END $$
    """)
    for table in RAW_TABLES:
        op.execute(
            f"CREATE TRIGGER trg_{table}_touch BEFORE UPDATE ON supplybrain.{table} "
            "FOR EACH ROW EXECUTE FUNCTION supplybrain.touch_ingested_at()"
        )


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
