"""Planning scenarios whose expected values are written by hand (issue 11).

Each scenario is one article of a CSV directory under ``scenarios/`` (``make_csv.py`` wrote
them), imported with ``import_directory`` and run through the real ``demand``, ``supply`` and
``planning_proposals`` assets on PostgreSQL with as-of 2026-11-30 (window 2026-11-01 …
2026-11-30, every order at 12:00 Moscow time). The expected d, σ, SS, ROP, target, position
and recommended quantity are literals worked out from the rules of the issue, never from
project code. ``scenarios/README.md`` shows the arithmetic of every row.

Directories (one database each): ``main`` — global settings L 70, T 60, 90 %, fabric and
elastic minimums 0; ``global`` — L 40, T 30, 95 %, fabric 0, elastic 500; ``defaults`` — no
global settings row (L 70, T 60, 90 %, fabric 7000, elastic 3000, max cover 365, 'defer').
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from supplybrain_pipelines.assets.planning import demand, planning_proposals, supply
from supplybrain_pipelines.db.migrate import upgrade
from supplybrain_pipelines.devstack.embedded import ensure_database
from supplybrain_pipelines.importer import import_directory
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import drop_database, engine, execute, url_text

AS_OF = "2026-11-30"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


@dataclass(frozen=True)
class Sku:
    """One SKU unit's expected values: d, σ, SS, ROP, target, position, recommended."""

    color: str
    size: str
    d: float
    sigma: float
    ss: float
    rop: float
    target: float
    position: float
    qty: int


@dataclass(frozen=True)
class Scenario:
    id: str
    group: str
    article: str
    inputs: str
    skus: tuple[Sku, ...]
    settings: tuple[int, int, float] | None = None  # lead time, target coverage, service level
    limiting: str | None = None


def sku(color="BLK", size="M", *, d, sigma, ss, rop, target, position, qty) -> Sku:
    return Sku(color, size, d, sigma, ss, rop, target, position, qty)


