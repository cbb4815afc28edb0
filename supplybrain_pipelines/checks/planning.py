"""Planning checks: on its inputs (``demand``, ``supply``) and its outputs
(``planning_proposals``, ``bundle_risk``).

Each check runs set-based SQL on the table its asset owns and fails with the offending counts
in its metadata (and a few examples: SKU unit ids, or article_id/bundle_type_id); a failed
blocking check stops the assets downstream in the same run: bad demand or supply never produce
proposals, bad proposals never reach ``planning_health``.

``demand_is_plausible`` compares the catalogue's summed demand rate with the net units per day
that ``orders_daily`` holds for the same window and SKU units (a bundle counts once per recipe
colour with an active SKU unit in its size, as ``demand`` turns it into singles), computed from
``orders_daily`` on its own, not from the demand table. Leaving out real stock-out days raises
a SKU unit's rate above its calendar mean, and TSB lowers a stopped seller's; across a whole
catalogue neither explains more than :data:`PLAUSIBLE_FACTOR` (3: the average SKU unit in
stock a third of the window). Reading "history starts today" as "first in stock today" made it
about 30.
"""

from datetime import timedelta

import dagster as dg
from sqlalchemy import text

from supplybrain_pipelines.assets.planning import bundle_risk, demand, planning_proposals, supply
from supplybrain_pipelines.assets.planning._common import ACTIVE_ARTICLES, ACTIVE_SKUS
from supplybrain_pipelines.checks._result import problem_counts, problems_result
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

DEMAND_CHECK = f"""
SELECT
  (SELECT count(*) FROM supplybrain.demand
   WHERE least(units, units_single, units_from_bundles, velocity, sigma_daily, rate) < 0)
      AS negative,
  (SELECT count(*) FROM supplybrain.demand
   WHERE 'NaN' IN (units, velocity, sigma_daily, rate) OR adi = 'NaN' OR cv2 = 'NaN') AS nan,
  (SELECT count(*) FROM ({ACTIVE_SKUS}) a
   WHERE NOT EXISTS (SELECT 1 FROM supplybrain.demand d WHERE d.sku_unit_id = a.sku_unit_id))
      AS missing,
  (SELECT count(DISTINCT as_of) FROM supplybrain.demand) AS as_of_values
"""

SUPPLY_CHECK = f"""
SELECT
  (SELECT count(*) FROM supplybrain.supply
   WHERE least(own_stock, wb_single_stock, wb_bundle_stock, in_transit_to_client,
               in_transit_from_client, on_order_within_lead, on_order_beyond_lead, on_hand,
               position) < 0) AS negative,
  (SELECT count(*) FROM supplybrain.supply
   WHERE 'NaN' IN (own_stock, wb_single_stock, wb_bundle_stock, on_hand, position)) AS nan,
  (SELECT count(*) FROM ({ACTIVE_SKUS}) a
   WHERE NOT EXISTS (SELECT 1 FROM supplybrain.supply s WHERE s.sku_unit_id = a.sku_unit_id))
      AS missing,
  (SELECT count(DISTINCT as_of) FROM supplybrain.supply) AS as_of_values,
  (SELECT count(*) FROM supplybrain.supply s,
          (SELECT min(as_of) AS lo, max(as_of) AS hi FROM supplybrain.demand) d
   WHERE s.as_of <> d.lo OR s.as_of <> d.hi) AS as_of_mismatch
"""


#: How far the catalogue's demand rate may lie from the observed net units per day (either way).
PLAUSIBLE_FACTOR = 3.0
#: Below this many net units in the window the ratio says nothing; the check passes and says so.
MIN_UNITS_TO_JUDGE = 30.0

DEMAND_WINDOW = """
SELECT min(as_of) AS as_of, max(window_days) AS window_days, COALESCE(sum(rate), 0) AS rate,
       count(*) AS sku_units
FROM supplybrain.demand
"""

#: The window's net units of active SKU units, in one pass over the window's order rows: a
#: single-piece row counts for its SKU unit when that is active, a bundle row once for each
#: recipe colour with an active SKU unit in its size. It sums what ``UNITS`` (demand) yields for
#: the active SKU units, without turning the bundle rows into one row per SKU unit: integer
#: thousandths, so the total is exact whatever the order of the additions.
OBSERVED_UNITS = f"""
WITH active AS ({ACTIVE_SKUS}),
pieces AS (
    SELECT r.article_id, r.bundle_type_id, a.size_id, count(*) AS n
    FROM supplybrain.bundle_recipe r
    JOIN active a ON a.article_id = r.article_id AND a.color_id = r.color_id
    GROUP BY 1, 2, 3
)
SELECT COALESCE(sum((od.units_net * 1000)::int8
                    * ((a.sku_unit_id IS NOT NULL)::int + COALESCE(p.n, 0))), 0)::float8 / 1000
       AS units
FROM supplybrain.orders_daily od
LEFT JOIN active a ON a.sku_unit_id = od.sku_unit_id
LEFT JOIN pieces p ON p.article_id = od.article_id AND p.bundle_type_id = od.bundle_type_id
     AND p.size_id = od.size_id
WHERE od.day BETWEEN :start AND :as_of
"""


