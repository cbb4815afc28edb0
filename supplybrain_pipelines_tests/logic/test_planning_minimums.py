"""Production minimums: largest remainder, fabric/elastic minimums, pack multiples.

Reference scenarios are the old backend's (seed_backend_domain.md §3.2 A–D, §3.8.1). Where our
method (largest remainder per SKU unit by weights) is the same as the old one, the numbers are
reproduced exactly; where it differs (scenario D) the test states the old value and why ours
differs.
"""

from __future__ import annotations

import random

import pytest

from supplybrain_pipelines.logic.planning.bundles import SingleKey
from supplybrain_pipelines.logic.planning.minimums import (
    apply_elastic_minimum,
    apply_fabric_minimum,
    apply_pack_multiples,
    apply_production_minimums,
    fabric_minimum,
    pantone_group,
    round_to_pack,
)
from supplybrain_pipelines.logic.planning.spreading import largest_remainder, spreading_weights

ART = 1
A, B, C = 1, 2, 3  # colours, created in that order
OWN_PANTONES = {A: "PA", B: "PB", C: "PC"}


def legacy_order(sizes: list[int]) -> list[SingleKey]:
    """SKU units sorted as the old backend does: size sort_order, then SKU id (colour-major)."""
    return [SingleKey(ART, color, size) for size in sizes for color in (A, B, C)]


def color_totals(quantities: dict[SingleKey, int]) -> dict[int, int]:
    totals: dict[int, int] = {}
    for key, qty in quantities.items():
        totals[key.color_id] = totals.get(key.color_id, 0) + qty
    return totals


def uniform(order: list[SingleKey]) -> dict[SingleKey, float]:
    return {key: 1.0 for key in order}


# ----------------------------------------------------------------------------- largest remainder

def test_largest_remainder_reference_splits() -> None:
    assert largest_remainder(10, {"b1": 0.6, "b2": 0.4}, ["b1", "b2"]) == {"b1": 6, "b2": 4}
    # §3.8.1: 2850 by size weights 0.55/0.45 is a true .5 tie → the first size wins
    assert largest_remainder(2850, {"S": 0.55, "M": 0.45}, ["S", "M"]) == {"S": 1568, "M": 1282}
    assert largest_remainder(2850, {"S": 0.55, "M": 0.45}, ["M", "S"]) == {"M": 1283, "S": 1567}
    assert largest_remainder(4312, {"S": 0.55, "M": 0.45}, ["S", "M"]) == {"S": 2372, "M": 1940}


def test_largest_remainder_ties_follow_order_and_zero_weights_get_nothing() -> None:
    assert largest_remainder(100, {"x": 1, "y": 1, "z": 1}, ["z", "x", "y"]) == \
        {"z": 34, "x": 33, "y": 33}
    assert largest_remainder(5, {"x": 1, "y": 0, "z": 1}, ["x", "y", "z"]) == \
        {"x": 3, "y": 0, "z": 2}
    assert largest_remainder(4, {}, ["x", "y", "z"]) == {"x": 2, "y": 1, "z": 1}  # Σw = 0
    assert largest_remainder(0, {"x": 1}, ["x", "y"]) == {"x": 0, "y": 0}
    assert largest_remainder(0, {}, []) == {}


@pytest.mark.parametrize(("args", "match"), [
    ((-1, {"x": 1}, ["x"]), "total"), ((3, {"x": -1}, ["x"]), "weight"),
    ((3, {"q": 1}, ["x"]), "order lacks"), ((3, {}, []), "no keys"),
    ((3, {"x": 1}, ["x", "x"]), "twice"), ((2.5, {"x": 1}, ["x"]), "total")])
