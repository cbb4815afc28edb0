"""``supply``: what each SKU unit has and will have — own stock, WB stock (bundles turned into
singles), returns on their way back, and open purchase orders by ETA — and the inventory
position. A run for the current business day also records today's availability in
``stock_history``, from which ``demand`` learns in-stock days; a run for a past as-of writes
no history.
"""

import dagster as dg
from sqlalchemy import delete, text

from supplybrain_pipelines.assets._metadata import OWNERS, table_metadata
from supplybrain_pipelines.assets.planning._common import (
    ACTIVE_SKUS,
    GROUP,
    PlanningConfig,
    as_of_date,
)
from supplybrain_pipelines.config import business_today
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

#: WB's pseudo-warehouse rows (warehouse-remains report): totals and transit, not places.
PSEUDO_WAREHOUSES = ("В пути до получателей", "В пути возвраты на склад WB",
                     "Всего находится на складах")

#: Own stock: MoySklad's when the SKU unit has any, else stock_balance on internal warehouses
#: (the old backend's table), never both, and never below 0. WB stock: single-piece barcodes
#: count for their SKU unit; a bundle barcode counts one piece for each recipe colour in its
#: size. Units on their way to clients are sold and not counted; units on their way back
#: (returns) are. Open purchase orders (approved, ordered) count in the position when due
#: within the lead time.
SUPPLY = f"""
WITH active AS ({ACTIVE_SKUS}),
settings AS (
    SELECT a.sku_unit_id,
           COALESCE(aps.lead_time_days,
                    (SELECT default_lead_time_days FROM supplybrain.global_planning_settings
                     ORDER BY id LIMIT 1), 70) AS lead_time_days
    FROM active a
    LEFT JOIN supplybrain.article_planning_settings aps ON aps.article_id = a.article_id
),
own_ms AS (
    SELECT sku_unit_id, sum(quantity) AS q FROM supplybrain.stock
    WHERE channel = 'own' AND sku_unit_id IS NOT NULL GROUP BY 1
),
own_balance AS (
    SELECT sb.sku_unit_id, sum(greatest(sb.quantity, 0)) AS q
    FROM supplybrain.stock_balance sb JOIN supplybrain.warehouse w ON w.id = sb.warehouse_id
    WHERE w.type = 'internal' GROUP BY 1
),
wb AS (
    SELECT s.sku_unit_id, s.quantity AS single, 0 AS bundled, s.in_transit_to_client AS tt,
           s.in_transit_from_client AS tf
    FROM supplybrain.stock s
    WHERE s.channel = 'wb' AND s.sku_unit_id IS NOT NULL
      AND s.location NOT IN {PSEUDO_WAREHOUSES!r}
    UNION ALL
    SELECT su.id, 0, s.quantity, s.in_transit_to_client, s.in_transit_from_client
    FROM supplybrain.stock s
    JOIN supplybrain.bundle_recipe r ON r.article_id = s.article_id
         AND r.bundle_type_id = s.bundle_type_id
    JOIN supplybrain.sku_unit su ON su.article_id = s.article_id AND su.color_id = r.color_id
         AND su.size_id = s.size_id
    WHERE s.channel = 'wb' AND s.bundle_type_id IS NOT NULL
      AND s.location NOT IN {PSEUDO_WAREHOUSES!r}
),
wb_sum AS (
    SELECT sku_unit_id, sum(single) AS single, sum(bundled) AS bundled, sum(tt) AS tt,
           sum(tf) AS tf
    FROM wb GROUP BY 1
),
po AS (
    SELECT su.id AS sku_unit_id, st.lead_time_days,
           sum(i.quantity) FILTER (WHERE p.target_date <= :as_of + st.lead_time_days) AS within,
           sum(i.quantity) FILTER (WHERE p.target_date > :as_of + st.lead_time_days) AS beyond,
           min(p.target_date) AS next_eta
    FROM supplybrain.purchase_order p
    JOIN supplybrain.purchase_order_item i ON i.purchase_order_id = p.id
    JOIN supplybrain.sku_unit su ON su.article_id = i.article_id AND su.color_id = i.color_id
         AND su.size_id = i.size_id
    JOIN settings st ON st.sku_unit_id = su.id
    WHERE p.status IN ('approved', 'ordered')
    GROUP BY 1, 2
)
SELECT CAST(:as_of AS date) AS as_of, a.sku_unit_id, a.article_id, a.color_id, a.size_id,
       greatest(COALESCE(own_ms.q, own_balance.q, 0), 0)::float AS own_stock,
       COALESCE(wb_sum.single, 0)::float AS wb_single_stock,
       COALESCE(wb_sum.bundled, 0)::float AS wb_bundle_stock,
       COALESCE(wb_sum.tt, 0)::float AS in_transit_to_client,
       COALESCE(wb_sum.tf, 0)::float AS in_transit_from_client,
       COALESCE(po.within, 0)::float AS on_order_within_lead,
       COALESCE(po.beyond, 0)::float AS on_order_beyond_lead,
       po.next_eta, st.lead_time_days
FROM active a
JOIN settings st ON st.sku_unit_id = a.sku_unit_id
LEFT JOIN own_ms ON own_ms.sku_unit_id = a.sku_unit_id
LEFT JOIN own_balance ON own_balance.sku_unit_id = a.sku_unit_id
LEFT JOIN wb_sum ON wb_sum.sku_unit_id = a.sku_unit_id
LEFT JOIN po ON po.sku_unit_id = a.sku_unit_id
"""


