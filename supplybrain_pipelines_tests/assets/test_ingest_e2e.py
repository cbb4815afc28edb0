"""Ingestion end to end: the real assets against the sandbox over HTTP into PostgreSQL.

Row counts are checked against what the generator says it served; a second run adds nothing;
faults (401 for one account, 429, 5xx, malformed records) cost only what they must.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa

from supplybrain_pipelines.assets.ingest import INGEST_ASSETS
from supplybrain_pipelines.assets.unified import orders_and_rollup, stock
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.resources.marketplace import MarketplaceApi
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.malformed import KINDS, TAG
from supplybrain_pipelines.sandbox.model import Business
from supplybrain_pipelines.sandbox.seed import load_master_data, register_accounts
from supplybrain_pipelines.sandbox.server import SandboxServer
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all, url_text

ASSETS = [*INGEST_ASSETS, orders_and_rollup, stock]
INCREMENTAL = ("wb_orders", "wb_sales", "moysklad_customer_orders")


@pytest.fixture(scope="module")
def business() -> Business:
    return generate_business(seed=11, articles=6)  # as of today: the backfill horizon is real


def ingest(url, instance, **config) -> dg.ExecuteInProcessResult:
    # Read everything whatever the clock says: the page budget stops at the next monitoring
    # tick (assets/ingest/test_page_budget.py tests it with page_budget_seconds=0).
    config = {"backfill_days": 150, "page_budget_seconds": None, **config}
    run_config = {"ops": {name: {"config": config}
                          for name in ("wb_orders", "wb_sales", "wb_stocks",
                                       "moysklad_assortment", "moysklad_customer_orders",
                                       "moysklad_stock")}}
    return dg.materialize(
        ASSETS, instance=instance, run_config=run_config, raise_on_error=False,
        resources={"warehouse": PostgresWarehouse(database_url=url_text(url)),
                   "marketplace": MarketplaceApi(wb_min_interval_seconds=0, max_attempts=4,
                                                 backoff_max_seconds=0.2,
                                                 max_retry_after_seconds=2)})


def counts(url) -> dict[str, int]:
    engine = sa.create_engine(url)
    tables = [t.wb_orders, t.wb_sales, t.wb_stocks, t.ms_customer_orders, t.ms_order_positions,
              t.ms_assortment, t.ms_stocks, t.orders, t.orders_daily, t.stock, t.quarantine]
    with engine.connect() as conn:
        result = {tb.name: conn.execute(sa.select(sa.func.count()).select_from(tb)).scalar_one()
                  for tb in tables}
    engine.dispose()
    return result


def scalar(url, query: str):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.text(query)).scalar()
    engine.dispose()
    return value


def test_empty_database_ingests_exactly_what_was_served_and_a_rerun_adds_nothing(
        seeded_db, dagster_instance, business, sandbox):
    first = ingest(seeded_db, dagster_instance)
    assert first.success
    served_orders = {o["srid"] for rows in business.wb_orders_by_account.values() for o in rows}
    served_sales = {s["saleID"] for rows in business.wb_sales_by_account.values() for s in rows}
    served_stocks = sum(len(rows) for rows in business.wb_stocks_by_account.values())
    positions = sum(len(o["positions"]["rows"]) for o in business.ms_customer_orders)
    after = counts(seeded_db)
    assert after["wb_orders"] == len(served_orders)
    assert after["wb_sales"] == len(served_sales)
    assert after["wb_stocks"] == served_stocks
    assert after["ms_customer_orders"] == len(business.ms_customer_orders)
    assert after["ms_order_positions"] == positions
    assert after["ms_assortment"] == len(business.ms_assortment)
    assert after["orders"] == len(served_orders) + positions
    assert after["quarantine"] == 0
    # MoySklad's current-stock report leaves out zero lines unless asked; zero is no row
    own_lines = [line for line in business.ms_stock_lines if line["stock"] != 0]
    assert after["stock"] == served_stocks + len(own_lines)
    assert scalar(seeded_db, "SELECT sum(units_ordered) FROM supplybrain.orders_daily") == \
        scalar(seeded_db, "SELECT sum(quantity) FROM supplybrain.orders")
    # every WB barcode is mapped; the deliberately unmatched MoySklad items are listed
    assert scalar(seeded_db, "SELECT count(*) FROM supplybrain.orders "
                  "WHERE channel = 'wb' AND article_id IS NULL") == 0
    unmatched = scalar(seeded_db, "SELECT array_agg(item_key ORDER BY item_key) FROM "
                       "supplybrain.unmatched_items WHERE source = 'moysklad'")
    assert sorted(unmatched) == sorted(business.ms_unmatched_ids)
    by_characteristics = scalar(seeded_db, "SELECT count(*) FROM supplybrain.ms_assortment "
                                "WHERE matched_by = 'article_characteristics'")
    assert by_characteristics == len(business.ms_variants_without_barcode)
    # a naive Moscow time became UTC: 3 hours earlier
    one = business.wb_orders_by_account[business.wb_accounts[0].name][0]
    stored = scalar(seeded_db, f"SELECT to_char(ordered_at AT TIME ZONE 'UTC', "
                    f"'YYYY-MM-DD\"T\"HH24:MI:SS') FROM supplybrain.wb_orders "
                    f"WHERE srid = '{one['srid']}'")
    assert stored < one["date"] and stored[11:13] != one["date"][11:13]

    # account health: every endpoint succeeded; WB token expiry read from the JWT exp claim
    engine = sa.create_engine(seeded_db)
    with engine.connect() as conn:
        health = conn.execute(sa.text(
            "SELECT a.name, h.endpoint, h.token_expires_at, h.consecutive_failures "
            "FROM supplybrain.account_health h JOIN supplybrain.wb_integration_accounts a "
            "ON a.id = h.account_id WHERE h.account_kind = 'wb'")).all()
    engine.dispose()
    expiry = {a.name: a.token_expires_at for a in business.wb_accounts}
    assert len(health) == 3 * len(business.wb_accounts)
    assert all(row.token_expires_at == expiry[row.name] for row in health)
    assert all(row.consecutive_failures == 0 for row in health)

    second = ingest(seeded_db, dagster_instance)
    assert second.success
    assert counts(seeded_db) == after
    for name in INCREMENTAL:
        metadata = second.asset_materializations_for_node(name)[0].metadata
        assert metadata["inserted"].value == 0, name


def test_a_401_takes_out_only_that_account_and_the_token_never_leaks(
        seeded_db, dagster_instance, business, sandbox, capsys, caplog):
    locked, other = business.wb_accounts[0], business.wb_accounts[1]
    sandbox.faults.unauthorized(locked.token)
    sandbox.faults.rate_limit_next(1, retry_after_s=1, api="wb")
    result = ingest(seeded_db, dagster_instance)
    assert result.success
    own = {o["srid"] for o in business.wb_orders_by_account[other.name]}
    stored = scalar(seeded_db, "SELECT count(*) FROM supplybrain.wb_orders")
    assert stored == len(own)
    health = scalar(seeded_db, "SELECT string_agg(DISTINCT last_error_class, ',') FROM "
                    "supplybrain.account_health WHERE consecutive_failures > 0")
    assert health == "unauthorized"
    events = dagster_instance.all_logs(result.run_id)
    text = " ".join(str(event) for event in events) + capsys.readouterr().out + caplog.text
    for account in (*business.wb_accounts, *business.moysklad_accounts):
        assert account.token not in text
    assert scalar(seeded_db, "SELECT count(*) FROM supplybrain.quarantine "
                  f"WHERE record::text LIKE '%{locked.token[-24:]}%'") == 0


def test_malformed_records_are_quarantined_and_the_good_ones_kept(
        seeded_db, dagster_instance, business, sandbox):
    clean = generate_business(seed=11, articles=6)
    served = {o["srid"] for rows in clean.wb_orders_by_account.values() for o in rows}
    sandbox.faults.malformed(set(KINDS) - {"huge_text"})  # 10 MiB in each of ~40 pages: below
    result = ingest(seeded_db, dagster_instance)
    assert result.success
    injected = set(sandbox.faults.injected_counts())
    quarantined = set(scalar(seeded_db, """
        SELECT array_agg(DISTINCT CASE jsonb_typeof(record)
            WHEN 'object' THEN record ->> '_sandbox_malformed'
            WHEN 'string' THEN split_part(record #>> '{}', ':', 2) END)
        FROM supplybrain.quarantine""") or [])
    # valid records for items we don't know are kept (and reported as unmatched), not rejected
    kept = {"unknown_barcode", "unknown_assortment"}
    assert len(injected) >= 20
    assert injected - kept == quarantined - {None}
    assert scalar(seeded_db, "SELECT count(*) FROM supplybrain.quarantine "
                  "WHERE reason = '' OR record IS NULL") == 0
    # every good order is kept: the malformed ones came on top of the served business
    stored = set(scalar(seeded_db, "SELECT array_agg(srid) FROM supplybrain.wb_orders "
                        "WHERE barcode NOT LIKE '999%'") or [])
    assert served <= stored


#: The quarantine reason of each kind of record that PostgreSQL cannot store, or refuses
#: (``sandbox/malformed.py``; the rules are in ``logic/screening.py`` and ``_fallback.py``).
POISON_REASONS = {
    "nul_text": "unstorable_text", "lone_surrogate": "unstorable_text",
    "nul_key": "unstorable_text", "control_character": "control_character",
    "c1_control": "control_character", "huge_text": "text_too_long",
    "long_key": "text_too_long", "deep_nesting": "too_deep",
    "nan_number": "number_out_of_range", "infinite_number": "number_out_of_range",
    "huge_integer": "number_out_of_range", "column_overflow": "write_rejected",
}
#: Where each poison kind is injected (sandbox endpoint -> quarantine endpoint).
POISON_ENDPOINTS = {
    "wb/orders": set(POISON_REASONS) - {"column_overflow"},
    "wb/sales": set(POISON_REASONS),
    "wb/stocks": set(POISON_REASONS),
    "moysklad/customerorder": set(POISON_REASONS),
}


@pytest.fixture
def one_page_sandbox(business) -> Iterator[SandboxServer]:
    """Pages large enough for a whole feed: each kind comes in a few pages, not in dozens."""
    with SandboxServer(business, page_cap=100_000) as server:
        yield server


def all_counts(url) -> dict[str, int]:
    """Rows of every table of the application schema."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = conn.execute(sa.text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "'supplybrain' AND table_type = 'BASE TABLE' ORDER BY 1")).scalars().all()
        result = {name: conn.execute(sa.text(f'SELECT count(*) FROM supplybrain."{name}"'))
                  .scalar_one() for name in names}
    engine.dispose()
    return result


def test_no_record_stops_ingestion_and_a_replay_adds_no_row(
        migrated_db_url, dagster_instance, business, one_page_sandbox):
    """35 kinds of bad record, the 12 kinds of poison among them, in every feed: the good
    records are all kept, each bad one is quarantined with its reason, and reading the same
    pages again (cursors dropped: the worst overlap) changes no table's row count, only the
    quarantine's sightings."""
    engine = sa.create_engine(migrated_db_url)
    with engine.begin() as conn:
        load_master_data(conn, business)
        register_accounts(conn, business, one_page_sandbox.url)
    engine.dispose()
    one_page_sandbox.faults.malformed("all")
    first = ingest(migrated_db_url, dagster_instance)
    assert first.success
    assert first.get_step_failure_events() == []
    injected = one_page_sandbox.faults.injected_counts()
    assert len(KINDS) >= 30 and set(POISON_REASONS) <= set(injected)
    found = {(row[0], row[1]): row[2] for row in fetch_all(migrated_db_url, f"""
        SELECT endpoint, record ->> '{TAG}', array_agg(DISTINCT reason_code ORDER BY reason_code)
        FROM supplybrain.quarantine WHERE jsonb_typeof(record) = 'object'
          AND record ? '{TAG}' GROUP BY 1, 2""")}
    for endpoint, kinds in POISON_ENDPOINTS.items():
        for kind in kinds:
            assert found.get((endpoint, kind)) == [POISON_REASONS[kind]], (endpoint, kind)
    # and every other kind too, but the valid records of unknown items (kept, unmatched)
    bare = set(scalar(migrated_db_url, f"""SELECT array_agg(DISTINCT split_part(record #>> '{{}}',
        ':', 2)) FROM supplybrain.quarantine WHERE jsonb_typeof(record) = 'string'
        AND record #>> '{{}}' LIKE '{TAG}:%'""") or [])
    assert {kind for _, kind in found} | bare == \
        set(injected) - {"unknown_barcode", "unknown_assortment"}
    assert scalar(migrated_db_url, "SELECT count(*) FROM supplybrain.quarantine "
                  "WHERE reason = '' OR record IS NULL OR record_size IS NULL") == 0
    clean = generate_business(seed=11, articles=6)
    orders = {o["srid"] for rows in clean.wb_orders_by_account.values() for o in rows}
    sales = {s["saleID"] for rows in clean.wb_sales_by_account.values() for s in rows}
    ms_orders = {o["id"] for o in clean.ms_customer_orders}
    assert orders <= set(scalar(migrated_db_url,
                                "SELECT array_agg(srid) FROM supplybrain.wb_orders"))
    assert sales <= set(scalar(migrated_db_url,
                               "SELECT array_agg(sale_id) FROM supplybrain.wb_sales"))
    assert ms_orders <= set(scalar(migrated_db_url,
                                   "SELECT array_agg(id) FROM supplybrain.ms_customer_orders"))
    stocks = {(s["warehouseName"], s["barcode"]) for rows in clean.wb_stocks_by_account.values()
              for s in rows}
    assert stocks <= set(fetch_all(migrated_db_url, "SELECT warehouse_name, barcode "
                                   "FROM supplybrain.wb_stocks"))
    # nothing poisonous reached the raw tables
    assert scalar(migrated_db_url, "SELECT count(*) FROM supplybrain.wb_orders "
                  "WHERE length(supplier_article) > 1000 OR nm_id > 10000000000") == 0

    before = all_counts(migrated_db_url)
    sightings = scalar(migrated_db_url, "SELECT sum(sightings) FROM supplybrain.quarantine")
    execute(migrated_db_url, "DELETE FROM supplybrain.ingest_cursors")
    second = ingest(migrated_db_url, dagster_instance)
    assert second.success
    assert all_counts(migrated_db_url) == before
    assert scalar(migrated_db_url,
                  "SELECT sum(sightings) FROM supplybrain.quarantine") == 2 * sightings


def test_a_failed_run_loses_nothing_and_the_next_run_catches_up(
        seeded_db, dagster_instance, business, sandbox):
    served = {o["srid"] for rows in business.wb_orders_by_account.values() for o in rows}
    sandbox.faults.fail_next(10_000, status=503, api="wb")
    broken = ingest(seeded_db, dagster_instance, max_pages=2)
    assert broken.success  # 5xx exhausts the retries for WB accounts; the run goes on
    assert counts(seeded_db)["wb_orders"] == 0
    sandbox.faults.reset()
    partial = ingest(seeded_db, dagster_instance, max_pages=1)
    assert partial.success
    after_one_page = counts(seeded_db)["wb_orders"]
    assert 0 < after_one_page < len(served)
    final = ingest(seeded_db, dagster_instance)
    assert final.success
    assert counts(seeded_db)["wb_orders"] == len(served)