def test_largest_remainder_rejects_bad_inputs(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        largest_remainder(*args)


def test_largest_remainder_properties_on_random_inputs() -> None:
    """Σ shares = total; every share is ⌊quota⌋ or ⌈quota⌉ (Hamilton's quota rule)."""
    rng = random.Random(42)
    for _ in range(500):
        keys = list(range(rng.randint(1, 12)))
        weights = {k: rng.choice([0.0, 0.1, 0.55, 1.0, 3.3, rng.random() * 10]) for k in keys}
        total = rng.randint(0, 10_000)
        shares = largest_remainder(total, weights, keys)
        assert sum(shares.values()) == total
        weight_sum = sum(weights.values()) or len(keys)
        for key in keys:
            quota = total * (weights[key] if sum(weights.values()) else 1.0) / weight_sum
            assert quota - 1 < shares[key] < quota + 1


# ----------------------------------------------------------------------- legacy scenarios A–D

def test_scenario_a_even_spread() -> None:
    """A: 2 sizes, deficit 180 → 30 per SKU, each colour 60."""
    order = legacy_order([1, 2])
    planned = largest_remainder(180, uniform(order), order)
    assert set(planned.values()) == {30}
    assert color_totals(planned) == {A: 60, B: 60, C: 60}


def test_scenario_b_colour_minimum() -> None:
    """B: as A with colour A minimum 200 → A = 200 (100/100), B = 60, C = 60, total 320."""
    order = legacy_order([1, 2])
    planned = largest_remainder(180, uniform(order), order)
    result = apply_fabric_minimum(planned, OWN_PANTONES, {"PA": 200}, uniform(order), order)
    assert color_totals(result.quantities) == {A: 200, B: 60, C: 60}
    assert result.quantities[SingleKey(ART, A, 1)] == result.quantities[SingleKey(ART, A, 2)] == 100
    assert sum(result.quantities.values()) == 320
    assert result.steps[0]["binding"] and result.steps[0]["before"] == 60


def test_scenario_c_elastic_minimum_same_numbers_as_legacy() -> None:
    """C: deficit 300, elastic minimum 500 → colours 167/167/166 (sizes 84/83, 84/83, 83/83).

    Legacy spreads the 200 by colour totals (equal here) with +1 by colour id, then evenly over
    sizes; largest remainder over the six SKU units in (size, id) order gives the same lines.
    """
    order = legacy_order([1, 2])
    planned = largest_remainder(300, uniform(order), order)
    result = apply_elastic_minimum(planned, 500, uniform(order), order)
    assert color_totals(result.quantities) == {A: 167, B: 167, C: 166}
    q = result.quantities
    assert [q[SingleKey(ART, c, s)] for c in (A, B, C) for s in (1, 2)] == [84, 83, 84, 83, 83, 83]


def test_scenario_d_differs_from_legacy_and_why() -> None:
    """D: 3 sizes, 300 planned → 100 per colour; colour A minimum 220; elastic 600.

    Legacy: A = 315 (105,105,105), B = 143 (48,48,47), C = 142 (48,47,47). It spreads the elastic
    +180 in proportion to *colour totals* with int() truncation and +1 by colour id, then evenly
    over sizes. We spread by the given weights with largest remainder per SKU unit:
    - equal demand shares (uniform weights): +20 per SKU → A 280, B 160, C 160;
    - weights proportional to the plan (the legacy idea): A 314, B 143, C 143 — one unit moves
      from A to C because Hamilton ranks per SKU remainders, not per colour.
    """
    order = legacy_order([1, 2, 3])
    planned = largest_remainder(300, uniform(order), order)
    assert color_totals(planned) == {A: 100, B: 100, C: 100}
    fabric = apply_fabric_minimum(planned, OWN_PANTONES, {"PA": 220}, uniform(order), order)
    assert color_totals(fabric.quantities) == {A: 220, B: 100, C: 100}

    even = apply_elastic_minimum(fabric.quantities, 600, uniform(order), order).quantities
    assert color_totals(even) == {A: 280, B: 160, C: 160}
    assert [even[SingleKey(ART, A, s)] for s in (1, 2, 3)] == [94, 93, 93]

    plan_weights = {key: float(qty) for key, qty in fabric.quantities.items()}
    shaped = apply_elastic_minimum(fabric.quantities, 600, plan_weights, order).quantities
    assert color_totals(shaped) == {A: 314, B: 143, C: 143}
    assert sum(shaped.values()) == 600


def test_canonical_happy_path_fabric_minimum() -> None:
    """§3.8.1: lines 1480/1208 per colour, Pantones BLACK-01/BLACK-02 minimum 7000, size
    weights 0.55/0.45 → +4312 split 2372/1940 → 3852, 3148, 3852, 3148 (14 000)."""
    s, m = 1, 2
    keys = [SingleKey(ART, A, s), SingleKey(ART, A, m), SingleKey(ART, B, s), SingleKey(ART, B, m)]
    qty = dict(zip(keys, [1480, 1208, 1480, 1208], strict=True))
    weights, basis = spreading_weights(keys, size_weights={s: 0.55, m: 0.45})
    assert basis == "size_weight"
    result = apply_production_minimums(
        qty, pantone_of_color={A: "BLACK-01", B: "BLACK-02"},
        fabric_minimum_by_pantone={"BLACK-01": 7000, "BLACK-02": 7000},
        elastic_minimum=3000, weights=weights, order=keys)
    assert [result.quantities[k] for k in keys] == [3852, 3148, 3852, 3148]
    assert sum(result.quantities.values()) == 14_000
    assert set(result.limiting_constraint.values()) == {"fabric_min"}
    elastic = [step for step in result.steps if step["step"] == "elastic_min"]
    assert elastic[0]["binding"] is False and elastic[0]["reason"] == "at_or_above_minimum"


# ------------------------------------------------------------------------- groups and helpers

def test_colours_sharing_a_pantone_share_one_minimum() -> None:
    keys = [SingleKey(ART, A, 1), SingleKey(ART, B, 1), SingleKey(ART, C, 1)]
    qty = dict(zip(keys, [300, 100, 0], strict=True))
    result = apply_fabric_minimum(qty, {A: "NAVY", B: "NAVY", C: None},
                                  {"NAVY": 1000, "COLOR-3": 500},
                                  {keys[0]: 3.0, keys[1]: 1.0, keys[2]: 1.0}, keys)
    assert result.quantities == {keys[0]: 750, keys[1]: 250, keys[2]: 0}
    navy, own = result.steps
    assert navy["pantone"] == "NAVY" and navy["color_ids"] == [A, B]
    assert own["pantone"] == "COLOR-3" and own["reason"] == "nothing_to_produce"


def test_fabric_minimum_and_group_helpers() -> None:
    assert fabric_minimum(7000, [None, 8000, 0]) == 8000
    assert fabric_minimum(7000, []) == 7000
    assert pantone_group(5, None) == pantone_group(5, "  ") == "COLOR-5"
    assert pantone_group(5, "19-4052") == "19-4052"


def test_spreading_weights_bases() -> None:
    keys = [SingleKey(ART, A, 1), SingleKey(ART, A, 2)]
    assert spreading_weights(keys, demand={keys[0]: 3.0}) == ({keys[0]: 3.0, keys[1]: 0.0},
                                                               "demand_share")
    assert spreading_weights(keys, demand={keys[0]: 0.0}, size_weights={2: 1.5})[1] == \
        "size_weight"
    assert spreading_weights(keys) == ({keys[0]: 1.0, keys[1]: 1.0}, "uniform")


@pytest.mark.parametrize(("qty", "multiple", "rounded"), [
    (32, 6, 36), (36, 6, 36), (0, 6, 0), (1, 6, 6), (7, None, 7), (7, 1, 7), (3148, 50, 3150)])
def test_round_to_pack(qty: int, multiple: int | None, rounded: int) -> None:
    """§3.3 Odoo: need 32 with multiple 6 → 36 (round up)."""
    assert round_to_pack(qty, multiple) == rounded


@pytest.mark.parametrize(("qty", "multiple"), [(5, 0), (5, -6), (-1, 6), (2.5, 6)])
def test_round_to_pack_rejects_bad_inputs(qty: int, multiple: int) -> None:
    with pytest.raises(ValueError):
        round_to_pack(qty, multiple)


def test_pack_multiples_per_sku() -> None:
    keys = [SingleKey(ART, A, 1), SingleKey(ART, A, 2)]
    result = apply_pack_multiples({keys[0]: 32, keys[1]: 32}, {keys[0]: 6, keys[1]: None})
    assert result.quantities == {keys[0]: 36, keys[1]: 32}
    assert result.steps == [{"step": "pack_multiple", "multiple": 6, "before": 32, "after": 36,
                             "binding": True, "reason": "rounded_up",
                             "added": [{"article_id": ART, "color_id": A, "size_id": 1,
                                        "added": 4}]}]


def test_orchestrator_limiting_constraints_and_steps() -> None:
    """fabric raises colour A; elastic raises the article; packs round the rest."""
    keys = [SingleKey(ART, A, 1), SingleKey(ART, B, 1), SingleKey(ART, C, 1)]
    result = apply_production_minimums(
        dict(zip(keys, [50, 200, 0], strict=True)),
        pantone_of_color=OWN_PANTONES, fabric_minimum_by_pantone={"PA": 300},
        elastic_minimum=0, weights=uniform(keys), pack_multiple=12, order=keys)
    assert result.quantities == {keys[0]: 300, keys[1]: 204, keys[2]: 0}
    assert result.limiting_constraint == {keys[0]: "fabric_min", keys[1]: "pack_multiple",
                                          keys[2]: "none"}
    assert [s["step"] for s in result.steps] == ["input", "fabric_min", "pack_multiple", "output"]
    assert result.steps[0]["total"] == 250 and result.steps[-1]["total"] == 504

    elastic = apply_production_minimums(
        dict(zip(keys, [10, 10, 0], strict=True)), pantone_of_color=OWN_PANTONES,
        fabric_minimum_by_pantone={}, elastic_minimum=100,
        weights={keys[0]: 1.0, keys[1]: 1.0}, pack_multiple=None, order=keys)
    assert elastic.quantities == {keys[0]: 50, keys[1]: 50, keys[2]: 0}
    assert elastic.limiting_constraint[keys[0]] == "elastic_min"


def test_a_minimum_never_starts_a_run() -> None:
    keys = [SingleKey(ART, A, 1), SingleKey(ART, B, 1)]
    result = apply_production_minimums(
        {keys[0]: 0, keys[1]: 0}, pantone_of_color=OWN_PANTONES,
        fabric_minimum_by_pantone={"PA": 7000, "PB": 7000}, elastic_minimum=3000,
        weights=uniform(keys), pack_multiple=10, order=keys)
    assert result.quantities == {keys[0]: 0, keys[1]: 0}
    assert set(result.limiting_constraint.values()) == {"none"}


def test_elastic_minimum_is_per_article() -> None:
    keys = [SingleKey(1, A, 1), SingleKey(2, A, 1)]
    with pytest.raises(ValueError, match="per article"):
        apply_elastic_minimum({keys[0]: 1, keys[1]: 1}, 10, uniform(keys))


def test_bad_quantities_and_orders_raise() -> None:
    key = SingleKey(ART, A, 1)
    with pytest.raises(ValueError, match="whole number"):
        apply_fabric_minimum({key: 1.5}, {}, {}, {})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="order lacks"):
        apply_fabric_minimum({key: 1}, {}, {}, {}, order=[])


