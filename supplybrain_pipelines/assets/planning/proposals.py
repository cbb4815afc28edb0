"""``planning_proposals``: what to produce per SKU unit, and why.

The whole catalogue at once (``_proposal_rows``, maths in ``logic/planning``): SS = z·σ_d·√L,
ROP = d·L + SS, target = d·(L + T) + SS and ⌈target − position⌉ when the position is at or
below the ROP, as numpy arrays over every SKU unit. Then, only for articles with a need: the
fabric minimum per Pantone group, the elastic minimum, the cover check of the minimums
(``check_minimum_cover``: defer or raise beyond max_minimum_cover_days) and pack multiples. Every
row carries its inputs, the settings with their source (article → global → default) and each
step in ``explanation``, filled into a JSON template per row; the rows go to PostgreSQL as one
COPY of text blocks. History is kept per run; ``planning_proposals_latest`` is the newest.
"""

import dagster as dg
from sqlalchemy import delete, text

from supplybrain_pipelines.assets._metadata import OWNERS, table_metadata
from supplybrain_pipelines.assets.planning._common import GROUP, copy_text, paused_gc
from supplybrain_pipelines.assets.planning._preview import proposals_preview
from supplybrain_pipelines.assets.planning._proposal_rows import COLUMNS, plan_catalogue
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

INPUTS = """
WITH g AS (SELECT * FROM supplybrain.global_planning_settings ORDER BY id LIMIT 1)
SELECT d.sku_unit_id, d.article_id, d.color_id, d.size_id, d.as_of, d.rate, d.sigma_daily,
       d.method, s.on_hand, s.in_transit_from_client, s.on_order_within_lead, s.position,
       aps.target_coverage_days AS a_target, g.default_target_coverage_days AS g_target,
       aps.service_level_percent AS a_service, g.default_service_level_percent AS g_service,
       aps.lead_time_days AS a_lead, g.default_lead_time_days AS g_lead,
       aps.pack_multiple, ps.safety_stock_days, ps.alert_threshold_days,
       c.pantone_code, sz.sort_order,
       g.default_fabric_min_batch_qty AS g_fabric, g.default_elastic_min_batch_qty AS g_elastic,
       cps.fabric_min_batch_qty AS color_fabric, w.weight AS size_weight,
       g.max_minimum_cover_days AS g_max_cover, g.minimum_cover_policy AS g_cover_policy,
       (SELECT max(e.elastic_min_batch_qty) FROM supplybrain.elastic_planning_settings e
        WHERE e.article_id = d.article_id) AS a_elastic
FROM supplybrain.demand d
JOIN supplybrain.supply s ON s.sku_unit_id = d.sku_unit_id
JOIN supplybrain.color c ON c.id = d.color_id
JOIN supplybrain.size sz ON sz.id = d.size_id
LEFT JOIN g ON true
LEFT JOIN supplybrain.article_planning_settings aps ON aps.article_id = d.article_id
LEFT JOIN supplybrain.planning_settings ps ON ps.article_id = d.article_id
LEFT JOIN supplybrain.color_planning_settings cps ON cps.article_id = d.article_id
     AND cps.color_id = d.color_id
LEFT JOIN supplybrain.production_order_size_weight_settings w ON w.article_id = d.article_id
     AND w.size_id = d.size_id AND w.weight > 0
ORDER BY d.article_id, sz.sort_order, d.sku_unit_id
"""


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"postgres", "python"}, code_version="2",
          deps=["demand", "supply"], automation_condition=dg.AutomationCondition.eager(),
          description="What to produce per article × colour × size: safety stock, reorder "
          "point, order-up-to target and the recommended quantity after fabric, elastic and "
          "pack minimums (deferred, or raised and flagged, when the minimums would create more "
          "than max_minimum_cover_days of cover), with days of cover, stock-out date, cover "
          "risk (cover_risk), limiting constraint and a JSON explanation of every step. Kept "
          "per run.")
def planning_proposals(context: dg.AssetExecutionContext,
                       warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    run_id = context.run.run_id
    with warehouse.transaction() as conn, paused_gc():
        result = conn.execute(text(INPUTS))
        names = list(result.keys())
        proposals = plan_catalogue(run_id, names, result.all())
        # Rows carry this run's id, so there is nothing to upsert against: a plain COPY. The
        # DELETE only matters if a step of the same run is ever re-executed.
        conn.execute(delete(t.planning_proposals).where(t.planning_proposals.c.run_id == run_id))
        copy_text(conn, t.planning_proposals, COLUMNS, proposals.blocks)
    recommended, flagged = proposals.recommended, proposals.flagged
    total = int(recommended.sum())
    deferred = sum(1 for c in flagged if c["action"] == "deferred")
    context.log.info(f"planning proposals: {len(recommended)} SKU units, {total} units to "
                     f"produce; {len(flagged)} articles whose minimums exceed the maximum "
                     f"cover ({deferred} deferred)")
    return dg.MaterializeResult(metadata=table_metadata(
        warehouse, t.planning_proposals, run_id=run_id, sku_units=len(recommended),
        sku_units_to_produce=int((recommended > 0).sum()), units_to_produce=total,
        articles_minimum_exceeds_max_cover=len(flagged), articles_minimum_deferred=deferred,
        units_deferred=sum(c["quantity_with_minimums"] for c in flagged
                           if c["action"] == "deferred"),
        preview=proposals_preview(warehouse, run_id)))
