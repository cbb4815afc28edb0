"""``bundle_risk`` per (article, bundle type), with the old backend's classification, and
``planning_health`` per article from the latest proposals.

Availability differs from the old backend in one documented way: bundles that could be
assembled from singles use all own stock of the SKU unit (``supply.own_stock``), not one
"NSK" warehouse picked by id. Average daily sales are the bundle barcodes' net units over the
demand window divided by its length (calendar days), not over the span between the first and
last sale day.
"""

from collections import Counter

import dagster as dg
from sqlalchemy import delete, select, text

from supplybrain_pipelines.assets._metadata import OWNERS, table_metadata
from supplybrain_pipelines.assets.planning._common import ACTIVE_ARTICLES, GROUP
from supplybrain_pipelines.assets.planning._preview import health_preview
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.planning.risk import RISK_PRIORITY, classify_bundle_risk
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse, bulk_upsert

#: Bundles that own singles could make, per (article, bundle type, size): 0 when a recipe colour
#: has no SKU unit in the size, else the least own stock (floored at 0) over the recipe
#: colours; sizes are those of the article's SKU units. The pure rule is
#: ``logic/planning/bundles.bundle_capacity_by_size``; a test holds the two equal.
PER_SIZE = """
    SELECT r.article_id, r.bundle_type_id, sz.size_id,
           CASE WHEN count(su.id) < count(*) THEN 0
                ELSE min(greatest(COALESCE(sp.own_stock, 0), 0)) END AS capacity
    FROM supplybrain.bundle_recipe r
    JOIN (SELECT DISTINCT article_id, size_id FROM supplybrain.sku_unit) sz
         ON sz.article_id = r.article_id
    LEFT JOIN supplybrain.sku_unit su ON su.article_id = r.article_id
         AND su.color_id = r.color_id AND su.size_id = sz.size_id
    LEFT JOIN supplybrain.supply sp ON sp.sku_unit_id = su.id
    GROUP BY 1, 2, 3"""

#: ``sales`` adds the barcodes' float rates in barcode order, so the total (and the days of cover
#: printed in the explanation) does not depend on the order the rows were stored in.
BUNDLES = f"""
WITH active AS ({ACTIVE_ARTICLES}),
types AS (
    SELECT DISTINCT article_id, bundle_type_id FROM supplybrain.article_wb_mapping
    WHERE bundle_type_id IS NOT NULL AND size_id IS NOT NULL
      AND article_id IN (SELECT article_id FROM active)
    UNION
    SELECT DISTINCT r.article_id, r.bundle_type_id FROM supplybrain.bundle_recipe r
    WHERE EXISTS (SELECT 1 FROM supplybrain.sku_unit su
                  WHERE su.article_id = r.article_id AND su.color_id = r.color_id)
      AND r.article_id IN (SELECT article_id FROM active)
),
ready AS (
    SELECT m.article_id, m.bundle_type_id, sum(s.quantity) AS q
    FROM supplybrain.article_wb_mapping m
    JOIN supplybrain.stock s ON s.channel = 'wb' AND s.item_key = m.wb_sku
    WHERE m.bundle_type_id IS NOT NULL GROUP BY 1, 2
),
per_size AS ({PER_SIZE}
),
potential AS (SELECT article_id, bundle_type_id, sum(capacity) AS q FROM per_size GROUP BY 1, 2),
sales AS (
    SELECT article_id, bundle_type_id, sum(avg_daily ORDER BY barcode) AS avg_daily,
           max(as_of) AS as_of
    FROM supplybrain.demand_barcode WHERE bundle_type_id IS NOT NULL GROUP BY 1, 2
)
SELECT ty.article_id, ty.bundle_type_id, COALESCE(ready.q, 0)::float AS wb_ready,
       COALESCE(potential.q, 0)::float AS potential, COALESCE(sales.avg_daily, 0)::float AS avg,
       COALESCE(ps.safety_stock_days, 7) AS safety, COALESCE(ps.alert_threshold_days, 14) AS alert
FROM types ty
LEFT JOIN ready USING (article_id, bundle_type_id)
LEFT JOIN potential USING (article_id, bundle_type_id)
LEFT JOIN sales USING (article_id, bundle_type_id)
LEFT JOIN supplybrain.planning_settings ps ON ps.article_id = ty.article_id
ORDER BY 1, 2
"""


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"postgres"}, code_version="1",
          deps=["demand", "supply"], automation_condition=dg.AutomationCondition.eager(),
          description="Risk per (article, bundle type): ready WB bundles plus bundles that own "
          "singles could make, days of cover at the bundle barcodes' sales rate, classified "
          "with the old backend's thresholds (safety/alert days, overstock = 3 × alert).")