SCENARIO_TABLE = [
    Scenario("steady", "main", "STEADY",
             "2 units every day of the window; own stock 100",
             (sku(d=2.0, sigma=0.0, ss=0.0, rop=140.0, target=260.0, position=100.0,
                  qty=160),)),
    Scenario("alternating", "main", "ALT",
             "1 unit on odd days, 3 on even days; own stock 20",
             (sku(d=2.0, sigma=1.0170952554312156, ss=10.905528923305635,
                  rop=150.90552892330564, target=270.9055289233056, position=20.0, qty=251),)),
    Scenario("intermittent_tsb", "main", "INTER",
             "5 units on 11-01 and 11-05, nothing else ([5,0,0,0,5] + 25 zeros); own stock 3",
             (sku(d=0.27140133424690505, sigma=1.268540658512312, ss=13.601584284187796,
                  rop=32.59967768147115, target=48.88375773628545, position=3.0, qty=46),)),
    Scenario("new_sku", "main", "NEW",
             "first order ever on 11-21: 1, 3, 1, 3 … units 11-21 … 11-30; own stock 5",
             (sku(d=2.0, sigma=1.0540925533894598, ss=11.302222449121688,
                  rop=151.3022224491217, target=271.3022224491217, position=5.0, qty=267),)),
    Scenario("partial_stock_out", "main", "OOS",
             "2/4 units on odd/even days 11-01 … 11-10 and 11-21 … 11-30; stock_history "
             "available 0 on 11-10 (4 sold: counts) and 11-11 … 11-20 (no sales: excluded); "
             "own stock 30",
             (sku(d=3.0, sigma=1.025978352085154, ss=11.000775525795163,
                  rop=221.00077552579518, target=401.0007755257952, position=30.0, qty=372),)),
    Scenario("no_stock_history", "main", "NOHIST",
             "1 unit on 10-20; 3 units every day of the window except days 5, 10, … 30; no "
             "stock_history; own stock 50",
             (sku(d=2.4, sigma=1.2205143065174586, ss=13.086634707966759,
                  rop=181.08663470796677, target=325.08663470796677, position=50.0,
                  qty=276),)),
    Scenario("fresh_install_history", "main", "FRESH",
             "1 unit on 10-10; 2 units every day of the window; stock_history only on 11-30 "
             "(available 40); own stock 40",
             (sku(d=2.0, sigma=0.0, ss=0.0, rop=140.0, target=260.0, position=40.0,
                  qty=220),)),
    Scenario("bundles", "main", "BND",
             "one 2-pack P2 (BLK+NVY) in M every day; single BLK M on even days; own stock 20 "
             "each",
             (sku("BLK", d=1.5, sigma=0.5085476277156078, ss=5.4527644616528175,
                  rop=110.45276446165282, target=200.4527644616528, position=20.0, qty=181),
              sku("NVY", d=1.0, sigma=0.0, ss=0.0, rop=70.0, target=130.0, position=20.0,
                  qty=110))),
    Scenario("returns_and_cancellations", "main", "RET",
             "3 units ordered every day, 1 of them cancelled on odd days; WB stock 6 (2 on "
             "the way to clients, 4 returns on the way back); own stock 10",
             (sku(d=2.5, sigma=0.5085476277156078, ss=5.4527644616528175,
                  rop=180.4527644616528, target=330.4527644616528, position=20.0, qty=311),)),
    Scenario("purchase_orders_by_lead_time", "main", "PO",
             "2/4 units on odd/even days; own stock 20; POs: ordered 50 due 12-20, ordered 7 "
             "due 2027-02-08 (= as-of + 70), approved 500 due 2027-02-09, draft 1000",
             (sku(d=3.0, sigma=1.0170952554312156, ss=10.905528923305635,
                  rop=220.90552892330564, target=400.9055289233056, position=77.0,
                  qty=324),)),
    Scenario("fabric_minimum", "main", "FAB",
             "RED (one Pantone) M: 1/day, own 50 → raw 80; RED L: 2/day, own 200 → raw 0; "
             "colour fabric minimum 100 → +20 spread 1:2 by demand (6.67 → 7, 13.33 → 13)",
             (sku("RED", "M", d=1.0, sigma=0.0, ss=0.0, rop=70.0, target=130.0, position=50.0,
                  qty=87),
              sku("RED", "L", d=2.0, sigma=0.0, ss=0.0, rop=140.0, target=260.0,
                  position=200.0, qty=13))),
    Scenario("pack_multiple", "main", "PACK",
             "2 units/day; own stock 10; pack_multiple 12 → raw 250 rounds up to 252",
             (sku(d=2.0, sigma=0.0, ss=0.0, rop=140.0, target=260.0, position=10.0,
                  qty=252),)),
    Scenario("zero_demand_with_stock", "main", "ZERO",
             "no order ever; own stock 30",
             (sku(d=0.0, sigma=0.0, ss=0.0, rop=0.0, target=0.0, position=30.0, qty=0),)),
    Scenario("settings_from_article", "main", "SETA",
             "2/4 units on odd/even days; own 10; article settings L 30, T 20, 95 %",
             (sku(d=3.0, sigma=1.0170952554312156, ss=9.163249515255115,
                  rop=99.16324951525512, target=159.1632495152551, position=10.0, qty=150),),
             settings=(30, 20, 0.95)),
    Scenario("settings_from_global", "global", "SETG",
             "8/12 units on odd/even days; own 20; global settings L 40, T 30, 95 % "
             "(raw 702 is above the global elastic minimum 500)",
             (sku(d=10.0, sigma=2.034190510862431, ss=21.161618297136997,
                  rop=421.161618297137, target=721.161618297137, position=20.0, qty=702),),
             settings=(40, 30, 0.95)),
    Scenario("elastic_minimum", "global", "ELA",
             "BLK M 2/day own 10 → raw 130; NVY M 1/day own 5 → raw 65; global elastic "
             "minimum 500 → +305 spread 2:1 (203.33 → 203, 101.67 → 102)",
             (sku("BLK", d=2.0, sigma=0.0, ss=0.0, rop=80.0, target=140.0, position=10.0,
                  qty=333),
              sku("NVY", d=1.0, sigma=0.0, ss=0.0, rop=40.0, target=70.0, position=5.0,
                  qty=167))),
    Scenario("settings_from_default", "defaults", "SETD",
             "2/4 units on odd/even days; own 500 (above the ROP); no global settings row: "
             "L 70, T 60, 90 %",
             (sku(d=3.0, sigma=1.0170952554312156, ss=10.905528923305635,
                  rop=220.90552892330564, target=400.9055289233056, position=500.0, qty=0),),
             settings=(70, 60, 0.90)),
    Scenario("slow_seller_minimum_deferred", "defaults", "SLOW",
             "1 unit/day; own 20 → raw 110; default fabric minimum 7000 would give "
             "(20 + 7000) / 1 = 7020 days of cover > 365 → 'defer' → 0",
             (sku(d=1.0, sigma=0.0, ss=0.0, rop=70.0, target=130.0, position=20.0, qty=0),),
             limiting="deferred_minimum"),
]

