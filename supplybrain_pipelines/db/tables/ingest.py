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
    return _utc("ingested_at", server_default=sa.func.now(),
                comment="When the row was inserted or last changed by ingestion (trigger "
                "touch_ingested_at); downstream refreshes read from it.")


def _ingested_at_brin(table: str) -> sa.Index:
    """``ingested_at`` follows the physical order of a raw table: a BRIN index serves the
    incremental reads at almost no cost per loaded row, and does not prevent HOT updates."""
    return sa.Index(f"ix_{table}_ingested_at", "ingested_at", postgresql_using="brin",
                    postgresql_with={"autosummarize": "on"})


def _money(name: str, comment: str) -> sa.Column:
    return sa.Column(name, sa.Numeric(14, 2), nullable=True, comment=comment)


def _account(kind: str = "", **kw) -> sa.Column:
    whose = f"{kind} account" if kind else "account"
    return sa.Column("account_id", sa.Integer, comment=f"The {whose} the row came from "
                     "(the accounts table's id).", **kw)


_KIND = "'wb' or 'moysklad': which accounts table account_id refers to."


ingest_cursors = sa.Table(
    "ingest_cursors", metadata,
    sa.Column("account_kind", sa.Text, primary_key=True, comment=_KIND),
    _account(primary_key=True),
    sa.Column("endpoint", sa.Text, primary_key=True,
              comment="The source endpoint the cursor belongs to (e.g. orders, assortment)."),
    sa.Column("cursor_raw", sa.Text, nullable=False,
              comment="cursor_at as the source wrote it (its own text, kept for diagnosis)."),
    _utc("cursor_at", comment="The newest change time read so far, in UTC; only moves forward."),
    _utc("updated_at", server_default=sa.func.now(), comment="When the cursor last moved."),
    comment="Incremental-read cursors: how far each account's endpoint has been read.",
)

account_health = sa.Table(
    "account_health", metadata,
    sa.Column("account_kind", sa.Text, primary_key=True, comment=_KIND),
    _account(primary_key=True),
    sa.Column("endpoint", sa.Text, primary_key=True, comment="The endpoint attempted."),
    _utc("token_expires_at", nullable=True,
         comment="When the account's token expires (read from the token; NULL: unknown)."),
    sa.Column("token_days_left", sa.Integer, nullable=True,
              comment="Whole days from the last attempt to token_expires_at."),
    _utc("last_attempt_at", comment="When the endpoint was last called."),
    _utc("last_success_at", nullable=True, comment="When the endpoint last answered well."),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0",
              comment="Failed attempts in a row; 0 after a success."),
    sa.Column("last_error_class", sa.Text, nullable=True,
              comment="Class of the last error: " + ", ".join(ERROR_CLASSES) + "."),
    _utc("last_error_at", nullable=True, comment="When the last error happened."),
    sa.Column("last_error", sa.Text, nullable=True,
              comment="The last error's message (at most 500 characters, no token)."),
    # Attempts in a row that answered 401/403 (migration 0012); other outcomes reset it.
    sa.Column("consecutive_unauthorized", sa.Integer, nullable=False, server_default="0",
              comment="Attempts in a row answered 401/403; enough of them suspend the "
              "account."),
    sa.CheckConstraint(
        "last_error_class IS NULL OR last_error_class IN ("
        + ", ".join(f"'{c}'" for c in ERROR_CLASSES) + ")", name="error_class"),
    comment="Sync health per account and endpoint: the last attempt, success and error.",
)

quarantine = sa.Table(
    "quarantine", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, comment="Surrogate key."),
    sa.Column("account_kind", sa.Text, nullable=False, comment=_KIND),
    _account(nullable=False),
    sa.Column("endpoint", sa.Text, nullable=False,
              comment="Where the record came from, e.g. wb/orders or moysklad/stock."),
    sa.Column("reason_code", sa.Text, nullable=False,
              comment="Why, as a code: missing_field, wrong_type, negative_value, bad_date, "
              "invalid_value, ..."),
    sa.Column("reason", sa.Text, nullable=False,
              comment="Why the record was refused, in words (e.g. the field and the problem)."),
    sa.Column("record", JSONB, nullable=True,
              comment="The refused record (long text cut, token masked, secret-looking keys "
              "removed)."),
    sa.Column("run_id", sa.Text, nullable=True,
              comment="The Dagster run that first quarantined the record."),
    _utc("quarantined_at", server_default=sa.func.now(),
         comment="When the record was first quarantined."),
    # migration 0011: one row per distinct raw record (logic/screening.record_digest), counted
    sa.Column("record_digest", sa.Text, nullable=False,
              comment="Digest of the original record: one row per distinct record."),
    sa.Column("record_size", sa.Integer, nullable=True,
              comment="Size of the original record in characters (the stored one may be "
              "cut)."),
    sa.Column("sightings", sa.Integer, nullable=False, server_default=sa.text("1"),
              comment="How many times the record was read and refused."),
    _utc("last_seen_at", server_default=sa.func.now(),
         comment="When the record was last read and refused."),
    sa.Index("ix_quarantine_endpoint_time", "account_kind", "endpoint", "quarantined_at"),
    sa.Index("ix_quarantine_quarantined_at", "quarantined_at"),
    sa.Index("uq_quarantine_record", "account_kind", "account_id", "endpoint", "record_digest",
             unique=True),
    comment="Source records that failed validation, kept out of the raw tables.",
)

