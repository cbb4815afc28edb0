"""Ingestion state and the raw marketplace tables (owned by ``assets/ingest``).

Raw tables keep each source's identity (WB ``srid`` / ``saleID``, MoySklad ids) with times
converted to UTC. ``ingested_at`` is set on insert and, by the trigger ``touch_ingested_at``,
on every update that changes a row, so downstream refreshes read only what changed.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from supplybrain_pipelines.db.tables._meta import metadata

ERROR_CLASSES = ("unauthorized", "rate_limited", "http_5xx", "http_4xx", "network",
                 "bad_payload")


def _utc(name: str, nullable: bool = False, **kw) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)


def _ingested_at() -> sa.Column:
    return _utc("ingested_at", server_default=sa.func.now())


def _ingested_at_brin(table: str) -> sa.Index:
    """``ingested_at`` follows the physical order of a raw table: a BRIN index serves the
    incremental reads at almost no cost per loaded row, and does not prevent HOT updates."""
    return sa.Index(f"ix_{table}_ingested_at", "ingested_at", postgresql_using="brin",
                    postgresql_with={"autosummarize": "on"})


def _money(name: str) -> sa.Column:
    return sa.Column(name, sa.Numeric(14, 2), nullable=True)


ingest_cursors = sa.Table(
    "ingest_cursors", metadata,
    sa.Column("account_kind", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Integer, primary_key=True),
    sa.Column("endpoint", sa.Text, primary_key=True),
    sa.Column("cursor_raw", sa.Text, nullable=False),
    _utc("cursor_at"),
    _utc("updated_at", server_default=sa.func.now()),
)

account_health = sa.Table(
    "account_health", metadata,
    sa.Column("account_kind", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Integer, primary_key=True),
    sa.Column("endpoint", sa.Text, primary_key=True),
    _utc("token_expires_at", nullable=True),
    sa.Column("token_days_left", sa.Integer, nullable=True),
    _utc("last_attempt_at"),
    _utc("last_success_at", nullable=True),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error_class", sa.Text, nullable=True),
    _utc("last_error_at", nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    # Attempts in a row that answered 401/403 (migration 0012); other outcomes reset it.
    sa.Column("consecutive_unauthorized", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint(
        "last_error_class IS NULL OR last_error_class IN ("
        + ", ".join(f"'{c}'" for c in ERROR_CLASSES) + ")", name="error_class"),
)

quarantine = sa.Table(
    "quarantine", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("account_kind", sa.Text, nullable=False),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("reason_code", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("record", JSONB, nullable=True),
    sa.Column("run_id", sa.Text, nullable=True),
    _utc("quarantined_at", server_default=sa.func.now()),
    # migration 0011: one row per distinct raw record (logic/screening.record_digest), counted
    sa.Column("record_digest", sa.Text, nullable=False),
    sa.Column("record_size", sa.Integer, nullable=True),
    sa.Column("sightings", sa.Integer, nullable=False, server_default=sa.text("1")),
    _utc("last_seen_at", server_default=sa.func.now()),
    sa.Index("ix_quarantine_endpoint_time", "account_kind", "endpoint", "quarantined_at"),
    sa.Index("ix_quarantine_quarantined_at", "quarantined_at"),
    sa.Index("uq_quarantine_record", "account_kind", "account_id", "endpoint", "record_digest",
             unique=True),
)

unmatched_items = sa.Table(
    "unmatched_items", metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Integer, primary_key=True),
    sa.Column("item_key", sa.Text, primary_key=True),
    sa.Column("detail", sa.Text, nullable=True),
    _utc("first_seen_at", server_default=sa.func.now()),
    _utc("last_seen_at", server_default=sa.func.now()),
)

wb_orders = sa.Table(
    "wb_orders", metadata,
    sa.Column("srid", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    _utc("ordered_at"),
    _utc("last_change_at"),
    sa.Column("barcode", sa.Text, nullable=False),
    sa.Column("supplier_article", sa.Text),
    sa.Column("tech_size", sa.Text),
    sa.Column("nm_id", sa.BigInteger),
    sa.Column("warehouse_name", sa.Text),
    _money("total_price"),
    _money("price_with_disc"),
    _money("finished_price"),
    sa.Column("is_cancel", sa.Boolean, nullable=False),
    _utc("cancelled_at", nullable=True),
    sa.Column("g_number", sa.Text),
    _ingested_at(),
    _ingested_at_brin("wb_orders"),
)

wb_sales = sa.Table(
    "wb_sales", metadata,
    sa.Column("sale_id", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("srid", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    _utc("sold_at"),
    _utc("last_change_at"),
    sa.Column("barcode", sa.Text, nullable=False),
    sa.Column("warehouse_name", sa.Text),
    _money("for_pay"),
    _money("finished_price"),
    _ingested_at(),
    _ingested_at_brin("wb_sales"),
)

wb_stocks = sa.Table(
    "wb_stocks", metadata,
    sa.Column("account_id", sa.Integer, primary_key=True),
    sa.Column("warehouse_name", sa.Text, primary_key=True),
    sa.Column("barcode", sa.Text, primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("in_way_to_client", sa.Integer, nullable=False),
    sa.Column("in_way_from_client", sa.Integer, nullable=False),
    sa.Column("quantity_full", sa.Integer),
    _utc("last_change_at"),
    _utc("as_of"),
)

ms_customer_orders = sa.Table(
    "ms_customer_orders", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("name", sa.Text),
    _utc("moment_at"),
    _utc("updated_at_source"),
    sa.Column("applicable", sa.Boolean, nullable=False),
    _ingested_at(),
    # Migration 0013: the order's state, when it went into the recycle bin (NULL: not in it),
    # and whether it counts as cancelled (not posted, in the bin or in a cancelled state).
    sa.Column("state_id", sa.Text, nullable=True),
    _utc("deleted_at", nullable=True),
    sa.Column("is_cancelled", sa.Boolean, nullable=False, server_default=sa.false()),
)

ms_order_positions = sa.Table(
    "ms_order_positions", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("order_id", sa.Text, sa.ForeignKey("supplybrain.ms_customer_orders.id",
                                                 ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("assortment_id", sa.Text, nullable=False),
    sa.Column("quantity", sa.Numeric(14, 3), nullable=False),
    _money("price"),
    _ingested_at(),
    sa.Index("ix_ms_order_positions_ingested_at", "ingested_at"),
)

ms_assortment = sa.Table(
    "ms_assortment", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("code", sa.Text),
    sa.Column("article", sa.Text),
    sa.Column("barcodes", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("characteristics", JSONB, nullable=False, server_default="{}"),
    sa.Column("sellable", sa.Boolean, nullable=False),
    sa.Column("product_id", sa.Text, nullable=True),
    sa.Column("sku_unit_id", sa.Integer, nullable=True),
    sa.Column("matched_by", sa.Text, nullable=True),
    _ingested_at(),
)

ms_stocks = sa.Table(
    "ms_stocks", metadata,
    sa.Column("account_id", sa.Integer, primary_key=True),
    sa.Column("store_id", sa.Text, primary_key=True),
    sa.Column("assortment_id", sa.Text, primary_key=True),
    sa.Column("stock", sa.Numeric(14, 3), nullable=False),
    _utc("as_of"),
)