def test_minimums_preserve_totals_and_never_lower_on_random_plans() -> None:
    """Property checks: each step adds exactly the shortfall, no quantity ever drops, every
    constrained group with a positive total ends at or above its minimum, packs divide."""
    rng = random.Random(7)
    for _ in range(300):
        colors = list(range(1, rng.randint(2, 6)))
        sizes = list(range(1, rng.randint(2, 5)))
        keys = [SingleKey(ART, c, s) for s in sizes for c in colors]
        qty = {k: rng.choice([0, 0, 1, 5, 40, 333]) for k in keys}
        pantones = {c: rng.choice(["P1", "P2", None]) for c in colors}
        minima = {g: rng.choice([0, 50, 500, 2000]) for g in
                  {pantone_group(c, p) for c, p in pantones.items()}}
        weights = {k: rng.choice([0.0, 0.3, 1.0, 2.5]) for k in keys}
        elastic = rng.choice([0, 100, 3000])
        pack = rng.choice([None, 1, 6, 12])

        fabric = apply_fabric_minimum(qty, pantones, minima, weights, keys)
        for step in fabric.steps:
            added = sum(line["added"] for line in step["added"])
            assert step["after"] - step["before"] == added
            if step["before"] > 0:
                assert step["after"] == max(step["before"], step["minimum"])

        result = apply_production_minimums(
            qty, pantone_of_color=pantones, fabric_minimum_by_pantone=minima,
            elastic_minimum=elastic, weights=weights, pack_multiple=pack, order=keys)
        final = result.quantities
        assert all(final[k] >= qty[k] for k in keys)
        for group, minimum in minima.items():
            members = [k for k in keys if pantone_group(k.color_id, pantones[k.color_id]) == group]
            if sum(qty[k] for k in members) > 0:
                assert sum(final[k] for k in members) >= minimum
        if sum(qty.values()) > 0:
            assert sum(final.values()) >= elastic
        else:
            assert sum(final.values()) == 0
        if pack:
            assert all(final[k] % pack == 0 for k in keys)
        for k in keys:
            assert (result.limiting_constraint[k] == "none") == (final[k] == qty[k])
