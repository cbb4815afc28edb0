"""WB statistics ingestion: orders, sales/returns and stock per warehouse, per account.

Orders and sales are incremental: each page is validated, upserted (by ``srid`` / ``saleID``),
its bad records quarantined and the cursor moved, all in one transaction, so a failed run loses
nothing and the next one goes on from the last committed page. Validation of the next page
overlaps the write of the current one (``_pages.PageWriter``), across accounts too. Stock is
a snapshot: all pages are read, then the account's rows are replaced in one transaction. Rows
that PostgreSQL refuses for a data reason are left out and quarantined (``_fallback``).
"""

from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import Connection, delete

from supplybrain_pipelines.assets._metadata import OWNERS
from supplybrain_pipelines.assets.ingest._fallback import upsert_models
from supplybrain_pipelines.assets.ingest._pages import (
    Feed,
    PageChunks,
    PageWriter,
    PageWritten,
    split_page,
    unmatched_wb_barcodes,
    write_page,
)
from supplybrain_pipelines.assets.ingest._run import (
    GROUP,
    IngestConfig,
    Outcome,
    for_each_account,
    materialize_result,
    page_budget,
    start_time,
)
from supplybrain_pipelines.assets.ingest.state import (
    note_unmatched,
    quarantine,
    read_cursor,
    record_health,
)
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.records import WbStock, validate_page
from supplybrain_pipelines.logic.records_fast import (
    FAST_ORDERS,
    FAST_SALES,
    check_page,
)
from supplybrain_pipelines.logic.timeutil import wb_query_time
from supplybrain_pipelines.resources.marketplace import Account, ApiError, MarketplaceApi
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse, bulk_upsert

#: WB's stock feed has no history: ask from its documented epoch for a full snapshot.
STOCK_EPOCH = "2019-06-20T00:00:00"

#: Each row is the model's fields (``FAST_ORDERS.fields``) in table columns, then the account.
ORDERS = Feed("orders", FAST_ORDERS, t.wb_orders, (
    "srid", "ordered_at", "last_change_at", "barcode", "supplier_article", "tech_size", "nm_id",
    "warehouse_name", "total_price", "price_with_disc", "finished_price", "is_cancel",
    "cancelled_at", "g_number", "account_id"))
SALES = Feed("sales", FAST_SALES, t.wb_sales, (
    "sale_id", "srid", "kind", "sold_at", "last_change_at", "barcode", "warehouse_name",
    "for_pay", "finished_price", "account_id"))


def ingest_incremental(context: dg.AssetExecutionContext, config: IngestConfig,
                       warehouse: PostgresWarehouse, marketplace: MarketplaceApi, feed: Feed
                       ) -> list[Outcome]:
    """Every active account's new pages of ``feed``. One writer thread commits the pages of all
    accounts in order, so the next account's pages are validated while the last ones of the
    account before are still being written; each account's health is queued behind its pages
    (a success is recorded only once they are committed)."""
    run_id = context.run.run_id
    budget = page_budget(context, config)

    def work(account: Account, outcome: Outcome) -> None:
        with warehouse.transaction() as conn:
            cursor_at = read_cursor(conn, account, feed.endpoint)
        start = start_time(cursor_at, config)
        client = marketplace.wb(account, logger=context.log)

        def write(conn: Connection, page: PageChunks) -> PageWritten:
            return write_page(conn, feed, account, page, run_id)

        def count(date_from: str, written: PageWritten) -> None:
            outcome.pages += 1
            outcome.inserted += written.inserted
            outcome.updated += written.updated
            outcome.quarantined += written.quarantined
            outcome.unmatched += written.unmatched
            context.log.info(f"wb {feed.endpoint} account {account.id}: page {outcome.pages} "
                             f"from {date_from}: {written.rows} rows, "
                             f"{written.quarantined} quarantined")

        for page in budget.pages(client.pages(feed.endpoint, wb_query_time(start),
                                              max_pages=config.max_pages), outcome):
            outcome.read += len(page.records)
            keys, page_chunks = split_page(page.records, feed)
            parts, submitted = PageChunks(keys), False
            try:
                for records in page_chunks:
                    parts.put(check_page(records, feed.model, (account.id,)))
                    if not submitted:  # waits while the writer is more than a page behind
                        writer.submit(lambda conn, p=parts: write(conn, p),
                                      lambda written, d=page.date_from: count(d, written))
                        submitted = True
            except BaseException:
                parts.abort()
                raise
            parts.close()

    def record(account: Account, error: ApiError | None) -> None:
        writer.submit(lambda conn: record_health(conn, account, feed.endpoint, error),
                      lambda _: None)

    with PageWriter(warehouse.connection) as writer:
        outcomes = for_each_account(context, warehouse, config, "wb", feed.endpoint, work,
                                    record=record)
    return outcomes


