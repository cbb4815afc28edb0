"""``planning_proposals``: what to produce per SKU unit, and why.

Per SKU unit (logic in ``logic/planning``): SS = z·σ_d·√L, ROP = d·L + SS, target =
d·(L + T) + SS, and target − position when the position is at or below the ROP. Then per
article: the fabric minimum per Pantone group, the elastic minimum, the cover check of the
minimums (``check_minimum_cover``: defer or raise beyond max_minimum_cover_days) and pack
multiples. Every
row carries its inputs, the settings with their source (article → global → default) and each
step in ``explanation``. History is kept per run; ``planning_proposals_latest`` is the newest.
"""

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import groupby
from operator import attrgetter

import dagster as dg
from sqlalchemy import delete, text

from supplybrain_pipelines.assets._metadata import OWNERS, table_metadata
from supplybrain_pipelines.assets.planning._common import GROUP, copy_rows, paused_gc
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.planning import inventory as inv
from supplybrain_pipelines.logic.planning.bundles import SingleKey
from supplybrain_pipelines.logic.planning.explain import steps_by_sku
from supplybrain_pipelines.logic.planning.minimums import (
    DEFAULT_MAX_MINIMUM_COVER_DAYS,
    DEFAULT_MINIMUM_COVER_POLICY,
    apply_production_minimums,
    fabric_minimum,
    pantone_group,
)
from supplybrain_pipelines.logic.planning.risk import bundle_risk_level
from supplybrain_pipelines.logic.planning.spreading import spreading_weights
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

DEFAULTS = {"target_coverage_days": 60, "service_level_percent": 90,
            "lead_time_days": inv.lead_time(),  # 30 + 30 + 3 + 7 = 70
            "fabric_min": 7000, "elastic_min": 3000,
            "max_minimum_cover_days": DEFAULT_MAX_MINIMUM_COVER_DAYS,
            "minimum_cover_policy": DEFAULT_MINIMUM_COVER_POLICY}

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


def resolve(article, global_, default) -> tuple:
    """A setting and where it came from: the article's, else the global row's, else the
    built-in default."""
    if article is not None:
        return article, "article"
    if global_ is not None:
        return global_, "global"
    return default, "default"


#: z per service level: a handful of distinct levels, one inverse normal each.
z_for_service_level = lru_cache(maxsize=256)(inv.z_for_service_level)
#: Compact JSON for the explanation column (COPY sends it as text; JSONB stores it parsed).
encode_json = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def plan_sku(r) -> dict:
    """The per-SKU quantities, before production minimums."""
    target_days, target_src = resolve(r.a_target, r.g_target, DEFAULTS["target_coverage_days"])
    service, service_src = resolve(r.a_service, r.g_service, DEFAULTS["service_level_percent"])
    lead, lead_src = resolve(r.a_lead, r.g_lead, DEFAULTS["lead_time_days"])
    z = z_for_service_level(service / 100)
    plan = inv.plan_replenishment(d=r.rate, sigma_d=r.sigma_daily, lead_time_days=lead,
                                  review_days=target_days, z=z, position=r.position,
                                  on_hand=r.on_hand, as_of=r.as_of)
    risk, _cover = bundle_risk_level(r.on_hand, r.rate, r.safety_stock_days,
                                     r.alert_threshold_days)
    return {
        "row": r, "lead": lead, "target_days": target_days, "service": service / 100,
        "z": z, "ss": plan.safety_stock, "rop": plan.reorder_point, "target": plan.target,
        "reason": plan.recommendation.reason, "raw": plan.units, "risk": risk,
        "cover": plan.days_of_cover, "stockout": plan.stockout_date,
        "settings": {"target_coverage_days": [target_days, target_src],
                     "service_level_percent": [service, service_src],
                     "lead_time_days": [lead, lead_src]},
    }