def plausibility(catalogue_rate: float, observed_units: float, window_days: int) -> dict:
    """The verdict and its numbers: the ratio of the summed rate to the observed units/day."""
    observed = observed_units / window_days if window_days else 0.0
    ratio = catalogue_rate / observed if observed > 0 else None
    if observed_units < MIN_UNITS_TO_JUDGE:
        passed, verdict = True, f"fewer than {MIN_UNITS_TO_JUDGE:g} units: not judged"
    else:
        passed = 1 / PLAUSIBLE_FACTOR <= ratio <= PLAUSIBLE_FACTOR
        verdict = "plausible" if passed else (
            f"the demand rate is {ratio:.2f}× the observed units per day, beyond "
            f"{PLAUSIBLE_FACTOR:g}× either way")
    return {"passed": passed, "catalogue_rate": catalogue_rate,
            "observed_units_per_day": observed, "ratio": ratio,
            "max_factor": PLAUSIBLE_FACTOR, "verdict": verdict}


@dg.asset_check(asset=demand, blocking=True,
                description="The catalogue's summed demand rate is within 3× (either way) of "
                "the net units per day in orders_daily over the same window (bundles turned "
                "into singles), which real stock-outs can explain; beyond it the demand maths "
                "is wrong and proposals must not be made from it.")
def demand_is_plausible(warehouse: PostgresWarehouse) -> dg.AssetCheckResult:
    with warehouse.transaction() as conn:
        d = conn.execute(text(DEMAND_WINDOW)).one()
        if d.as_of is None:
            return dg.AssetCheckResult(passed=True, metadata={"verdict": "no demand rows"})
        start = d.as_of - timedelta(days=d.window_days - 1)
        units = conn.execute(text(OBSERVED_UNITS), {"start": start, "as_of": d.as_of}).scalar()
    result = plausibility(float(d.rate), float(units), d.window_days)
    passed = result.pop("passed")
    return dg.AssetCheckResult(
        passed=passed, severity=dg.AssetCheckSeverity.ERROR,
        metadata={**{k: v for k, v in result.items() if v is not None},
                  "as_of": d.as_of.isoformat(), "window_days": d.window_days,
                  "observed_units": float(units), "sku_units": d.sku_units})


def _result(row) -> dg.AssetCheckResult:
    problems = {key: value for key, value in row._mapping.items()
                if (value > 1 if key == "as_of_values" else value > 0)}
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={**{key: int(value) for key, value in row._mapping.items()},
                  "problems": ", ".join(sorted(problems)) or "none"},
    )


@dg.asset_check(asset=demand, blocking=True,
                description="No negative or NaN quantities, every active SKU unit present, one "
                "as-of date.")
def demand_is_sound(warehouse: PostgresWarehouse) -> dg.AssetCheckResult:
    with warehouse.transaction() as conn:
        return _result(conn.execute(text(DEMAND_CHECK)).one())


@dg.asset_check(asset=supply, blocking=True,
                description="No negative or NaN quantities, every active SKU unit present, one "
                "as-of date, the same as demand's.")
def supply_is_sound(warehouse: PostgresWarehouse) -> dg.AssetCheckResult:
    with warehouse.transaction() as conn:
        return _result(conn.execute(text(SUPPLY_CHECK)).one())


INPUT_CHECKS = [demand_is_sound, demand_is_plausible, supply_is_sound]


#: Steps every proposal's explanation holds (``_proposal_rows.EXPLANATION``).
EXPLANATION_STEPS = ("safety_stock", "reorder_point", "target", "recommend")
_STEPS_JSON = "[" + ", ".join(f'{{"step": "{s}"}}' for s in EXPLANATION_STEPS) + "]"

