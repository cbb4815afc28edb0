"""Production minimums: fabric minimum per Pantone group, elastic minimum per article, packs.

Source: ``seed_backend_domain.md`` §3.8 steps 12–13 (canonical engine: colours grouped by
``pantone_code``, or ``COLOR-{id}`` when null; ``applied_min = max(global default, colour
minima)``; the increase is spread by size weights with largest remainder) and §3.2 (legacy
scenarios A–D). Pack multiples round up (Odoo v14–v17/v19, ``planning_and_marketplace_apis.md``
§3.3: need 32, multiple 6 → 36).

Conventions:

- A minimum batch constrains a production run; it never starts one. A group (or article) whose
  total is 0 stays 0; a total in (0, minimum) is raised to exactly the minimum.
- Increases are spread over SKU units by ``weights`` (size weights or demand shares, see
  :func:`~.spreading.spreading_weights`) with the largest-remainder (Hamilton) method of
  :mod:`.spreading`, ties broken by ``order`` (size sort_order, then SKU id). Spreading never
  lowers a quantity and adds exactly the shortfall.
- SKU keys are :class:`~.bundles.SingleKey` (article × colour × size); one call is one article.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from supplybrain_pipelines.logic.planning._numbers import as_count, as_number
from supplybrain_pipelines.logic.planning.bundles import SingleKey
from supplybrain_pipelines.logic.planning.spreading import largest_remainder

Constraint = Literal["none", "fabric_min", "elastic_min", "pack_multiple", "deferred_minimum"]
#: Order in which the steps run; a tie in added units goes to the later step.
STEP_ORDER: tuple[Constraint, ...] = ("fabric_min", "elastic_min", "pack_multiple")
#: ``global_planning_settings.minimum_cover_policy`` and ``max_minimum_cover_days`` when NULL.
MINIMUM_COVER_POLICIES = ("defer", "raise")
DEFAULT_MINIMUM_COVER_POLICY = "defer"
DEFAULT_MAX_MINIMUM_COVER_DAYS = 365


def fabric_minimum(global_default: int, color_minima: Iterable[int | None]) -> int:
    """applied_min = max(global default, colour minima of the group) (§3.8 step 12); a null or
    non-positive colour minimum is ignored."""
    return max([global_default, *(m for m in color_minima if m is not None and m > 0)])


def pantone_group(color_id: int, pantone_code: str | None) -> str:
    """The fabric group of a colour: its Pantone code, or ``COLOR-{id}`` when it has none
    (§3.8 step 12)."""
    code = (pantone_code or "").strip()
    return code if code else f"COLOR-{color_id}"


def round_to_pack(qty: int, multiple: int | None) -> int:
    """The smallest multiple of ``multiple`` ≥ ``qty`` (round up); None or 1 → ``qty``.

    Source: ``planning_and_marketplace_apis.md`` §3.3 (Odoo v14–v17 and v19 round up to the
    next multiple: 32 with multiple 6 → 36). 0 stays 0.
    """
    as_count("quantity", qty)
    if multiple is None or multiple == 1:
        return qty
    if as_count("pack multiple", multiple) < 1:
        raise ValueError(f"pack multiple must be a whole number ≥ 1, got {multiple!r}")
    return -(-qty // multiple) * multiple


def round_to_packs(qty: np.ndarray, multiple: np.ndarray) -> np.ndarray:
    """:func:`round_to_pack` element by element on whole-unit arrays (int64): the smallest
    multiple of each ``multiple`` (≥ 1; 1 for none) ≥ each ``qty`` (≥ 0); 0 stays 0. Used by the
    policy backtest, which places many orders a day; the scalar stays the per-SKU fast path."""
    q, m = np.asarray(qty, dtype=np.int64), np.asarray(multiple, dtype=np.int64)
    if (q < 0).any() or (m < 1).any():
        raise ValueError("quantities must be ≥ 0 and pack multiples ≥ 1")
    return -(-q // m) * m


@dataclass(frozen=True, slots=True)
class StepResult:
    """Quantities after one constraint, and the explanation records of what it did."""

    quantities: dict[SingleKey, int]
    steps: list[dict] = field(default_factory=list)


def _checked(qty_by_sku: Mapping[SingleKey, int]) -> dict[SingleKey, int]:
    """A fresh dict of the quantities (callers' mappings are never changed); ValueError unless
    every quantity is a whole number ≥ 0."""
    quantities: dict[SingleKey, int] = {}
    for key, qty in qty_by_sku.items():
        if type(key) is not SingleKey:
            key = SingleKey(*key)
        if type(qty) is not int or qty < 0:  # the message is only built for a bad value
            qty = as_count(f"quantity of {tuple(key)}", qty)
        quantities[key] = qty
    return quantities


def _order(quantities: Mapping[SingleKey, int], order: Sequence[SingleKey] | None
           ) -> list[SingleKey]:
    """The tie-break order restricted to the SKU units present (default: their own order);
    ValueError when ``order`` misses one of them."""
    if order is None:
        return list(quantities)
    keys = [key if type(key) is SingleKey else SingleKey(*key) for key in order]
    listed = set(keys)
    missing = [key for key in quantities if key not in listed]
    if missing:
        raise ValueError(f"order lacks SKU units {[tuple(k) for k in missing[:3]]}")
    return [key for key in keys if key in quantities]


def _added(shares: Mapping[SingleKey, int]) -> list[dict]:
    """The non-zero additions as JSON-ready records (article, colour, size, units added)."""
    return [{"article_id": k.article_id, "color_id": k.color_id, "size_id": k.size_id,
             "added": n} for k, n in shares.items() if n]


def _raise_to_minimum(step: str, quantities: dict[SingleKey, int], members: list[SingleKey],
                      minimum: int, weights: Mapping[SingleKey, float], record: dict) -> dict:
    """Raise Σ quantities[members] to ``minimum`` when 0 < Σ < minimum; returns the record."""
    before = sum(quantities[key] for key in members)
    record.update(step=step, minimum=minimum, before=before)
    if before == 0:
        record.update(after=0, binding=False, reason="nothing_to_produce", added=[])
        return record
    if before >= minimum:
        record.update(after=before, binding=False, reason="at_or_above_minimum", added=[])
        return record
    shares = largest_remainder(minimum - before,
                               {key: weights.get(key, 0.0) for key in members}, members)
    for key, extra in shares.items():
        quantities[key] += extra
    record.update(after=minimum, binding=True, reason="raised_to_minimum", added=_added(shares))
    return record


def apply_fabric_minimum(qty_by_sku: Mapping[SingleKey, int],
                         pantone_of_color: Mapping[int, str | None],
                         minimum_by_pantone: Mapping[str, int],
                         weights: Mapping[SingleKey, float],
                         order: Sequence[SingleKey] | None = None) -> StepResult:
    """Raise each Pantone group's total to its fabric minimum, spread by weights.

    For each group g (colours sharing ``pantone_group``): if 0 < Σ_g qty < min_g, add
    min_g − Σ_g over the group's SKU units with :func:`largest_remainder` on ``weights``
    restricted to the group (equal split when they are all 0). A group with no minimum in
    ``minimum_by_pantone`` is unconstrained. Source: §3.8 step 12 (without the sibling-article
    proxy, which is an input decision of the caller).
    """
    quantities = _checked(qty_by_sku)
    keys = _order(quantities, order)
    groups: dict[str, list[SingleKey]] = {}
    for key in keys:
        group = pantone_group(key.color_id, pantone_of_color.get(key.color_id))
        groups.setdefault(group, []).append(key)
    steps = []
    for group, members in groups.items():
        minimum = minimum_by_pantone.get(group)
        if not minimum or as_count(f"fabric minimum of {group}", minimum) == 0:
            continue
        steps.append(_raise_to_minimum("fabric_min", quantities, members, minimum, weights,
                                       {"pantone": group,
                                        "color_ids": sorted({k.color_id for k in members})}))
    return StepResult(quantities, steps)


def apply_elastic_minimum(qty_by_sku: Mapping[SingleKey, int], article_minimum: int,
                          weights: Mapping[SingleKey, float],
                          order: Sequence[SingleKey] | None = None) -> StepResult:
    """Raise the article's total to its elastic minimum, spread by weights over all its SKUs.

    If 0 < Σ qty < minimum, add minimum − Σ with :func:`largest_remainder`. Source: §3.8 step 13
    (the old engine spread the delta evenly; the legacy one by colour totals, §3.2 step 6).
    """
    quantities = _checked(qty_by_sku)
    keys = _order(quantities, order)
    if len({key.article_id for key in keys}) > 1:
        raise ValueError("the elastic minimum is per article; pass one article's SKU units")
    if not as_count("elastic minimum", article_minimum) or not keys:
        return StepResult(quantities, [])
    record = {"article_id": keys[0].article_id}
    return StepResult(quantities, [_raise_to_minimum("elastic_min", quantities, keys,
                                                     article_minimum, weights, record)])


def apply_pack_multiples(qty_by_sku: Mapping[SingleKey, int],
                         multiple: int | Mapping[SingleKey, int | None] | None) -> StepResult:
    """Round every quantity up to its pack multiple (:func:`round_to_pack`); one record per
    SKU unit that changed."""
    quantities = _checked(qty_by_sku)
    steps = []
    for key, qty in quantities.items():
        pack = multiple.get(key) if isinstance(multiple, Mapping) else multiple
        rounded = round_to_pack(qty, pack)
        if rounded != qty:
            quantities[key] = rounded
            steps.append({"step": "pack_multiple", "multiple": pack, "before": qty,
                          "after": rounded, "binding": True, "reason": "rounded_up",
                          "added": _added({key: rounded - qty})})
    return StepResult(quantities, steps)


@dataclass(frozen=True, slots=True)
class MinimumCover:
    """:func:`check_minimum_cover`'s outcome: the quantities to keep, and the explanation record
    (None when the minimums added nothing, so there was nothing to check)."""

    quantities: dict[SingleKey, int]
    deferred: bool
    record: dict | None


def check_minimum_cover(raw: Mapping[SingleKey, int], with_minimums: Mapping[SingleKey, int], *,
                        position: Mapping[SingleKey, float], demand: Mapping[SingleKey, float],
                        max_cover_days: int | None = None, policy: str | None = None
                        ) -> MinimumCover:
    """Minimums that do not bury a slow seller (issue 11): one article, before pack rounding.

    Only if the fabric and elastic minimums added units (Σ with_minimums > Σ raw): cover =
    (Σ position + Σ with_minimums) / Σ d over the article's SKU units (infinite when Σ d = 0);
    cover > ``max_cover_days`` (None → 365) flags ``minimum_exceeds_max_cover``. ``policy``
    (None → "defer"): "raise" keeps the raised quantities, flagged; "defer" sets every SKU unit
    to 0 (a batch cannot be split; production waits until the need grows). The record
    ``{"step": "minimum_cover", …}`` holds the flag, policy, maximum, cover (None = infinite)
    and what the minimums would produce (total; per SKU unit in ``would_produce``). Example:
    need 60, minimum 7000, position 40, d 2/day → cover 3520 days > 365 → all 0.
    """
    policy = DEFAULT_MINIMUM_COVER_POLICY if policy is None else policy
    if policy not in MINIMUM_COVER_POLICIES:
        raise ValueError(f"minimum_cover_policy must be 'defer' or 'raise', got {policy!r}")
    limit = DEFAULT_MAX_MINIMUM_COVER_DAYS if max_cover_days is None else max_cover_days
    if as_count("max_minimum_cover_days", limit) < 1:
        raise ValueError(f"max_minimum_cover_days must be ≥ 1, got {limit!r}")
    quantities = _checked(with_minimums)
    total, raw_total = sum(quantities.values()), sum(_checked(raw).values())
    if total <= raw_total:
        return MinimumCover(quantities, False, None)
    stock = sum(as_number("position", position.get(k, 0.0), minimum=None) for k in quantities)
    rate = sum(as_number("demand rate", demand.get(k, 0.0)) for k in quantities)
    cover = (stock + total) / rate if rate > 0 else None
    flagged = cover is None or cover > limit
    deferred = flagged and policy == "defer"
    record = {"step": "minimum_cover", "flagged": flagged,
              "flag": "minimum_exceeds_max_cover" if flagged else None, "policy": policy,
              "max_cover_days": limit, "cover_days": cover, "position": stock,
              "demand_rate": rate, "raw_total": raw_total, "quantity_with_minimums": total,
              "action": "deferred" if deferred else "raised" if flagged else "kept",
              "would_produce": [{"article_id": k.article_id, "color_id": k.color_id,
                                 "size_id": k.size_id, "quantity": q}
                                for k, q in quantities.items() if q]}
    if deferred:
        quantities = dict.fromkeys(quantities, 0)
    return MinimumCover(quantities, deferred, record)


@dataclass(frozen=True, slots=True)
class MinimumsResult:
    """Final quantities, the constraint that limited each SKU unit, every step, and the
    "minimum_cover" record when the cover was checked."""

    quantities: dict[SingleKey, int]
    limiting_constraint: dict[SingleKey, Constraint]
    steps: list[dict]
    cover: dict | None = None


def apply_production_minimums(qty_by_sku: Mapping[SingleKey, int], *,
                              pantone_of_color: Mapping[int, str | None],
                              fabric_minimum_by_pantone: Mapping[str, int],
                              elastic_minimum: int,
                              weights: Mapping[SingleKey, float],
                              pack_multiple: int | Mapping[SingleKey, int | None] | None = None,
                              order: Sequence[SingleKey] | None = None,
                              position: Mapping[SingleKey, float] | None = None,
                              demand: Mapping[SingleKey, float] | None = None,
                              max_cover_days: int | None = None,
                              cover_policy: str | None = None) -> MinimumsResult:
    """Fabric minimum per Pantone → elastic minimum per article → [cover check] → packs.

    Each step only raises quantities, so a later step never undoes an earlier minimum.
    ``limiting_constraint`` per SKU unit is the step that added the most units to it (ties →
    the later step), or "none" when nothing was added. ``steps`` starts with an "input" record
    and lists every check (binding or not) for the explanation JSON. When ``demand`` is given,
    :func:`check_minimum_cover` runs after the elastic minimum; if it defers the article, every
    SKU unit is 0 with limiting constraint "deferred_minimum" (packs keep 0 at 0). Sources:
    §3.8 steps 12–13, §3.3 (packs), issue 11 (cover).
    """
    quantities = _checked(qty_by_sku)
    keys = _order(quantities, order)
    steps: list[dict] = [{"step": "input", "total": sum(quantities.values()),
                          "sku_units": len(keys)}]
    fabric = apply_fabric_minimum(quantities, pantone_of_color, fabric_minimum_by_pantone,
                                  weights, keys)
    elastic = apply_elastic_minimum(fabric.quantities, elastic_minimum, weights, keys)
    steps += fabric.steps + elastic.steps
    raised, cover = elastic.quantities, None
    if demand is not None:
        cover = check_minimum_cover(quantities, raised, position=position or {}, demand=demand,
                                    max_cover_days=max_cover_days, policy=cover_policy)
        raised = cover.quantities
        steps += [cover.record] if cover.record else []
    packs = apply_pack_multiples(raised, pack_multiple)
    steps += packs.steps
    final = packs.quantities
    steps.append({"step": "output", "total": sum(final.values())})
    limiting = _limiting(keys, steps)
    if cover is not None and cover.deferred:
        limiting = dict.fromkeys(keys, "deferred_minimum")
    return MinimumsResult({key: final[key] for key in keys}, limiting, steps,
                          cover.record if cover is not None else None)


def _limiting(keys: Sequence[SingleKey], steps: Sequence[dict]) -> dict[SingleKey, Constraint]:
    """Per SKU unit: the step that added the most units (ties → the later step in
    :data:`STEP_ORDER`), or "none" when no step added any."""
    added: dict[SingleKey, dict[str, int]] = {key: {} for key in keys}
    for record in steps:
        for line in record.get("added", []):
            key = SingleKey(line["article_id"], line["color_id"], line["size_id"])
            added[key][record["step"]] = added[key].get(record["step"], 0) + line["added"]
    limiting: dict[SingleKey, Constraint] = {}
    for key in keys:
        best: Constraint = "none"
        for step in STEP_ORDER:
            if added[key].get(step, 0) > 0 and (
                    best == "none" or added[key][step] >= added[key][best]):
                best = step
        limiting[key] = best
    return limiting
