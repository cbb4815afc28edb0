"""MoySklad ingestion: the assortment (mapped to SKU units), customer orders with positions,
and current stock by store, per account.

The assortment is read whole once, then incrementally by ``updated`` (cursor ``assortment``,
moved once every page of a run is written). Assortment items map to SKU units by barcode first
(a single-piece barcode in ``article_wb_mapping``), then by article code + colour and size
characteristics; what matches nothing is listed in ``unmatched_items``.

Customer orders are read incrementally by ``updated`` (cursor ``customerorder``), then the
orders moved into the recycle bin since the last run by ``deleted`` (cursor
``customerorder_deleted``; the default lists leave the bin out). An order counts as cancelled
(``is_cancelled``, which ``orders`` takes over, so it leaves demand) when it is not posted, is
in the bin, or is in one of the account's ``cancelled_states`` (``logic/moysklad_states``).
Orders deleted for good (bypassing or emptying the bin) are not seen: that needs MoySklad's
audit API, which is not read.
"""

from datetime import UTC, datetime

import dagster as dg
from psycopg.types.json import Jsonb
from sqlalchemy import bindparam, delete, select, text

from supplybrain_pipelines.assets._metadata import OWNERS
from supplybrain_pipelines.assets.ingest._fallback import upsert_models
from supplybrain_pipelines.assets.ingest._run import (
    CURSOR_OVERLAP,
    GROUP,
    IngestConfig,
    Outcome,
    for_each_account,
    materialize_result,
    page_budget,
    start_time,
)
from supplybrain_pipelines.assets.ingest.state import (
    advance_cursor,
    note_unmatched,
    quarantine,
    read_cursor,
)
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.moysklad_states import cancelled_state_ids
from supplybrain_pipelines.logic.records import (
    MsAssortmentItem,
    MsOrder,
    MsOrderHead,
    MsStock,
    validate_page,
)
from supplybrain_pipelines.logic.timeutil import moysklad_query_time
from supplybrain_pipelines.resources.marketplace import Account, MarketplaceApi
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse, UpsertResult, bulk_upsert

ASSET = dict(group_name=GROUP, owners=OWNERS, kinds={"postgres", "python"},
             deps=["moysklad_integration_accounts"], code_version="2")
#: Cursor of the recycle-bin read (the moment of the newest deletion seen).
DELETED_CURSOR = "customerorder_deleted"

#: ``is_cancelled`` of the account's orders (``:ids`` only, or all when NULL): not posted, in
#: the recycle bin, or in a cancelled state (``:cancelled``, the account's state ids). Rows
#: whose value stays are not touched (their ``ingested_at`` stays too).
MARK_CANCELLED = text("""
UPDATE supplybrain.ms_customer_orders AS o SET is_cancelled = x.cancelled
FROM (
    SELECT id, NOT applicable OR deleted_at IS NOT NULL
               OR coalesce(state_id = ANY (CAST(:cancelled AS text[])), false) AS cancelled
    FROM supplybrain.ms_customer_orders
    WHERE account_id = :account_id
      AND (CAST(:ids AS text[]) IS NULL OR id = ANY (CAST(:ids AS text[])))
) AS x
WHERE o.id = x.id AND o.is_cancelled IS DISTINCT FROM x.cancelled
""")

#: Barcode first, then article code (a variant's comes from its product) + colour + size; only
#: sellable items (variants, products without variants) can be SKU units.
MAP_ASSORTMENT = text("""
UPDATE supplybrain.ms_assortment AS a
SET sku_unit_id = m.sku_unit_id, matched_by = m.how
FROM (
    SELECT a.id, COALESCE(bc.id, ch.id) AS sku_unit_id,
           CASE WHEN bc.id IS NOT NULL THEN 'barcode'
                WHEN ch.id IS NOT NULL THEN 'article_characteristics' END AS how
    FROM supplybrain.ms_assortment a
    LEFT JOIN supplybrain.ms_assortment parent ON parent.id = a.product_id
    LEFT JOIN LATERAL (
        SELECT su.id FROM supplybrain.article_wb_mapping w
        JOIN supplybrain.sku_unit su ON su.article_id = w.article_id
             AND su.color_id = w.color_id AND su.size_id = w.size_id
        WHERE w.bundle_type_id IS NULL AND w.wb_sku = ANY (a.barcodes)
        ORDER BY su.id LIMIT 1) bc ON true
    LEFT JOIN LATERAL (
        SELECT su.id FROM supplybrain.sku_unit su
        JOIN supplybrain.article ar ON ar.id = su.article_id
        JOIN supplybrain.color c ON c.id = su.color_id
        JOIN supplybrain.size s ON s.id = su.size_id
        WHERE ar.code = COALESCE(a.article, parent.article)
          AND c.inner_code = a.characteristics ->> 'color'
          AND s.label = a.characteristics ->> 'size'
        ORDER BY su.id LIMIT 1) ch ON true
    WHERE a.account_id = :account_id AND a.sellable
) AS m
WHERE a.id = m.id AND (a.sku_unit_id, a.matched_by) IS DISTINCT FROM (m.sku_unit_id, m.how)
""")


