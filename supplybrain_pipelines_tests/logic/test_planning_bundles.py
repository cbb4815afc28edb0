"""Bundles → singles (DESIGN.md §4) and bundle capacity from singles (seed §2.2)."""

from __future__ import annotations

import pytest

from supplybrain_pipelines.logic.planning.bundles import (
    BundleKey,
    SingleKey,
    bundle_capacity_by_size,
    bundle_capacity_from_singles,
    explode_bundle_units,
)

ART, BLACK, WHITE, GREY = 1, 10, 11, 12
S, M = 100, 101
TWO_PACK, THREE_PACK = 5, 6
RECIPES = {(ART, TWO_PACK): [BLACK, WHITE], (ART, THREE_PACK): [BLACK, WHITE, GREY]}


def test_a_bundle_counts_one_unit_per_recipe_colour_in_its_size() -> None:
    exploded = explode_bundle_units(
        {BundleKey(ART, TWO_PACK, M): 3, BundleKey(ART, THREE_PACK, M): 2,
         BundleKey(ART, TWO_PACK, S): 0}, RECIPES)
    assert exploded.units == {SingleKey(ART, BLACK, M): 5, SingleKey(ART, WHITE, M): 5,
                              SingleKey(ART, GREY, M): 2}
    assert exploded.missing_recipe == {}
    assert exploded.unknown_singles == {}


def test_plain_tuples_work() -> None:
    assert explode_bundle_units({(ART, TWO_PACK, M): 3}, RECIPES).units == {
        SingleKey(ART, BLACK, M): 3, SingleKey(ART, WHITE, M): 3}


def test_unknown_recipes_and_missing_skus_are_reported_not_dropped() -> None:
    exploded = explode_bundle_units(
        {BundleKey(ART, 99, S): 4, BundleKey(ART, TWO_PACK, S): 1}, RECIPES,
        known_singles={SingleKey(ART, BLACK, S)})
    assert exploded.missing_recipe == {BundleKey(ART, 99, S): 4}
    assert exploded.units == {SingleKey(ART, BLACK, S): 1}
    assert exploded.unknown_singles == {SingleKey(ART, WHITE, S): 1}


def test_invalid_bundle_inputs_raise() -> None:
    with pytest.raises(ValueError, match="≥ 0"):
        explode_bundle_units({BundleKey(ART, TWO_PACK, S): -1}, RECIPES)
    with pytest.raises(ValueError, match="twice"):
        explode_bundle_units({BundleKey(ART, 7, S): 1}, {(ART, 7): [BLACK, BLACK]})


def test_capacity_is_the_min_over_recipe_colours() -> None:
    assert bundle_capacity_from_singles({BLACK: 30, WHITE: 25}, [BLACK, WHITE]) == 25
    assert bundle_capacity_from_singles({BLACK: 30, WHITE: -4}, [BLACK, WHITE]) == 0
    assert bundle_capacity_from_singles({BLACK: 30}, [BLACK, WHITE]) == 0  # no WHITE SKU
    assert bundle_capacity_from_singles({BLACK: 30}, []) == 0


def test_worked_monitoring_example_capacity() -> None:
    """§2.8: C1-S 30, C1-M 20, C2-S 25, C2-M 10, 2-pack {C1, C2} → S 25, M 10, 35 in all."""
    stock = {(BLACK, S): 30, (BLACK, M): 20, (WHITE, S): 25, (WHITE, M): 10}
    by_size = bundle_capacity_by_size(stock, [BLACK, WHITE], [S, M])
    assert by_size == {S: 25, M: 10}
    assert sum(by_size.values()) == 35
    assert bundle_capacity_by_size(stock, [BLACK, WHITE, GREY], [S, M]) == {S: 0, M: 0}