#: The rows of the newest planning run (``planning_proposals_latest``) against the active SKU
#: units: one row each (a second is impossible: the key (run_id, sku_unit_id) is unique), none
#: for another SKU unit, no negative or NaN quantity, every explanation step present.
PROPOSALS_WITH = f"""
WITH p AS (SELECT * FROM supplybrain.planning_proposals_latest),
active AS ({ACTIVE_SKUS})"""
PROPOSAL_PROBLEMS = {
    "missing": "SELECT a.sku_unit_id::text AS key FROM active a WHERE NOT EXISTS "
               "(SELECT 1 FROM p WHERE p.sku_unit_id = a.sku_unit_id)",
    "not_active": "SELECT p.sku_unit_id::text AS key FROM p WHERE NOT EXISTS "
                  "(SELECT 1 FROM active a WHERE a.sku_unit_id = p.sku_unit_id)",
    "negative": "SELECT sku_unit_id::text AS key FROM p WHERE least(raw_quantity, "
                "recommended_quantity, demand_rate, sigma_daily, safety_stock, reorder_point, "
                "target_level, on_hand, on_order_within_lead) < 0",
    "nan": "SELECT sku_unit_id::text AS key FROM p WHERE 'NaN' IN (demand_rate, sigma_daily, "
           "on_hand, on_order_within_lead, position, service_level, safety_stock, "
           "reorder_point, target_level) OR days_of_cover = 'NaN'",
    "no_explanation": "SELECT sku_unit_id::text AS key FROM p WHERE NOT COALESCE("
                      f"explanation -> 'steps' @> '{_STEPS_JSON}'::jsonb, false)",
}


@dg.asset_check(asset=planning_proposals, blocking=True,
                description="The newest run's proposals: exactly one row per active SKU unit "
                "(none for another), no negative or NaN quantity, and an explanation with the "
                "safety stock, reorder point, target and recommendation steps. Blocking: "
                "planning_health must not summarise wrong proposals.")
def proposals_are_complete(warehouse: PostgresWarehouse) -> dg.AssetCheckResult:
    with warehouse.transaction() as conn:
        run_id = conn.execute(text(
            "SELECT run_id FROM supplybrain.planning_proposals_latest LIMIT 1")).scalar()
        found = problem_counts(conn, PROPOSAL_PROBLEMS, {}, with_=PROPOSALS_WITH)
    return problems_result(found, severity=dg.AssetCheckSeverity.ERROR,
                           extra={"run_id": run_id or "none"})


#: The bundle types ``bundle_risk`` is meant to classify (``risk.BUNDLES``' ``types``): those an
#: article sells under a WB bundle barcode, and those it has a recipe for with a recipe colour
#: that is a SKU unit; of active articles only. Missing rows count only once demand has rows
#: (the asset writes none before).
RISK_WITH = f"""
WITH active AS ({ACTIVE_ARTICLES}),
types AS (
    SELECT DISTINCT article_id, bundle_type_id FROM supplybrain.article_wb_mapping
    WHERE bundle_type_id IS NOT NULL AND size_id IS NOT NULL
    UNION
    SELECT DISTINCT r.article_id, r.bundle_type_id FROM supplybrain.bundle_recipe r
    WHERE EXISTS (SELECT 1 FROM supplybrain.sku_unit su
                  WHERE su.article_id = r.article_id AND su.color_id = r.color_id)
)"""
RISK_PROBLEMS = {
    "missing": "SELECT ty.article_id || '/' || ty.bundle_type_id AS key FROM types ty "
               "JOIN active USING (article_id) WHERE EXISTS (SELECT 1 FROM supplybrain.demand) "
               "AND NOT EXISTS (SELECT 1 FROM supplybrain.bundle_risk b WHERE "
               "(b.article_id, b.bundle_type_id) = (ty.article_id, ty.bundle_type_id))",
    "switched_off": "SELECT b.article_id || '/' || b.bundle_type_id AS key "
                    "FROM supplybrain.bundle_risk b WHERE b.article_id NOT IN "
                    "(SELECT article_id FROM active)",
}


@dg.asset_check(asset=bundle_risk,
                description="Every active article × bundle type (a WB bundle barcode, or a "
                "recipe with a colour that is a SKU unit) has its row, and no switched-off "
                "article has one. Examples are article_id/bundle_type_id.")
def bundle_risk_is_complete(warehouse: PostgresWarehouse) -> dg.AssetCheckResult:
    with warehouse.transaction() as conn:
        found = problem_counts(conn, RISK_PROBLEMS, {}, with_=RISK_WITH)
    return problems_result(found, severity=dg.AssetCheckSeverity.ERROR)


OUTPUT_CHECKS = [proposals_are_complete, bundle_risk_is_complete]