def _newest(current, rows, attr: str):
    """The row with the latest ``attr`` among ``current`` and ``rows`` (None never wins)."""
    for row in rows:
        value = getattr(row, attr)
        if value is not None and (current is None or value > getattr(current, attr)):
            current = row
    return current


@dg.asset(description="MoySklad assortment (products and size/colour variants with barcodes), "
          "read whole once and then only what changed (by `updated`), mapped to SKU units by "
          "barcode, then by article code and characteristics.", **ASSET)
def moysklad_assortment(context: dg.AssetExecutionContext, config: IngestConfig,
                        warehouse: PostgresWarehouse, marketplace: MarketplaceApi
                        ) -> dg.MaterializeResult:
    columns = ("id", "account_id", "kind", "name", "code", "article", "barcodes",
               "characteristics", "sellable", "product_id")

    def work(account: Account, outcome: Outcome) -> None:
        with warehouse.transaction() as conn:
            cursor_at = read_cursor(conn, account, "assortment")
        since = None if cursor_at is None else moysklad_query_time(cursor_at - CURSOR_OVERLAP)
        client = marketplace.moysklad(account, logger=context.log)
        newest = None
        for page in client.assortment(since):
            sources: list = []  # the raw record of each row, for the quarantine
            rows, rejected = validate_page(page, MsAssortmentItem, sources=sources)
            with warehouse.transaction() as conn:
                written, refused = upsert_models(conn, rows, lambda batch: bulk_upsert(
                    conn, t.ms_assortment, columns, [
                        (r.id, account.id, r.kind, r.name, r.code, r.article, r.barcodes,
                         Jsonb(r.characteristics), r.sellable, r.product_id) for r in batch],
                    ["id"]), sources)
                outcome.quarantined += quarantine(conn, account, "moysklad/assortment",
                                                  rejected + refused, context.run.run_id)
            outcome.pages += 1
            outcome.read += len(page)
            outcome.inserted += written.inserted
            outcome.updated += written.updated
            newest = _newest(newest, rows, "updated")
            context.log.info(f"moysklad assortment account {account.id}: page {outcome.pages}: "
                             f"{len(rows)} items{' changed' if since else ''}")
        with warehouse.transaction() as conn:
            if newest is not None:  # only once every page is written
                advance_cursor(conn, account, "assortment", newest.updated_raw, newest.updated)
            conn.execute(MAP_ASSORTMENT, {"account_id": account.id})
            a = t.ms_assortment.c
            unmatched = {row.id: f"MoySklad {row.kind} {row.article or row.code or ''} "
                         f"{dict(row.characteristics)} matches no SKU unit"
                         for row in conn.execute(select(a.id, a.kind, a.article, a.code,
                                                        a.characteristics).where(
                             a.account_id == account.id, a.sellable,
                             a.sku_unit_id.is_(None)))}
            note_unmatched(conn, "moysklad", account, unmatched)
        outcome.unmatched = len(unmatched)

    outcomes = for_each_account(context, warehouse, config, "moysklad", "assortment", work)
    return materialize_result(warehouse, t.ms_assortment, outcomes)


@dg.asset(description="MoySklad customer orders (own channel) with their positions, read "
          "incrementally per account by `updated`, then the orders moved into the recycle bin "
          "(by `deleted`); positions are replaced with the order. Orders not posted, in the bin "
          "or in a cancelled state are marked is_cancelled and leave demand.", **ASSET)