def bundle_risk(context: dg.AssetExecutionContext,
                warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    with warehouse.transaction() as conn:
        as_of = conn.execute(select(t.demand.c.as_of).limit(1)).scalar_one_or_none()
        rows = []
        for r in conn.execute(text(BUNDLES)):
            total = r.wb_ready + r.potential
            risk = classify_bundle_risk(total, r.avg, r.safety, r.alert)
            rows.append((as_of, r.article_id, r.bundle_type_id, r.wb_ready, r.potential, total,
                         r.avg, risk.days_of_cover, r.safety, r.alert, 3 * r.alert, risk.level,
                         risk.explanation))
        conn.execute(delete(t.bundle_risk))
        if as_of is not None:
            bulk_upsert(conn, t.bundle_risk, [c.name for c in t.bundle_risk.columns], rows,
                        ["article_id", "bundle_type_id"])
    levels = Counter(r[11] for r in rows) if as_of is not None else Counter()
    context.log.info(f"bundle risk: {dict(levels)}")
    return dg.MaterializeResult(metadata=table_metadata(
        warehouse, t.bundle_risk, **{f"risk_{level}": levels.get(level, 0)
                                     for level in RISK_PRIORITY}))


#: Per article of one run's proposals: the worst SKU cover risk ``worst_cover_risk`` (by the old
#: backend's ``RISK_PRIORITY`` of ``logic/planning/risk.py``, the order ``worst_risk`` uses:
#: critical > warning > ok > overstock > no_data), SKU units, those to produce, the units
#: recommended, the constraint that limited most of the SKU units to produce (ties: the one met
#: first in the proposals' order, i.e. the lowest id; "none" when nothing is produced), and the
#: minimums' cover check, read from the "minimum_cover" step of the article's first row (every
#: row of an article carries the same record; none when the minimums added nothing). Two GROUP
#: BYs over the run's rows, then one primary-key lookup per article.
HEALTH = f"""
INSERT INTO supplybrain.planning_health (run_id, article_id, as_of, worst_cover_risk, sku_units,
                                         sku_units_to_produce, total_recommended,
                                         dominant_constraint, minimum_exceeds_max_cover,
                                         minimum_cover_policy, max_minimum_cover_days,
                                         minimum_cover_days, quantity_with_minimums)
WITH per_constraint AS (
    SELECT article_id, limiting_constraint, count(*) AS sku_units,
           count(*) FILTER (WHERE recommended_quantity > 0) AS producing,
           min(id) FILTER (WHERE recommended_quantity > 0) AS first_producing,
           min(id) AS first_row, sum(recommended_quantity) AS recommended,
           max(CASE cover_risk {" ".join(f"WHEN '{level}' THEN {rank}"
                                         for level, rank in RISK_PRIORITY.items())} END) AS worst
    FROM supplybrain.planning_proposals WHERE run_id = :run_id
    GROUP BY 1, 2
),
per_article AS (
    SELECT article_id,
           CASE max(worst) {" ".join(f"WHEN {rank} THEN '{level}'"
                                     for level, rank in RISK_PRIORITY.items())} END
               AS worst_cover_risk,
           sum(sku_units) AS sku_units, sum(producing) AS producing,
           sum(recommended) AS recommended,
           COALESCE((array_agg(limiting_constraint ORDER BY producing DESC, first_producing)
                     FILTER (WHERE producing > 0))[1], 'none') AS dominant,
           (SELECT jsonb_path_query_first(p.explanation,
                                          '$.steps[*] ? (@.step == "minimum_cover")')
            FROM supplybrain.planning_proposals p WHERE p.id = min(first_row)) AS cover
    FROM per_constraint GROUP BY article_id
)
SELECT :run_id, article_id, CAST(:as_of AS date), worst_cover_risk, sku_units, producing,
       recommended, dominant, COALESCE((cover ->> 'flagged')::boolean, false),
       cover ->> 'policy', (cover ->> 'max_cover_days')::int,
       (cover ->> 'cover_days')::float8, (cover ->> 'quantity_with_minimums')::int
FROM per_article
"""


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"postgres"}, code_version="3",
          deps=["planning_proposals"], automation_condition=dg.AutomationCondition.eager(),
          description="Per article, from the latest proposals: the worst SKU cover risk "
          "(worst_cover_risk: stock cover against demand, not bundle_risk), how many SKU "
          "units need production, the total recommended, the dominant limiting constraint and "
          "whether the fabric/elastic minimums would exceed the maximum cover (with the cover, "
          "the policy applied and the quantity the minimums would produce).")
def planning_health(context: dg.AssetExecutionContext,
                    warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    articles = 0
    with warehouse.transaction() as conn:
        latest = conn.execute(text(
            "SELECT run_id, as_of FROM supplybrain.planning_proposals_latest LIMIT 1")).first()
        if latest is not None:
            conn.execute(delete(t.planning_health).where(
                t.planning_health.c.run_id == latest.run_id))
            articles = conn.execute(text(HEALTH), {"run_id": latest.run_id,
                                                   "as_of": latest.as_of}).rowcount
    context.log.info(f"planning health: {articles} articles")
    return dg.MaterializeResult(metadata=table_metadata(warehouse, t.planning_health, preview=
        health_preview(warehouse, latest.run_id if latest is not None else None)))