def apply_minimums(plans: list[dict]) -> tuple[dict, dict, dict, dict, dict | None]:
    """One article's production minimums and their cover check (the "minimum_cover" record,
    None when nothing was checked); nothing is forced when nothing is needed."""
    keys = [SingleKey(p["row"].article_id, p["row"].color_id, p["row"].size_id) for p in plans]
    quantities = {k: p["raw"] for k, p in zip(keys, plans, strict=True)}
    first = plans[0]["row"]
    pantone = {p["row"].color_id: pantone_group(p["row"].color_id, p["row"].pantone_code)
               for p in plans}
    global_fabric = first.g_fabric if first.g_fabric is not None else DEFAULTS["fabric_min"]
    by_group: dict[str, list] = defaultdict(list)
    for p in plans:
        by_group[pantone[p["row"].color_id]].append(p["row"].color_fabric)
    fabric = {group: fabric_minimum(global_fabric, minima) for group, minima in by_group.items()}
    elastic, elastic_src = resolve(first.a_elastic, first.g_elastic, DEFAULTS["elastic_min"])
    demand = {k: p["row"].rate for k, p in zip(keys, plans, strict=True)}
    weights, basis = spreading_weights(
        keys, demand=demand,
        size_weights={p["row"].size_id: p["row"].size_weight for p in plans
                      if p["row"].size_weight})
    max_cover, max_cover_src = resolve(None, first.g_max_cover,
                                       DEFAULTS["max_minimum_cover_days"])
    policy, policy_src = resolve(None, first.g_cover_policy, DEFAULTS["minimum_cover_policy"])
    settings = {"fabric_minimum_by_pantone": fabric, "elastic_minimum": [elastic, elastic_src],
                "pack_multiple": first.pack_multiple, "spread_by": basis,
                "max_minimum_cover_days": [max_cover, max_cover_src],
                "minimum_cover_policy": [policy, policy_src]}
    if sum(quantities.values()) == 0:
        return quantities, dict.fromkeys(keys, "none"), {}, settings, None
    result = apply_production_minimums(
        quantities, pantone_of_color=pantone, fabric_minimum_by_pantone=fabric,
        elastic_minimum=elastic, weights=weights, pack_multiple=first.pack_multiple,
        order=keys, position={k: p["row"].position for k, p in zip(keys, plans, strict=True)},
        demand=demand, max_cover_days=max_cover, cover_policy=policy)
    return (result.quantities, result.limiting_constraint, steps_by_sku(result.steps, keys),
            settings, result.cover)


def explanation(p: dict, article: dict, steps: list[dict]) -> dict:
    """The SKU unit's inputs, its settings with their source, and every step that concerns it:
    its own maths, then the article's minimum records cut to this SKU unit (its Pantone group's
    fabric minimum, the elastic minimum and its pack rounding, with only its own additions)."""
    r = p["row"]
    group = pantone_group(r.color_id, r.pantone_code)
    fabric = article["fabric_minimum_by_pantone"]
    return {
        "inputs": {"demand_rate": r.rate, "demand_method": r.method, "sigma_daily": r.sigma_daily,
                   "on_hand": r.on_hand, "returns_in_transit": r.in_transit_from_client,
                   "on_order_within_lead": r.on_order_within_lead, "position": r.position},
        "settings": {**p["settings"], **article,
                     "fabric_minimum_by_pantone": {group: fabric[group]}},
        "steps": [
            {"step": "z", "service_level": p["service"], "value": p["z"]},
            {"step": "safety_stock", "formula": "z * sigma_d * sqrt(L)", "value": p["ss"]},
            {"step": "reorder_point", "formula": "d * L + SS", "value": p["rop"]},
            {"step": "target", "formula": "d * (L + T) + SS", "value": p["target"]},
            {"step": "recommend", "reason": p["reason"], "quantity": p["raw"]},
            *steps,
        ],
    }