def moysklad_customer_orders(context: dg.AssetExecutionContext, config: IngestConfig,
                             warehouse: PostgresWarehouse, marketplace: MarketplaceApi
                             ) -> dg.MaterializeResult:
    order_columns = ("id", "account_id", "name", "moment_at", "updated_at_source", "applicable",
                     "state_id", "deleted_at")
    position_columns = ("id", "order_id", "assortment_id", "quantity", "price")
    accounts = t.moysklad_integration_accounts.c
    budget = page_budget(context, config)

    def work(account: Account, outcome: Outcome) -> None:
        with warehouse.transaction() as conn:
            cursor_at = read_cursor(conn, account, "customerorder")
            deleted_cursor = read_cursor(conn, account, DELETED_CURSOR)
            names = conn.execute(select(accounts.cancelled_states).where(
                accounts.id == account.id)).scalar_one()
        client = marketplace.moysklad(account, logger=context.log)
        marks = {"account_id": account.id,
                 "cancelled": sorted(cancelled_state_ids(client.customer_order_states(), names))}
        start = start_time(cursor_at, config)
        for page in budget.pages(client.customer_orders(moysklad_query_time(start)), outcome):
            sources: list = []  # the raw record of each row, for the quarantine
            rows, rejected = validate_page(page, MsOrder, key=lambda r: r.id,
                                           version=lambda r: r.updated, sources=sources)
            with warehouse.transaction() as conn:
                # orders PostgreSQL refuses (with their positions) are left out, quarantined
                written, refused = upsert_models(conn, rows, lambda batch: write_orders(
                    conn, account, batch), sources)
                order_ids = [r.id for r in rows]
                conn.execute(MARK_CANCELLED, {**marks, "ids": order_ids})
                outcome.quarantined += quarantine(conn, account, "moysklad/customerorder",
                                                  rejected + refused, context.run.run_id)
                if rows:
                    newest = max(rows, key=lambda r: r.updated)
                    advance_cursor(conn, account, "customerorder", newest.updated_raw,
                                   newest.updated)
            outcome.pages += 1
            outcome.read += len(page)
            outcome.inserted += written.inserted
            outcome.updated += written.updated
            context.log.info(f"moysklad customerorder account {account.id}: page "
                             f"{outcome.pages}: {len(rows)} orders, {len(rejected)} quarantined")
        read_recycle_bin(account, client, start_time(deleted_cursor, config), outcome, marks)
        with warehouse.transaction() as conn:  # all orders: cancelled_states may have changed
            conn.execute(MARK_CANCELLED, {**marks, "ids": None})

    def write_orders(conn, account: Account, batch) -> UpsertResult:
        """Orders and their positions (replaced): all of them or, on error, none."""
        written = bulk_upsert(conn, t.ms_customer_orders, order_columns, [
            (r.id, account.id, r.name, r.moment, r.updated, r.applicable, r.state_id,
             None) for r in batch], ["id"])
        conn.execute(delete(t.ms_order_positions).where(
            t.ms_order_positions.c.order_id.in_(bindparam("ids", expanding=True))),
            {"ids": [r.id for r in batch]})
        bulk_upsert(conn, t.ms_order_positions, position_columns, [
            (p.id, r.id, p.assortment_id, p.quantity, round(p.price_kopecks / 100, 2))
            for r in batch for p in r.positions], ["id"])
        return written

    def read_recycle_bin(account: Account, client, start, outcome: Outcome, marks) -> None:
        """Orders moved into the recycle bin since the cursor: ``deleted_at`` set (a bin order
        never seen before is kept without positions); the cursor moves once all are written."""
        newest = None
        for page in client.deleted_customer_orders(moysklad_query_time(start)):
            rows, rejected = validate_page(page, MsOrderHead, key=lambda r: r.id,
                                           version=lambda r: r.updated)
            with warehouse.transaction() as conn:
                written, refused = upsert_models(conn, rows, lambda batch: bulk_upsert(
                    conn, t.ms_customer_orders, order_columns, [
                        (r.id, account.id, r.name, r.moment, r.updated, r.applicable,
                         r.state_id, r.deleted or r.updated) for r in batch], ["id"]))
                conn.execute(MARK_CANCELLED, {**marks, "ids": [r.id for r in rows]})
                outcome.quarantined += quarantine(conn, account, "moysklad/customerorder",
                                                  rejected + refused, context.run.run_id)
            outcome.pages += 1
            outcome.read += len(page)
            outcome.inserted += written.inserted
            outcome.updated += written.updated
            newest = _newest(newest, rows, "deleted")
            outcome.notes.append(f"{len(rows)} in the recycle bin")
        if newest is not None:
            with warehouse.transaction() as conn:
                advance_cursor(conn, account, DELETED_CURSOR, newest.deleted_raw, newest.deleted)

    outcomes = for_each_account(context, warehouse, config, "moysklad", "customerorder", work)
    return materialize_result(warehouse, t.ms_customer_orders, outcomes)


@dg.asset(description="Current MoySklad stock per account, store and assortment item "
          "(/report/stock/bystore/current), replaced as a snapshot each run.", **ASSET)
def moysklad_stock(context: dg.AssetExecutionContext, config: IngestConfig,
                   warehouse: PostgresWarehouse, marketplace: MarketplaceApi
                   ) -> dg.MaterializeResult:
    def work(account: Account, outcome: Outcome) -> None:
        records = marketplace.moysklad(account, logger=context.log).stock_by_store_current()
        sources: list = []  # the raw record of each row, for the quarantine
        rows, rejected = validate_page(records, MsStock,
                                       key=lambda r: (r.store_id, r.assortment_id),
                                       version=lambda r: 0, sources=sources)
        as_of = datetime.now(UTC)
        with warehouse.transaction() as conn:
            conn.execute(delete(t.ms_stocks).where(t.ms_stocks.c.account_id == account.id))
            written, refused = upsert_models(conn, rows, lambda batch: bulk_upsert(
                conn, t.ms_stocks, ("account_id", "store_id", "assortment_id", "stock", "as_of"),
                [(account.id, r.store_id, r.assortment_id, r.stock, as_of) for r in batch],
                ["account_id", "store_id", "assortment_id"]), sources)
            outcome.quarantined += quarantine(conn, account, "moysklad/stock",
                                              rejected + refused, context.run.run_id)
        outcome.pages = 1
        outcome.read = len(records)
        outcome.inserted = written.inserted

    outcomes = for_each_account(context, warehouse, config, "moysklad", "stock", work)
    return materialize_result(warehouse, t.ms_stocks, outcomes)
