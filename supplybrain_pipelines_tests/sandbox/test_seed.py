"""The generated business written into a migrated PostgreSQL: master data by natural keys,
idempotent re-runs, and the accounts pointed at a running sandbox."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import URL

from supplybrain_pipelines.sandbox.seed import (
    TABLES,
    load_master_data,
    master_data_counts,
    register_accounts,
)
from supplybrain_pipelines_tests.fixtures_db import engine, fetch_all
from supplybrain_pipelines_tests.token_helpers import fetch_opened


def table_counts(url: URL) -> dict[str, int]:
    return {name: fetch_all(url, f"SELECT count(*) FROM supplybrain.{name}")[0][0]
            for name in TABLES}


def versions(url: URL) -> dict[str, list]:
    """Every row's xmin: equal snapshots mean no row was rewritten."""
    return {name: fetch_all(url, f"SELECT id, xmin::text FROM supplybrain.{name} ORDER BY id")
            for name in TABLES}


def load(url: URL, business) -> dict[str, int]:
    eng = engine(url)
    try:
        with eng.begin() as conn:
            return load_master_data(conn, business)
    finally:
        eng.dispose()


def test_load_master_data_counts_and_idempotent_rerun(migrated_db_url, business):
    expected = master_data_counts(business)
    assert load(migrated_db_url, business) == expected
    assert table_counts(migrated_db_url) == expected
    before = versions(migrated_db_url)
    assert load(migrated_db_url, business) == dict.fromkeys(TABLES, 0)
    assert versions(migrated_db_url) == before


def test_loaded_rows_keep_the_business_meaning(migrated_db_url, business):
    load(migrated_db_url, business)
    kinds = fetch_all(migrated_db_url, """
        SELECT count(*) FILTER (WHERE bundle_type_id IS NOT NULL AND color_id IS NULL),
               count(*) FILTER (WHERE bundle_type_id IS NULL AND color_id IS NOT NULL),
               count(*) FILTER (WHERE size_id IS NULL)
        FROM supplybrain.article_wb_mapping""")[0]
    bundles = sum(1 for b in business.wb_barcodes if b.bundle_type)
    assert kinds == (bundles, len(business.wb_barcodes) - bundles, 0)
    # A single-piece barcode leads to exactly its SKU unit.
    single = next(b for b in business.wb_barcodes if b.color)
    unit = fetch_all(migrated_db_url, """
        SELECT a.code, c.inner_code, s.label FROM supplybrain.article_wb_mapping m
        JOIN supplybrain.sku_unit u ON (u.article_id, u.color_id, u.size_id)
                                     = (m.article_id, m.color_id, m.size_id)
        JOIN supplybrain.article a ON a.id = u.article_id
        JOIN supplybrain.color c ON c.id = u.color_id
        JOIN supplybrain.size s ON s.id = u.size_id
        WHERE m.wb_sku = :sku""", sku=single.barcode)
    assert unit == [(single.article, single.color, single.size)]
    recipe = fetch_all(migrated_db_url, """
        SELECT c.inner_code FROM supplybrain.bundle_recipe r
        JOIN supplybrain.article a ON a.id = r.article_id
        JOIN supplybrain.bundle_type t ON t.id = r.bundle_type_id
        JOIN supplybrain.color c ON c.id = r.color_id
        WHERE a.code = :article AND t.code = 'PACK4' ORDER BY r.position""",
                       article=business.articles[0].code)
    assert tuple(c for (c,) in recipe) == business.recipe(business.articles[0].code, "PACK4")
    nsk = fetch_all(migrated_db_url, "SELECT code FROM supplybrain.warehouse "
                                     "WHERE type = 'internal'")
    assert nsk == [("NSK",)]
    open_items = fetch_all(migrated_db_url, """
        SELECT coalesce(sum(i.quantity), 0) FROM supplybrain.purchase_order p
        JOIN supplybrain.purchase_order_item i ON i.purchase_order_id = p.id
        WHERE p.status IN ('approved', 'ordered') AND p.target_date > :today""",
                           today=business.as_of)[0][0]
    assert open_items == sum(i.quantity for po in business.open_purchase_orders
                             for i in po.items)
    settings = fetch_all(migrated_db_url, """
        SELECT default_target_coverage_days, default_lead_time_days,
               default_fabric_min_batch_qty, default_elastic_min_batch_qty
        FROM supplybrain.global_planning_settings""")
    assert settings == [(60, 70, 7000, 3000)]


def test_changed_master_data_is_updated_in_place(migrated_db_url, business):
    load(migrated_db_url, business)
    eng = engine(migrated_db_url)
    try:
        with eng.begin() as conn:
            conn.execute(sa.text("UPDATE supplybrain.article SET name = 'renamed' "
                                 "WHERE code = :code"), {"code": business.articles[0].code})
            conn.execute(sa.text("UPDATE supplybrain.purchase_order SET status = 'cancelled'"))
    finally:
        eng.dispose()
    written = load(migrated_db_url, business)
    assert written["article"] == 1
    assert written["purchase_order"] == len(business.purchase_orders)
    assert sum(written.values()) == 1 + len(business.purchase_orders)
    assert table_counts(migrated_db_url) == master_data_counts(business)


def test_register_accounts_points_them_at_the_sandbox(migrated_db_url, business, sandbox):
    eng = engine(migrated_db_url)
    try:
        for _ in range(2):  # idempotent: matched by name
            with eng.begin() as conn:
                register_accounts(conn, business, sandbox.url + "/")
        wb = fetch_opened(migrated_db_url, "SELECT name, supplier_id, api_token_encrypted, "
                          "is_active, base_url FROM supplybrain.wb_integration_accounts")
        ms = fetch_opened(migrated_db_url, "SELECT name, account_id, api_token_encrypted, "
                          "base_url FROM supplybrain.moysklad_integration_accounts")
        assert sorted(wb) == sorted(
            (a.name, a.external_id, a.token, True, sandbox.wb_base_url)
            for a in business.wb_accounts)
        assert ms == [(a.name, a.external_id, a.token, sandbox.moysklad_base_url)
                      for a in business.moysklad_accounts]
        with eng.begin() as conn:
            register_accounts(conn, business, "http://127.0.0.1:1")
        moved = fetch_all(migrated_db_url, "SELECT DISTINCT base_url "
                                           "FROM supplybrain.wb_integration_accounts")
        assert moved == [("http://127.0.0.1:1",)]
        with eng.begin() as conn:
            register_accounts(conn, business, sandbox.url)
    finally:
        eng.dispose()
    # What a pipeline would do: read an account, call the sandbox it points at.
    name, token, base_url = fetch_opened(
        migrated_db_url, "SELECT name, api_token_encrypted, base_url FROM "
                         "supplybrain.wb_integration_accounts ORDER BY id LIMIT 1")[0]
    rows = httpx.get(base_url + "/api/v1/supplier/orders", headers={"Authorization": token},
                     params={"dateFrom": "2026-05-14"}).json()
    assert rows and rows == [r for r in business.wb_orders_by_account[name]
                             if r["lastChangeDate"] >= "2026-05-14"][:1000]
