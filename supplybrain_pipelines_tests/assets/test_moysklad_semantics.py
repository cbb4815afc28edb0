"""MoySklad semantics end to end (issue 12): the real assets against the sandbox over HTTP into
PostgreSQL, with the business changing between two runs.

- An order moved to the cancelled state and an order put into the recycle bin leave ``orders``
  demand (``is_cancelled``) and ``orders_daily``'s net units; a restored order comes back.
- The account's ``cancelled_states`` decides which states cancel, for orders already stored too.
- The second run reads only the changed assortment items (the sandbox's served-record count).
- A 429 asking for an hour ends in the run's retry budget: the account is skipped for that
  endpoint as ``rate_limited``, the run succeeds, and the next run catches up.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from supplybrain_pipelines.assets.ingest.moysklad import (
    moysklad_assortment,
    moysklad_customer_orders,
)
from supplybrain_pipelines.assets.unified import orders_and_rollup
from supplybrain_pipelines.resources.marketplace import MarketplaceApi
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.model import MS_PREFIX, Business, parse_ms_time
from supplybrain_pipelines.sandbox.moysklad_api import MoySkladApi
from supplybrain_pipelines.sandbox.moysklad_data import state_id
from supplybrain_pipelines_tests.fixtures_db import url_text

ASSETS = [moysklad_assortment, moysklad_customer_orders, orders_and_rollup]


@pytest.fixture(scope="module")
def business() -> Business:
    return generate_business(seed=5, articles=3, days=20)  # as of today: real horizons


def ingest(url, instance, **marketplace) -> dg.ExecuteInProcessResult:
    options = {"wb_min_interval_seconds": 0, "max_attempts": 4, "backoff_max_seconds": 0.2,
               "max_retry_after_seconds": 2, **marketplace}
    run_config = {"ops": {name: {"config": {"backfill_days": 40, "page_budget_seconds": None}}
                          for name in ("moysklad_assortment", "moysklad_customer_orders")}}
    return dg.materialize(
        ASSETS, instance=instance, run_config=run_config, raise_on_error=False,
        resources={"warehouse": PostgresWarehouse(database_url=url_text(url)),
                   "marketplace": MarketplaceApi(**options)})


def query(url, sql: str, **params):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql), params).all()
    engine.dispose()
    return rows


def execute(url, sql: str, **params) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    engine.dispose()


def net_units(url, order_id: str) -> tuple[int, int]:
    """(lines of the order in ``orders`` counted as demand, net units of its lines' days and
    items in ``orders_daily``)."""
    counted = query(url, """
        SELECT count(*) FILTER (WHERE NOT o.is_cancelled) FROM supplybrain.orders o
        JOIN supplybrain.ms_order_positions p ON p.id = o.order_id
        WHERE o.channel = 'moysklad' AND p.order_id = :id""", id=order_id)[0][0]
    net = query(url, """
        SELECT coalesce(sum(d.units_net), 0) FROM supplybrain.orders_daily d
        WHERE d.channel = 'moysklad' AND (d.day, d.item_key) IN (
            SELECT (o.ordered_at AT TIME ZONE 'Europe/Moscow')::date, o.item_key
            FROM supplybrain.orders o JOIN supplybrain.ms_order_positions p ON p.id = o.order_id
            WHERE p.order_id = :id)""", id=order_id)[0][0]
    return counted, int(net)


def pick_orders(business: Business, n: int) -> list[dict]:
    """``n`` orders whose positions are all on different (day, item) than any other order's,
    so that the daily net units of their lines are theirs alone."""
    seen: dict[tuple[str, str], int] = {}
    for order in business.ms_customer_orders:
        for p in order["positions"]["rows"]:
            key = (order["moment"][:10], p["assortment"]["meta"]["href"])
            seen[key] = seen.get(key, 0) + 1
    alone = [o for o in business.ms_customer_orders
             if all(seen[(o["moment"][:10], p["assortment"]["meta"]["href"])] == 1
                    for p in o["positions"]["rows"])
             and o["moment"][11:13] not in ("00", "01", "02", "21", "22", "23")]
    assert len(alone) >= n
    return alone[:n]


def test_cancelled_state_and_recycle_bin_leave_demand_and_only_changes_are_read(
        seeded_db, dagster_instance, business, sandbox):  # noqa: F811 (imported fixtures)
    first = ingest(seeded_db, dagster_instance)
    assert first.success
    # generated orders are all posted and in non-cancelled states: nothing is cancelled yet
    assert query(seeded_db, "SELECT count(*) FILTER (WHERE is_cancelled), count(*) "
                 "FROM supplybrain.ms_customer_orders")[0] == (0, len(business.ms_customer_orders))
    cancelled, deleted = pick_orders(business, 2)
    units = {o["id"]: sum(p["quantity"] for p in o["positions"]["rows"])
             for o in (cancelled, deleted)}
    lines = {o["id"]: len(o["positions"]["rows"]) for o in (cancelled, deleted)}
    for order in (cancelled, deleted):
        assert net_units(seeded_db, order["id"]) == (lines[order["id"]], units[order["id"]])

    api = MoySkladApi.of(sandbox.state)
    api.set_order_state(cancelled["id"], "Отменен")
    api.delete_order(deleted["id"])
    item = business.ms_assortment[5]
    api.update_item(item["id"], name="Переименованный товар")
    sandbox.reset_stats()

    second = ingest(seeded_db, dagster_instance)
    assert second.success
    # both leave demand: every line cancelled, the daily net of their (day, item) drops to 0
    assert net_units(seeded_db, cancelled["id"]) == (0, 0)
    assert net_units(seeded_db, deleted["id"]) == (0, 0)
    stored = dict(query(seeded_db, "SELECT id, deleted_at IS NOT NULL FROM "
                        "supplybrain.ms_customer_orders WHERE is_cancelled"))
    assert stored == {cancelled["id"]: False, deleted["id"]: True}
    # the cancelled units are still there, as cancelled
    assert query(seeded_db, """
        SELECT sum(d.units_cancelled) FROM supplybrain.orders_daily d
        WHERE d.channel = 'moysklad'""")[0][0] == units[cancelled["id"]] + units[deleted["id"]]
    # only the changed item was served again, with those in the 30 minutes of overlap before
    # the first run's cursor (the newest `updated` it read)
    newest = max(parse_ms_time(row["updated"]) for row in business.ms_assortment)
    overlap = [row["id"] for row in business.ms_assortment
               if parse_ms_time(row["updated"]) >= newest - timedelta(minutes=30)]
    assert item["id"] not in overlap
    stats = sandbox.stats()
    account = business.moysklad_accounts[0].name
    served = stats[("moysklad", f"{MS_PREFIX}/entity/assortment", account)]
    assert served["records"] == served["distinct"] == 1 + len(overlap)
    assert served["records"] < len(business.ms_assortment) // 10
    assert query(seeded_db, "SELECT name FROM supplybrain.ms_assortment WHERE id = :id",
                 id=item["id"])[0][0] == "Переименованный товар"

    # taken out of the bin, the order counts again
    api.restore_order(deleted["id"])
    third = ingest(seeded_db, dagster_instance)
    assert third.success
    assert net_units(seeded_db, deleted["id"]) == (lines[deleted["id"]], units[deleted["id"]])
    assert net_units(seeded_db, cancelled["id"]) == (0, 0)


def test_the_accounts_cancelled_states_decide_also_for_stored_orders(
        seeded_db, dagster_instance, business, sandbox):  # noqa: F811 (imported fixtures)
    assert ingest(seeded_db, dagster_instance).success
    account = business.moysklad_accounts[0]
    delivered = state_id(account.external_id, "Доставлен")
    expected = sum(1 for o in business.ms_customer_orders
                   if o["state"]["meta"]["href"].endswith(delivered))
    assert 0 < expected < len(business.ms_customer_orders)
    # names compare without case, spaces or ё/е; no order changed at MoySklad
    execute(seeded_db, "UPDATE supplybrain.moysklad_integration_accounts "
            "SET cancelled_states = ARRAY['Отменён', '  доставлен ']")
    assert ingest(seeded_db, dagster_instance).success
    assert query(seeded_db, "SELECT count(*) FROM supplybrain.ms_customer_orders "
                 "WHERE is_cancelled")[0][0] == expected
    assert query(seeded_db, "SELECT count(*) FROM supplybrain.ms_customer_orders "
                 "WHERE is_cancelled AND state_id <> :id", id=delivered)[0][0] == 0


def test_a_429_asking_for_an_hour_skips_the_account_within_the_run_budget(
        seeded_db, dagster_instance, business, sandbox):  # noqa: F811 (imported fixtures)
    # one long wait honoured would park the run for an hour (the cap allows up to 2 hours);
    # the budget of 1 s ends the retries at once
    sandbox.faults.rate_limit_next(1, retry_after_s=3600, api="moysklad",
                                   path="/entity/customerorder/metadata")
    result = ingest(seeded_db, dagster_instance, max_retry_after_seconds=7200,
                    retry_budget_seconds=1)
    assert result.success
    summary = result.asset_materializations_for_node("moysklad_customer_orders")[0].metadata
    assert summary["accounts_skipped"].value == 1
    assert "| rate_limited |" in summary["summary"].value
    health = query(seeded_db, "SELECT endpoint, last_error_class, last_error FROM "
                   "supplybrain.account_health WHERE consecutive_failures > 0")
    assert [(h[0], h[1]) for h in health] == [("customerorder", "rate_limited")]
    assert "retry-wait budget of 1 s" in health[0][2]
    assert query(seeded_db, "SELECT count(*) FROM supplybrain.ms_customer_orders")[0][0] == 0
    # the assortment of the same run was not held up
    assert query(seeded_db, "SELECT count(*) FROM supplybrain.ms_assortment")[0][0] == len(
        business.ms_assortment)

    again = ingest(seeded_db, dagster_instance)
    assert again.success
    assert query(seeded_db, "SELECT count(*) FROM supplybrain.ms_customer_orders")[0][0] == len(
        business.ms_customer_orders)
