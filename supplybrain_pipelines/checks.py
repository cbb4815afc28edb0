"""Blocking asset checks: bad demand or supply must never produce proposals.

Each check runs set-based SQL on the table its asset owns and fails with the offending counts
in its metadata; a failed blocking check stops ``planning_proposals`` in the same run.
"""

import dagster as dg
from sqlalchemy import text

from supplybrain_pipelines.assets.planning import demand, supply
from supplybrain_pipelines.assets.planning._common import ACTIVE_SKUS
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


CHECKS = [demand_is_sound, supply_is_sound]