unmatched_items = sa.Table(
    "unmatched_items", metadata,
    sa.Column("source", sa.Text, primary_key=True,
              comment="'wb' (a barcode) or 'moysklad' (an assortment item)."),
    _account(primary_key=True),
    sa.Column("item_key", sa.Text, primary_key=True,
              comment="The WB barcode or the MoySklad assortment id that matched nothing."),
    sa.Column("detail", sa.Text, nullable=True, comment="What is known of the item."),
    _utc("first_seen_at", server_default=sa.func.now(), comment="When it was first seen."),
    _utc("last_seen_at", server_default=sa.func.now(), comment="When it was last seen."),
    comment="Source items that match no SKU unit or barcode mapping (their rows stay "
            "unplanned).",
)

wb_orders = sa.Table(
    "wb_orders", metadata,
    sa.Column("srid", sa.Text, primary_key=True,
              comment="WB's unique id of the ordered unit (srid)."),
    _account("WB", nullable=False),
    _utc("ordered_at", comment="When the order was placed (WB date, in UTC)."),
    _utc("last_change_at", comment="When WB last changed the record (lastChangeDate, UTC)."),
    sa.Column("barcode", sa.Text, nullable=False, comment="The WB barcode ordered."),
    sa.Column("supplier_article", sa.Text, comment="The seller's article (supplierArticle)."),
    sa.Column("tech_size", sa.Text, comment="The size as WB has it (techSize)."),
    sa.Column("nm_id", sa.BigInteger, comment="WB's item number (nmId)."),
    sa.Column("warehouse_name", sa.Text, comment="The WB warehouse that ships the order."),
    _money("total_price", "Price before discounts (totalPrice), roubles."),
    _money("price_with_disc", "Price after the seller's discount (priceWithDisc), roubles."),
    _money("finished_price", "Price the buyer paid (finishedPrice), roubles."),
    sa.Column("is_cancel", sa.Boolean, nullable=False,
              comment="True when the order was cancelled (isCancel)."),
    _utc("cancelled_at", nullable=True, comment="When it was cancelled (cancelDate, UTC)."),
    sa.Column("g_number", sa.Text, comment="WB's id of the buyer's basket (gNumber)."),
    _ingested_at(),
    _ingested_at_brin("wb_orders"),
    comment="Raw WB orders (/api/v1/supplier/orders): one row per ordered unit.",
)

wb_sales = sa.Table(
    "wb_sales", metadata,
    sa.Column("sale_id", sa.Text, primary_key=True, comment="WB's id of the sale (saleID)."),
    _account("WB", nullable=False),
    sa.Column("srid", sa.Text, nullable=False, comment="The ordered unit's srid."),
    sa.Column("kind", sa.Text, nullable=False,
              comment="From saleID's first letter: sale, return, surcharge, sale_reversal or "
              "return_reversal."),
    _utc("sold_at", comment="When it was sold (WB date, in UTC)."),
    _utc("last_change_at", comment="When WB last changed the record (lastChangeDate, UTC)."),
    sa.Column("barcode", sa.Text, nullable=False, comment="The WB barcode sold."),
    sa.Column("warehouse_name", sa.Text, comment="The WB warehouse."),
    _money("for_pay", "What WB pays the seller (forPay), roubles."),
    _money("finished_price", "Price the buyer paid (finishedPrice), roubles."),
    _ingested_at(),
    _ingested_at_brin("wb_sales"),
    comment="Raw WB sales and returns (/api/v1/supplier/sales): one row per saleID.",
)

wb_stocks = sa.Table(
    "wb_stocks", metadata,
    _account("WB", primary_key=True),
    sa.Column("warehouse_name", sa.Text, primary_key=True, comment="The WB warehouse."),
    sa.Column("barcode", sa.Text, primary_key=True, comment="The WB barcode."),
    sa.Column("quantity", sa.Integer, nullable=False,
              comment="Units available for sale in the warehouse."),
    sa.Column("in_way_to_client", sa.Integer, nullable=False,
              comment="Units on their way to buyers (inWayToClient)."),
    sa.Column("in_way_from_client", sa.Integer, nullable=False,
              comment="Units returning from buyers (inWayFromClient)."),
    sa.Column("quantity_full", sa.Integer,
              comment="quantity + both in-transit counts, as WB reports it (quantityFull)."),
    _utc("last_change_at", comment="When WB last changed the record (lastChangeDate, UTC)."),
    _utc("as_of", comment="When this stock snapshot was read."),
    comment="Raw WB stock (/api/v1/supplier/stocks), replaced as a snapshot each run.",
)