COLUMNS = ["run_id", "as_of", "sku_unit_id", "article_id", "color_id", "size_id", "demand_rate",
           "sigma_daily", "on_hand", "on_order_within_lead", "position", "lead_time_days",
           "target_coverage_days", "service_level", "safety_stock", "reorder_point",
           "target_level", "raw_quantity", "recommended_quantity", "reason", "days_of_cover",
           "stockout_date", "risk_level", "limiting_constraint", "explanation"]


def proposal_rows(run_id: str, inputs: Iterable,
                  flagged: list[dict] | None = None) -> Iterator[tuple]:
    """The table's rows (in :data:`COLUMNS` order), article by article: every SKU unit planned,
    then the article's minimums. ``inputs`` are :data:`INPUTS`' rows, ordered by article. The
    "minimum_cover" records of articles flagged ``minimum_exceeds_max_cover`` are appended to
    ``flagged`` when it is given."""
    for _article, skus in groupby(inputs, key=attrgetter("article_id")):
        plans = [plan_sku(r) for r in skus]
        final, limiting, steps, settings, cover = apply_minimums(plans)
        if flagged is not None and cover is not None and cover["flagged"]:
            flagged.append(cover)
        for p in plans:
            r = p["row"]
            key = SingleKey(r.article_id, r.color_id, r.size_id)
            yield (run_id, r.as_of, r.sku_unit_id, r.article_id, r.color_id, r.size_id,
                   r.rate, r.sigma_daily, r.on_hand, r.on_order_within_lead, r.position,
                   p["lead"], p["target_days"], p["service"], p["ss"], p["rop"], p["target"],
                   p["raw"], final[key], p["reason"], p["cover"], p["stockout"], p["risk"],
                   limiting[key], encode_json(explanation(p, settings, steps.get(key, []))))


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"postgres", "python"}, code_version="2",
          deps=["demand", "supply"], automation_condition=dg.AutomationCondition.eager(),
          description="What to produce per article × colour × size: safety stock, reorder "
          "point, order-up-to target and the recommended quantity after fabric, elastic and "
          "pack minimums (deferred, or raised and flagged, when the minimums would create more "
          "than max_minimum_cover_days of cover), with days of cover, stock-out date, risk "
          "level, limiting constraint and a JSON explanation of every step. Kept per run.")
def planning_proposals(context: dg.AssetExecutionContext,
                       warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    run_id = context.run.run_id
    recommended: list[int] = []
    flagged: list[dict] = []

    def tally(rows: Iterator[tuple]) -> Iterator[tuple]:
        for row in rows:
            recommended.append(row[18])
            yield row

    with warehouse.transaction() as conn, paused_gc():
        inputs = conn.execute(text(INPUTS)).all()
        # Rows carry this run's id, so there is nothing to upsert against: a plain COPY. The
        # DELETE only matters if a step of the same run is ever re-executed. Rows are sent as
        # they are computed, so the server stores one article while the next is planned.
        conn.execute(delete(t.planning_proposals).where(t.planning_proposals.c.run_id == run_id))
        copy_rows(conn, t.planning_proposals, COLUMNS,
                  tally(proposal_rows(run_id, inputs, flagged)))
    total = sum(recommended)
    deferred = sum(1 for c in flagged if c["action"] == "deferred")
    context.log.info(f"planning proposals: {len(recommended)} SKU units, {total} units to "
                     f"produce; {len(flagged)} articles whose minimums exceed the maximum "
                     f"cover ({deferred} deferred)")
    return dg.MaterializeResult(metadata=table_metadata(
        warehouse, t.planning_proposals, run_id=run_id, sku_units=len(recommended),
        sku_units_to_produce=sum(1 for q in recommended if q > 0), units_to_produce=total,
        articles_minimum_exceeds_max_cover=len(flagged), articles_minimum_deferred=deferred,
        units_deferred=sum(c["quantity_with_minimums"] for c in flagged
                           if c["action"] == "deferred")))