#: The supply table, computed and written by the server: on hand = own + WB single + WB bundle
#: stock, position = on hand + returns in transit + on order within the lead time (float8 sums
#: from left to right, as Python would add them). The table was just emptied: plain INSERT.
WRITE_SUPPLY = f"""
INSERT INTO supplybrain.supply ({", ".join(c.name for c in t.supply.columns)})
SELECT s.*, x.on_hand, x.on_hand + s.in_transit_from_client + s.on_order_within_lead
FROM ({SUPPLY}) s
CROSS JOIN LATERAL (SELECT s.own_stock + s.wb_single_stock + s.wb_bundle_stock AS on_hand) x
"""

#: Today's availability per SKU unit, for demand's in-stock days. A day counts as in stock
#: when any run of that day saw stock (a SKU unit that sold out at noon still sold that day),
#: so a later run of the same day keeps the larger value. It rewrites only the rows whose value
#: grows: supply runs whenever stock lands, and most rows of a later run change nothing.
RECORD_HISTORY = """
INSERT INTO supplybrain.stock_history (day, sku_unit_id, available)
SELECT as_of, sku_unit_id, on_hand FROM supplybrain.supply
ON CONFLICT (day, sku_unit_id)
DO UPDATE SET available = EXCLUDED.available
WHERE EXCLUDED.available > stock_history.available
"""

#: WB stock of bundle barcodes that SUPPLY cannot turn (wholly) into singles: no recipe, or a
#: recipe colour without a SKU unit in that size. Counted in the metadata, never dropped
#: silently (demand lists the same for orders in ``demand_unexploded``).
UNEXPLODED_STOCK = f"""
SELECT COALESCE(sum(s.quantity), 0)::float8 AS units, count(*) AS lines
FROM supplybrain.stock s
WHERE s.channel = 'wb' AND s.bundle_type_id IS NOT NULL
  AND s.location NOT IN {PSEUDO_WAREHOUSES!r}
  AND (NOT EXISTS (SELECT 1 FROM supplybrain.bundle_recipe r
                   WHERE r.article_id = s.article_id AND r.bundle_type_id = s.bundle_type_id)
       OR EXISTS (SELECT 1 FROM supplybrain.bundle_recipe r
                  WHERE r.article_id = s.article_id AND r.bundle_type_id = s.bundle_type_id
                    AND NOT EXISTS (SELECT 1 FROM supplybrain.sku_unit su
                                    WHERE su.article_id = s.article_id
                                      AND su.color_id = r.color_id
                                      AND su.size_id = s.size_id)))
"""

TOTALS = """
SELECT count(*) AS sku_units, COALESCE(sum(on_hand), 0) AS on_hand,
       COALESCE(sum(on_order_within_lead), 0) AS on_order_within_lead
FROM supplybrain.supply
"""


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"postgres"}, code_version="2",
          deps=["stock"], automation_condition=dg.AutomationCondition.eager(),
          description="Supply per SKU unit: own stock, WB stock with bundles turned into "
          "singles, returns in transit, open purchase orders (approved/ordered) by ETA, and "
          "the inventory position = on hand + returns + on order within the lead time.")
def supply(context: dg.AssetExecutionContext, config: PlanningConfig,
           warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    as_of = as_of_date(config)
    with warehouse.transaction() as conn:
        conn.execute(delete(t.supply))
        # SUPPLY selects the table's columns in order up to on_hand and position, which
        # WRITE_SUPPLY adds.
        conn.execute(text(WRITE_SUPPLY), {"as_of": as_of})
        # The history is a record of what was: only a run for the current business day
        # records availability; a run for a past as-of reads the history and writes none.
        recorded = as_of == business_today()
        if recorded:
            conn.execute(text(RECORD_HISTORY))
        totals = conn.execute(text(TOTALS)).one()
        unexploded = conn.execute(text(UNEXPLODED_STOCK)).one()
    context.log.info(f"supply as of {as_of}: {totals.sku_units} SKU units; stock history "
                     + ("recorded for today" if recorded else "not written (past as-of)")
                     + f"; {unexploded.units:g} WB bundle units not turned into singles")
    return dg.MaterializeResult(metadata=table_metadata(
        warehouse, t.supply, as_of=as_of.isoformat(), units_on_hand=float(totals.on_hand),
        units_on_order_within_lead=float(totals.on_order_within_lead),
        stock_history_recorded=recorded,
        wb_bundle_units_not_exploded=float(unexploded.units),
        wb_bundle_lines_not_exploded=int(unexploded.lines)))
