"""Minimums that do not bury a slow seller (issue 11): the cover check between the elastic
minimum and pack rounding. Every expected value is worked out by hand in the comments."""

from __future__ import annotations

import pytest

from supplybrain_pipelines.logic.planning.bundles import SingleKey
from supplybrain_pipelines.logic.planning.explain import steps_by_sku
from supplybrain_pipelines.logic.planning.minimums import (
    apply_production_minimums,
    check_minimum_cover,
)

ART, BLACK, M, L = 1, 10, 1, 2
BM, BL = SingleKey(ART, BLACK, M), SingleKey(ART, BLACK, L)
KEYS = [BM, BL]


def plan(raw: dict, position: dict, demand: dict, *, policy: str | None = None,
         max_cover: int | None = None, pack: int | None = None):
    return apply_production_minimums(
        raw, pantone_of_color={BLACK: "19-4005"}, fabric_minimum_by_pantone={"19-4005": 7000},
        elastic_minimum=3000, weights=demand, pack_multiple=pack, order=KEYS,
        position=position, demand=demand, max_cover_days=max_cover, cover_policy=policy)


# Slow seller: d = 1 + 1 = 2/day, need 30 + 30 = 60, position 20 + 20 = 40. The fabric minimum
# adds 6940, split 3470/3470 by equal demand → 3500/3500; elastic 7000 ≥ 3000 adds nothing.
# cover = (40 + 7000) / 2 = 3520 days > 365.
SLOW = ({BM: 30, BL: 30}, {BM: 20.0, BL: 20.0}, {BM: 1.0, BL: 1.0})


def test_defer_is_the_default_and_zeroes_every_sku_unit_even_with_packs():
    result = plan(*SLOW, pack=6)
    assert result.quantities == {BM: 0, BL: 0}          # 0 stays 0 under pack rounding
    assert result.limiting_constraint == {BM: "deferred_minimum", BL: "deferred_minimum"}
    assert result.cover == {
        "step": "minimum_cover", "flagged": True, "flag": "minimum_exceeds_max_cover",
        "policy": "defer", "max_cover_days": 365, "cover_days": 3520.0, "position": 40.0,
        "demand_rate": 2.0, "raw_total": 60, "quantity_with_minimums": 7000,
        "action": "deferred",
        "would_produce": [{"article_id": ART, "color_id": BLACK, "size_id": M, "quantity": 3500},
                          {"article_id": ART, "color_id": BLACK, "size_id": L,
                           "quantity": 3500}]}
    names = [s["step"] for s in result.steps]
    assert names == ["input", "fabric_min", "elastic_min", "minimum_cover", "output"]
    assert result.steps[-1]["total"] == 0


def test_raise_keeps_the_minimums_flagged_then_rounds_to_packs():
    result = plan(*SLOW, policy="raise", pack=6)
    # 3500 → ⌈3500 / 6⌉ · 6 = 584 · 6 = 3504 each; fabric added 3470 > pack's 4
    assert result.quantities == {BM: 3504, BL: 3504}
    assert result.limiting_constraint == {BM: "fabric_min", BL: "fabric_min"}
    assert result.cover["flagged"] is True and result.cover["action"] == "raised"
    assert result.cover["cover_days"] == 3520.0 and result.cover["policy"] == "raise"


def test_cover_within_the_maximum_keeps_the_minimums_unflagged():
    # d = 20 + 20 = 40, need 1000 + 1000, position 500 + 500 = 1000; fabric → 3500/3500
    # cover = (1000 + 7000) / 40 = 200 days ≤ 365
    fast = ({BM: 1000, BL: 1000}, {BM: 500.0, BL: 500.0}, {BM: 20.0, BL: 20.0})
    result = plan(*fast)
    assert result.quantities == {BM: 3500, BL: 3500}
    assert result.limiting_constraint == {BM: "fabric_min", BL: "fabric_min"}
    assert (result.cover["flagged"], result.cover["flag"], result.cover["action"],
            result.cover["cover_days"]) == (False, None, "kept", 200.0)
    # the rule is "> max": exactly 200 is kept, 199 defers
    assert plan(*fast, max_cover=200).quantities == {BM: 3500, BL: 3500}
    assert plan(*fast, max_cover=199).quantities == {BM: 0, BL: 0}


def test_no_check_when_the_minimums_add_nothing():
    # 4000 + 4000 = 8000 ≥ 7000 and ≥ 3000: nothing added, so no record and nothing deferred
    result = plan({BM: 4000, BL: 4000}, {BM: 0.0, BL: 0.0}, {BM: 0.1, BL: 0.1})
    assert result.quantities == {BM: 4000, BL: 4000}
    assert result.cover is None
    assert "minimum_cover" not in [s["step"] for s in result.steps]


def test_without_demand_the_old_behaviour_is_unchanged():
    result = apply_production_minimums(
        {BM: 30, BL: 30}, pantone_of_color={BLACK: None},
        fabric_minimum_by_pantone={f"COLOR-{BLACK}": 7000}, elastic_minimum=3000,
        weights={BM: 1.0, BL: 1.0}, order=KEYS)
    assert result.quantities == {BM: 3500, BL: 3500} and result.cover is None


def test_no_demand_means_infinite_cover_and_a_flag():
    cover = check_minimum_cover({BM: 1}, {BM: 7000}, position={BM: 0.0}, demand={BM: 0.0})
    assert cover.deferred and cover.quantities == {BM: 0}
    assert cover.record["cover_days"] is None and cover.record["flagged"] is True


def test_settings_are_checked():
    with pytest.raises(ValueError, match="'defer' or 'raise'"):
        check_minimum_cover({BM: 1}, {BM: 2}, position={}, demand={BM: 1.0}, policy="bury")
    with pytest.raises(ValueError, match="≥ 1"):
        check_minimum_cover({BM: 1}, {BM: 2}, position={}, demand={BM: 1.0}, max_cover_days=0)


def test_each_sku_unit_explains_the_check_with_its_own_quantity():
    result = plan(*SLOW)
    per_sku = steps_by_sku(result.steps, KEYS)
    for key in KEYS:
        record = next(s for s in per_sku[key] if s["step"] == "minimum_cover")
        assert record["flagged"] and record["quantity_with_minimums"] == 7000
        assert record["would_produce"] == [{"article_id": ART, "color_id": BLACK,
                                            "size_id": key.size_id, "quantity": 3500}]