ASSET = dict(group_name=GROUP, owners=OWNERS, kinds={"postgres", "python"},
             deps=["wb_integration_accounts"], code_version="1")


@dg.asset(description="WB orders (one row per ordered unit, upserted by srid, times in UTC), "
          "read incrementally per account from /api/v1/supplier/orders with a 30-minute "
          "cursor overlap. Bad records go to supplybrain.quarantine.", **ASSET)
def wb_orders(context: dg.AssetExecutionContext, config: IngestConfig,
              warehouse: PostgresWarehouse, marketplace: MarketplaceApi) -> dg.MaterializeResult:
    outcomes = ingest_incremental(context, config, warehouse, marketplace, ORDERS)
    return materialize_result(warehouse, t.wb_orders, outcomes)


@dg.asset(description="WB sales and returns (saleID S…/R…/D…/A…/B…), upserted by saleID, read "
          "incrementally per account from /api/v1/supplier/sales.", **ASSET)
def wb_sales(context: dg.AssetExecutionContext, config: IngestConfig,
             warehouse: PostgresWarehouse, marketplace: MarketplaceApi) -> dg.MaterializeResult:
    outcomes = ingest_incremental(context, config, warehouse, marketplace, SALES)
    return materialize_result(warehouse, t.wb_sales, outcomes)


@dg.asset(description="Current WB stock per account, warehouse and barcode (available, in transit "
          "to and from clients), replaced as a whole snapshot each run.", **ASSET)
def wb_stocks(context: dg.AssetExecutionContext, config: IngestConfig,
              warehouse: PostgresWarehouse, marketplace: MarketplaceApi) -> dg.MaterializeResult:
    columns = ("account_id", "warehouse_name", "barcode", "quantity", "in_way_to_client",
               "in_way_from_client", "quantity_full", "last_change_at", "as_of")

    def work(account: Account, outcome: Outcome) -> None:
        client = marketplace.wb(account, logger=context.log)
        rows, sources, rejected = [], [], []
        for page in client.pages("stocks", STOCK_EPOCH, max_pages=config.max_pages):
            good, bad = validate_page(page.records, WbStock,
                                      key=lambda r: (r.warehouse_name, r.barcode),
                                      version=lambda r: r.last_change, sources=sources)
            rows += good
            rejected += bad
            outcome.pages += 1
            outcome.read += len(page.records)
        as_of = datetime.now(UTC)
        latest = {(r.warehouse_name, r.barcode): (r, raw) for r, raw in sorted(
            zip(rows, sources, strict=True), key=lambda pair: pair[0].last_change)}
        kept = [r for r, _ in latest.values()]
        with warehouse.transaction() as conn:
            conn.execute(delete(t.wb_stocks).where(t.wb_stocks.c.account_id == account.id))
            # rows PostgreSQL refuses are left out and quarantined
            written, refused = upsert_models(conn, kept, lambda batch: bulk_upsert(
                conn, t.wb_stocks, columns,
                [(account.id, r.warehouse_name, r.barcode, r.quantity, r.in_way_to_client,
                  r.in_way_from_client, r.quantity_full, r.last_change, as_of) for r in batch],
                ["account_id", "warehouse_name", "barcode"]), [raw for _, raw in latest.values()])
            outcome.quarantined += quarantine(conn, account, "wb/stocks", rejected + refused,
                                              context.run.run_id)
            unmatched = unmatched_wb_barcodes(conn, {r.barcode for r in kept})
            note_unmatched(conn, "wb", account, unmatched)
        outcome.inserted += written.inserted
        outcome.unmatched += len(unmatched)

    outcomes = for_each_account(context, warehouse, config, "wb", "stocks", work)
    return materialize_result(warehouse, t.wb_stocks, outcomes)