ms_customer_orders = sa.Table(
    "ms_customer_orders", metadata,
    sa.Column("id", sa.Text, primary_key=True, comment="MoySklad's id of the order."),
    _account("MoySklad", nullable=False),
    sa.Column("name", sa.Text, comment="The order's number (name) in MoySklad."),
    _utc("moment_at", comment="The order's date (moment, in UTC)."),
    _utc("updated_at_source", comment="When MoySklad last changed the order (updated, UTC)."),
    sa.Column("applicable", sa.Boolean, nullable=False,
              comment="True when the order is posted (applicable)."),
    _ingested_at(),
    # Migration 0013: the order's state, when it went into the recycle bin (NULL: not in it),
    # and whether it counts as cancelled (not posted, in the bin or in a cancelled state).
    sa.Column("state_id", sa.Text, nullable=True,
              comment="The id of the order's state (status) in MoySklad."),
    _utc("deleted_at", nullable=True,
         comment="When the order went into the recycle bin; NULL: not in it."),
    sa.Column("is_cancelled", sa.Boolean, nullable=False, server_default=sa.false(),
              comment="Not posted, in the recycle bin or in a cancelled state: leaves demand."),
    comment="Raw MoySklad customer orders (the brand's own channel).",
)

ms_order_positions = sa.Table(
    "ms_order_positions", metadata,
    sa.Column("id", sa.Text, primary_key=True, comment="MoySklad's id of the position."),
    sa.Column("order_id", sa.Text, sa.ForeignKey("supplybrain.ms_customer_orders.id",
                                                 ondelete="CASCADE"), nullable=False, index=True,
              comment="The order (ms_customer_orders.id)."),
    sa.Column("assortment_id", sa.Text, nullable=False,
              comment="The item ordered (ms_assortment.id)."),
    sa.Column("quantity", sa.Numeric(14, 3), nullable=False, comment="Units ordered."),
    _money("price", "Unit price in roubles (MoySklad's kopecks / 100)."),
    _ingested_at(),
    sa.Index("ix_ms_order_positions_ingested_at", "ingested_at"),
    comment="Raw MoySklad order positions: one item and quantity of an order.",
)

ms_assortment = sa.Table(
    "ms_assortment", metadata,
    sa.Column("id", sa.Text, primary_key=True, comment="MoySklad's id of the item."),
    _account("MoySklad", nullable=False),
    sa.Column("kind", sa.Text, nullable=False,
              comment="MoySklad's type of the item (meta.type): product, variant, ..."),
    sa.Column("name", sa.Text, comment="The item's name."),
    sa.Column("code", sa.Text, comment="The item's code."),
    sa.Column("article", sa.Text, comment="The article code (a variant's is its product's)."),
    sa.Column("barcodes", ARRAY(sa.Text), nullable=False, server_default="{}",
              comment="The item's barcodes."),
    sa.Column("characteristics", JSONB, nullable=False, server_default="{}",
              comment="The characteristics that name a colour or size: {role: value}."),
    sa.Column("sellable", sa.Boolean, nullable=False,
              comment="A variant, or a product without variants: can be an SKU unit."),
    sa.Column("product_id", sa.Text, nullable=True, comment="A variant's product (its id)."),
    sa.Column("sku_unit_id", sa.Integer, nullable=True,
              comment="The SKU unit the item matched; NULL: none."),
    sa.Column("matched_by", sa.Text, nullable=True,
              comment="How it matched: 'barcode' or 'article_characteristics'."),
    _ingested_at(),
    comment="Raw MoySklad assortment (products and variants), mapped to SKU units.",
)

ms_stocks = sa.Table(
    "ms_stocks", metadata,
    _account("MoySklad", primary_key=True),
    sa.Column("store_id", sa.Text, primary_key=True, comment="MoySklad's id of the store."),
    sa.Column("assortment_id", sa.Text, primary_key=True,
              comment="The item (ms_assortment.id)."),
    sa.Column("stock", sa.Numeric(14, 3), nullable=False, comment="Units in stock now."),
    _utc("as_of", comment="When this stock snapshot was read."),
    comment="Raw MoySklad stock by store (/report/stock/bystore/current), replaced as a "
            "snapshot each run.",
)
