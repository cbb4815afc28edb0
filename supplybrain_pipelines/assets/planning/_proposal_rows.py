"""The rows of ``planning_proposals`` for a whole catalogue, as COPY text.

1. The per-SKU maths runs once on arrays (``logic/planning``: :func:`~.inventory.
   plan_replenishments`, :func:`~.risk.risk_levels`): one element per SKU unit.
2. Settings resolve once per article (article → global → default), the fabric minimum once per
   article × Pantone group.
3. Only articles with a need (Σ raw > 0) go through :func:`~.minimums.apply_production_minimums`;
   the others keep their raw quantities (all 0), limiting constraint "none" and no minimum
   steps, as before.
4. Each row is one ``%`` of a line template: the numbers are turned into text once per column
   (``repr``, exact for floats), the article's settings and its minimum records are JSON
   encoded once per article (:func:`~.explain.steps_json_by_sku`), and the explanation JSON is
   the template filled with them. No dict is built and nothing is JSON encoded per row.

The text is PostgreSQL's COPY text format: tab-separated, ``\\N`` for NULL, backslashes doubled
(only the JSON of user strings, such as a Pantone code, can hold one).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from supplybrain_pipelines.logic.planning import inventory as inv
from supplybrain_pipelines.logic.planning.bundles import SingleKey
from supplybrain_pipelines.logic.planning.explain import encode_json, steps_json_by_sku
from supplybrain_pipelines.logic.planning.minimums import (
    DEFAULT_MAX_MINIMUM_COVER_DAYS,
    DEFAULT_MINIMUM_COVER_POLICY,
    apply_production_minimums,
    fabric_minimum,
    pantone_group,
)
from supplybrain_pipelines.logic.planning.risk import risk_levels
from supplybrain_pipelines.logic.planning.spreading import spreading_basis, spreading_weights

DEFAULTS = {"target_coverage_days": 60, "service_level_percent": 90,
            "lead_time_days": inv.lead_time(),  # 30 + 30 + 3 + 7 = 70
            "fabric_min": 7000, "elastic_min": 3000,
            "max_minimum_cover_days": DEFAULT_MAX_MINIMUM_COVER_DAYS,
            "minimum_cover_policy": DEFAULT_MINIMUM_COVER_POLICY}

COLUMNS = ["run_id", "as_of", "sku_unit_id", "article_id", "color_id", "size_id", "demand_rate",
           "sigma_daily", "on_hand", "on_order_within_lead", "position", "lead_time_days",
           "target_coverage_days", "service_level", "safety_stock", "reorder_point",
           "target_level", "raw_quantity", "recommended_quantity", "reason", "days_of_cover",
           "stockout_date", "cover_risk", "limiting_constraint", "explanation"]

#: The explanation of one row: its inputs, settings (the article's, then its own Pantone
#: group's fabric minimum), its own maths, then the article's minimum records cut to it.
EXPLANATION = (
    '{"inputs":{"demand_rate":%s,"demand_method":%s,"sigma_daily":%s,"on_hand":%s,'
    '"returns_in_transit":%s,"on_order_within_lead":%s,"position":%s},"settings":{%s},'
    '"steps":[%s,{"step":"safety_stock","formula":"z * sigma_d * sqrt(L)","value":%s},'
    '{"step":"reorder_point","formula":"d * L + SS","value":%s},'
    '{"step":"target","formula":"d * (L + T) + SS","value":%s},'
    '{"step":"recommend","reason":"%s","quantity":%s}%s]}')
#: Rows per COPY block: the server stores one block while the next is formatted.
BLOCK_ROWS = 8192
_REASONS = np.array(inv.REASONS, dtype=object)


def resolve(article: object, global_: object, default: object) -> tuple[object, str]:
    """A setting and where it came from: the article's, else the global row's, else the
    built-in default."""
    if article is not None:
        return article, "article"
    if global_ is not None:
        return global_, "global"
    return default, "default"


def copy_escaped(text: str) -> str:
    """Text for a COPY text-format field: backslashes doubled (JSON never holds a raw tab or
    newline, so nothing else needs escaping)."""
    return text.replace("\\", "\\\\")


def _texts(values: Sequence) -> list[str]:
    """Every value as its text (``repr``: exact for floats, as psycopg sends them)."""
    return list(map(repr, values))


def _nullable(texts: list[str], missing: np.ndarray) -> list[str]:
    """``texts`` with ``\\N`` (COPY's NULL) where ``missing``."""
    for i in np.flatnonzero(missing).tolist():
        texts[i] = "\\N"
    return texts


@dataclass(frozen=True)
class Proposals:
    """A catalogue's proposals: the rows as COPY text ``blocks``, made lazily (the minimums of
    an article run when its block is made, so the server stores one block while the next is
    planned); ``recommended`` (final quantities) and ``flagged`` (the "minimum_cover" records
    of flagged articles) are complete once ``blocks`` has been consumed."""

    recommended: np.ndarray
    flagged: list[dict]
    blocks: Iterator[str]


def plan_catalogue(run_id: str, names: Sequence[str], rows: Sequence[Sequence]) -> Proposals:
    """Plan every SKU unit of ``rows`` (``INPUTS``' rows, ordered by article, with its column
    ``names``) and return the proposals with their COPY text."""
    n = len(rows)
    if n == 0:
        return Proposals(np.zeros(0, dtype=np.int64), [], iter(()))
    c = dict(zip(names, zip(*rows, strict=True), strict=True))
    article = np.array(c["article_id"], dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, article[1:] != article[:-1]])
    counts = np.diff(np.r_[starts, n])
    first = starts.tolist()
    art_of_row = np.repeat(np.arange(len(first)), counts)
    rate = np.array(c["rate"], dtype=np.float64)
    weight = np.array(c["size_weight"], dtype=np.float64)  # None → NaN
    any_demand = np.logical_or.reduceat(rate > 0, starts).tolist()
    any_weight = np.logical_or.reduceat(weight > 0, starts).tolist()

    # -- settings, once per article ----------------------------------------------------------
    lead_a, target_a, service_a, settings_a, elastic_a, cover_a = [], [], [], [], [], []
    for k, i in enumerate(first):
        target, target_src = resolve(c["a_target"][i], c["g_target"][i],
                                     DEFAULTS["target_coverage_days"])
        service, service_src = resolve(c["a_service"][i], c["g_service"][i],
                                       DEFAULTS["service_level_percent"])
        lead, lead_src = resolve(c["a_lead"][i], c["g_lead"][i], DEFAULTS["lead_time_days"])
        elastic = resolve(c["a_elastic"][i], c["g_elastic"][i], DEFAULTS["elastic_min"])
        max_cover = resolve(None, c["g_max_cover"][i], DEFAULTS["max_minimum_cover_days"])
        policy = resolve(None, c["g_cover_policy"][i], DEFAULTS["minimum_cover_policy"])
        lead_a.append(lead)
        target_a.append(target)
        service_a.append(service)
        elastic_a.append(elastic[0])
        cover_a.append((max_cover[0], policy[0]))
        settings_a.append(encode_json({
            "target_coverage_days": [target, target_src],
            "service_level_percent": [service, service_src], "lead_time_days": [lead, lead_src],
            "elastic_minimum": list(elastic), "pack_multiple": c["pack_multiple"][i],
            "spread_by": spreading_basis(any_demand[k], any_weight[k]),
            "max_minimum_cover_days": list(max_cover),
            "minimum_cover_policy": list(policy)})[1:-1])
    service_level_a = np.array(service_a, dtype=np.float64) / 100
    z_a = inv.z_for_service_levels(service_level_a)

    # -- the fabric minimum per article × Pantone group ----------------------------------------
    group_of_color = {color: pantone_group(color, code)
                      for color, code in set(zip(c["color_id"], c["pantone_code"], strict=True))}
    groups = sorted(set(group_of_color.values()))
    group_index = {color: groups.index(group) for color, group in group_of_color.items()}
    key = art_of_row * len(groups) + np.fromiter(map(group_index.__getitem__, c["color_id"]),
                                                 dtype=np.int64, count=n)
    keys, key_of_row = np.unique(key, return_inverse=True)
    color_minimum = np.array(c["color_fabric"], dtype=np.float64)
    largest = np.full(len(keys), -np.inf)
    np.maximum.at(largest, key_of_row, np.where(color_minimum > 0, color_minimum, -np.inf))
    fabric_by_article: list[dict[str, int]] = [{} for _ in first]
    key_settings = []
    for art, group, best in zip((keys // len(groups)).tolist(), (keys % len(groups)).tolist(),
                                largest.tolist(), strict=True):
        i = first[art]
        global_fabric = c["g_fabric"][i] if c["g_fabric"][i] is not None else \
            DEFAULTS["fabric_min"]
        value = fabric_minimum(global_fabric, [int(best)] if best > 0 else [])
        fabric_by_article[art][groups[group]] = value
        key_settings.append(copy_escaped(
            f'{settings_a[art]},"fabric_minimum_by_pantone":'
            f'{{{encode_json(groups[group])}:{encode_json(value)}}}'))

    # -- the per-SKU maths on arrays ---------------------------------------------------------
    plan = inv.plan_replenishments(
        d=rate, sigma_d=np.array(c["sigma_daily"], dtype=np.float64),
        lead_time_days=np.repeat(np.array(lead_a, dtype=np.float64), counts),
        review_days=np.repeat(np.array(target_a, dtype=np.float64), counts),
        z=np.repeat(z_a, counts), position=np.array(c["position"], dtype=np.float64),
        on_hand=np.array(c["on_hand"], dtype=np.float64),
        as_of=np.array(c["as_of"], dtype="datetime64[D]"))
    risk, _cover = risk_levels(np.array(c["on_hand"], dtype=np.float64), rate,
                               np.array(c["safety_stock_days"], dtype=np.float64),
                               np.array(c["alert_threshold_days"], dtype=np.float64))

    # -- minimums and text, a block of whole articles at a time ------------------------------
    units = plan.units
    need = np.add.reduceat(units, starts) > 0
    final = units.copy()
    flagged: list[dict] = []
    text = {
        "per_article": np.array([f"{lead}\t{target}\t{level!r}" for lead, target, level in
                                 zip(lead_a, target_a, service_level_a.tolist(), strict=True)],
                                dtype=object),
        "z_step": np.array([encode_json({"step": "z", "service_level": level, "value": z})
                            for level, z in zip(service_level_a.tolist(), z_a.tolist(),
                                                strict=True)], dtype=object),
        "settings": np.array(key_settings, dtype=object),
        "method": {m: copy_escaped(encode_json(m)) for m in set(c["method"])},
        "line": (copy_escaped(run_id).replace("%", "%%") + "\t" + "\t".join(["%s"] * 21)
                 + "\t" + EXPLANATION + "\n")}

    def article_minimums(k: int) -> tuple[list[str], list[str]]:
        """Article ``k``'s minimums: final quantities into ``final``, its flagged cover record
        into ``flagged``; returns its limiting constraints and minimum steps (row text)."""
        i, j = first[k], first[k] + int(counts[k])
        skus = [SingleKey(*sku) for sku in zip(c["article_id"][i:j], c["color_id"][i:j],
                                                c["size_id"][i:j], strict=True)]
        demand = dict(zip(skus, c["rate"][i:j], strict=True))
        weights, _basis = spreading_weights(
            skus, demand=demand,
            size_weights={size: w for size, w in zip(c["size_id"][i:j], c["size_weight"][i:j],
                                                     strict=True) if w})
        result = apply_production_minimums(
            dict(zip(skus, units[i:j].tolist(), strict=True)), pantone_of_color={
                color: group_of_color[color] for color in c["color_id"][i:j]},
            fabric_minimum_by_pantone=fabric_by_article[k], elastic_minimum=elastic_a[k],
            weights=weights, pack_multiple=c["pack_multiple"][i], order=skus,
            position=dict(zip(skus, c["position"][i:j], strict=True)), demand=demand,
            max_cover_days=cover_a[k][0], cover_policy=cover_a[k][1])
        final[i:j] = [result.quantities[sku] for sku in skus]
        if result.cover is not None and result.cover["flagged"]:
            flagged.append(result.cover)
        steps = steps_json_by_sku(result.steps, skus)
        return ([result.limiting_constraint[sku] for sku in skus],
                [copy_escaped("," + steps[sku]) if steps[sku] else "" for sku in skus])

    def block(ka: int, kb: int) -> str:
        """The COPY text of articles ka … kb − 1."""
        i, j = first[ka], (first[kb] if kb < len(first) else n)
        limiting, steps = ["none"] * (j - i), [""] * (j - i)
        for k in (ka + np.flatnonzero(need[ka:kb])).tolist():
            a, b = first[k] - i, first[k] + int(counts[k]) - i
            limiting[a:b], steps[a:b] = article_minimums(k)
        arts = art_of_row[i:j]
        floats = {name: _texts(c[name][i:j]) for name in (
            "rate", "sigma_daily", "on_hand", "on_order_within_lead", "position")}
        ss, rop, target = (_texts(values[i:j].tolist()) for values in (
            plan.safety_stock, plan.reorder_point, plan.target))
        reason = _REASONS[plan.reason[i:j]].tolist()
        raw = _texts(units[i:j].tolist())
        cover, day = plan.days_of_cover[i:j], plan.stockout_date[i:j]
        columns = [
            list(map(str, c["as_of"][i:j])), *(_texts(c[name][i:j]) for name in (
                "sku_unit_id", "article_id", "color_id", "size_id")),
            floats["rate"], floats["sigma_daily"], floats["on_hand"],
            floats["on_order_within_lead"], floats["position"],
            text["per_article"][arts].tolist(), ss, rop, target, raw,
            _texts(final[i:j].tolist()), reason,
            _nullable(_texts(cover.tolist()), np.isnan(cover)),
            _nullable(np.datetime_as_string(day).tolist(), np.isnat(day)),
            risk[i:j].tolist(), limiting,
            # the explanation
            floats["rate"], list(map(text["method"].__getitem__, c["method"][i:j])),
            floats["sigma_daily"], floats["on_hand"], _texts(c["in_transit_from_client"][i:j]),
            floats["on_order_within_lead"], floats["position"],
            text["settings"][key_of_row[i:j]].tolist(), text["z_step"][arts].tolist(),
            ss, rop, target, reason, raw, steps]
        return "".join(map(text["line"].__mod__, zip(*columns, strict=True)))

    def blocks() -> Iterator[str]:
        """Blocks of whole articles, about :data:`BLOCK_ROWS` rows each."""
        cuts = np.unique(np.searchsorted(starts, np.arange(BLOCK_ROWS, n, BLOCK_ROWS)))
        bounds = [0, *(int(k) for k in cuts if 0 < k < len(first)), len(first)]
        for ka, kb in zip(bounds[:-1], bounds[1:], strict=True):
            yield block(ka, kb)

    return Proposals(final, flagged, blocks())
