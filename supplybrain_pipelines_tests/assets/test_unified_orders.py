"""The incremental refresh of ``orders`` and ``orders_daily`` (``assets/unified.py``) on raw WB
rows written straight into PostgreSQL: new rows come in, an unmatched line is re-mapped once its
barcode is mapped, and a refresh with nothing new changes nothing."""

from __future__ import annotations

from datetime import date

import dagster as dg

from supplybrain_pipelines.assets.unified import orders_and_rollup
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all, url_text

UNKNOWN = "2999999999999"


def raw_order_at(url, srid: str, barcode: str, at: str) -> None:
    """A raw WB order of one piece at ``at`` (ISO time with offset)."""
    execute(url, "INSERT INTO supplybrain.wb_orders (srid, account_id, ordered_at, "
            "last_change_at, barcode, total_price, price_with_disc, is_cancel) VALUES "
            "(:srid, 1, :at, :at, :barcode, 100, 90, false)", srid=srid, barcode=barcode, at=at)


def raw_order(url, srid: str, barcode: str, day: int) -> None:
    raw_order_at(url, srid, barcode, f"2026-03-{day:02d}T10:00:00+00:00")


def refresh(url) -> dict:
    result = dg.materialize([orders_and_rollup], resources={
        "warehouse": PostgresWarehouse(database_url=url_text(url))})
    metadata = result.asset_materializations_for_node("orders_and_rollup")[0].metadata
    return {key: metadata[key].value for key in ("changed", "unmatched_lines")}


def test_unmatched_lines_are_remapped_once_their_barcode_is_mapped(db):
    known = fetch_all(db, "SELECT wb_sku, article_id FROM supplybrain.article_wb_mapping "
                      "ORDER BY id LIMIT 1")[0]
    raw_order(db, "s-known", known[0], 1)
    raw_order(db, "s-unknown-1", UNKNOWN, 1)
    raw_order(db, "s-unknown-2", UNKNOWN, 2)
    assert refresh(db) == {"changed": 3, "unmatched_lines": 2}
    assert refresh(db) == {"changed": 0, "unmatched_lines": 2}  # nothing new: nothing changes

    execute(db, "INSERT INTO supplybrain.article_wb_mapping (article_id, wb_sku, bundle_type_id,"
            " color_id, size_id) SELECT article_id, :sku, bundle_type_id, color_id, size_id "
            "FROM supplybrain.article_wb_mapping WHERE wb_sku = :known", sku=UNKNOWN,
            known=known[0])
    assert refresh(db) == {"changed": 2, "unmatched_lines": 0}  # no raw row changed
    assert fetch_all(db, "SELECT order_id, article_id FROM supplybrain.orders ORDER BY 1") == [
        ("s-known", known[1]), ("s-unknown-1", known[1]), ("s-unknown-2", known[1])]
    assert fetch_all(db, "SELECT day, article_id, units_net FROM supplybrain.orders_daily "
                     "WHERE item_key = :sku ORDER BY day", sku=UNKNOWN) == [
        (date(2026, 3, 1), known[1], 1),
        (date(2026, 3, 2), known[1], 1)]
    assert refresh(db) == {"changed": 0, "unmatched_lines": 0}