#: RET's WB stock: the import has no file for it (ingestion writes ``stock``), so it is written
#: as the ``stock`` asset would: 6 at a WB warehouse, 2 on the way to clients, 4 coming back.
WB_STOCK = """
INSERT INTO supplybrain.stock (channel, account_id, location, item_key, barcode, article_id,
    bundle_type_id, color_id, size_id, sku_unit_id, quantity, in_transit_to_client,
    in_transit_from_client, as_of)
SELECT 'wb', 1, 'Коледино', m.wb_sku, m.wb_sku, m.article_id, NULL, m.color_id, m.size_id,
       su.id, 6, 2, 4, TIMESTAMPTZ '2026-11-30 09:00:00+00'
FROM supplybrain.article_wb_mapping m
JOIN supplybrain.article a ON a.id = m.article_id
JOIN supplybrain.sku_unit su ON su.article_id = m.article_id AND su.color_id = m.color_id
     AND su.size_id = m.size_id
WHERE a.code = 'RET' AND m.bundle_type_id IS NULL
"""

RESULTS = """
SELECT a.code AS article, c.inner_code AS color, s.label AS size, p.*
FROM supplybrain.planning_proposals_latest p
JOIN supplybrain.article a ON a.id = p.article_id
JOIN supplybrain.color c ON c.id = p.color_id JOIN supplybrain.size s ON s.id = p.size_id
"""


def _plan_group(pg_server_url, group: str, created: list[str]) -> dict:
    name = f"sb_test_scen_{uuid.uuid4().hex[:10]}"
    ensure_database(pg_server_url, name)
    created.append(name)
    url = pg_server_url.set(database=name)
    upgrade(url)
    report = import_directory(url_text(url), SCENARIOS / group)
    assert report.ok, "\n".join(report.lines(0))
    if group == "main":
        execute(url, WB_STOCK)
    config = {"config": {"as_of": AS_OF}}
    result = dg.materialize(
        [demand, supply, planning_proposals],
        run_config={"ops": {"demand": config, "supply": config}},
        resources={"warehouse": PostgresWarehouse(database_url=url_text(url))},
        raise_on_error=False)
    assert result.success, f"planning failed for scenarios/{group}"
    eng = engine(url)
    try:
        with eng.connect() as conn:
            rows = conn.execute(sa.text(RESULTS)).mappings().all()
    finally:
        eng.dispose()
    return {(r["article"], r["color"], r["size"]): dict(r) for r in rows}


@pytest.fixture(scope="module")
def planned(pg_server_url) -> Iterator:
    """``planned(group)``: the proposals of a scenario directory, keyed by (article, colour,
    size); each directory is imported and planned once, in a database of its own."""
    cache: dict[str, dict] = {}
    created: list[str] = []

    def get(group: str) -> dict:
        if group not in cache:
            cache[group] = _plan_group(pg_server_url, group, created)
        return cache[group]

    yield get
    for name in created:
        drop_database(pg_server_url, name)


@pytest.mark.parametrize("scenario", SCENARIO_TABLE, ids=[s.id for s in SCENARIO_TABLE])
def test_scenario(planned, scenario: Scenario):
    rows = planned(scenario.group)
    got, want = {}, {}
    for expected in scenario.skus:
        key = (scenario.article, expected.color, expected.size)
        assert key in rows, f"no proposal for {key}"
        r = rows[key]
        label = f"{expected.color} {expected.size}"
        got[label] = {
            "d": r["demand_rate"], "sigma": r["sigma_daily"], "ss": r["safety_stock"],
            "rop": r["reorder_point"], "target": r["target_level"], "position": r["position"],
            "qty": r["recommended_quantity"]}
        want[label] = {
            "d": pytest.approx(expected.d, rel=1e-6), "sigma": pytest.approx(expected.sigma,
                                                                            rel=1e-6),
            "ss": pytest.approx(expected.ss, rel=1e-6),
            "rop": pytest.approx(expected.rop, rel=1e-6),
            "target": pytest.approx(expected.target, rel=1e-6),
            "position": pytest.approx(expected.position, rel=1e-6), "qty": expected.qty}
        if scenario.settings is not None:
            got[label]["settings"] = (r["lead_time_days"], r["target_coverage_days"],
                                      r["service_level"])
            lead, cover, level = scenario.settings
            want[label]["settings"] = (lead, cover, pytest.approx(level, rel=1e-6))
        if scenario.limiting is not None:
            got[label]["limiting"] = r["limiting_constraint"]
            want[label]["limiting"] = scenario.limiting
    assert got == want, scenario.inputs


def test_the_table_has_at_least_15_scenarios_with_distinct_articles():
    assert len(SCENARIO_TABLE) >= 15
    keys = [(s.group, s.article) for s in SCENARIO_TABLE]
    assert len(set(keys)) == len(keys)
