"""Bundles and singles: turn bundle units into SKU units, and singles stock into bundle capacity.

Domain (DESIGN.md §4; ``seed_backend_domain.md`` §1 "Domain semantics of bundles"): a recipe row
says "bundle type B of article A contains one piece of colour C"; an N-pack has N distinct
colours, all in the same size. So one unit of bundle (A, B, S) is one unit of every SKU unit
(A, C, S) with C in the recipe of (A, B). Orders to the factory are per article × colour × size.

Production does this work in SQL for speed: ``UNITS`` of ``assets/planning/demand.py`` explodes
bundle orders, ``PER_SIZE`` of ``assets/planning/risk.py`` computes bundle capacity. These
functions are the rule; ``test_bundle_equivalence.py`` runs both on the same random catalogue
and requires equal results.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple


class BundleKey(NamedTuple):
    """A bundle barcode's meaning: article, bundle type and size."""

    article_id: int
    bundle_type_id: int
    size_id: int


class SingleKey(NamedTuple):
    """A SKU unit: article × colour × size."""

    article_id: int
    color_id: int
    size_id: int


#: Recipes: (article_id, bundle_type_id) → the recipe colours (each once).
Recipes = Mapping[tuple[int, int], Collection[int]]


@dataclass(frozen=True, slots=True)
class ExplodedUnits:
    """Units per SKU unit, plus what could not be turned into singles (reported, never dropped).

    ``missing_recipe``: bundle units whose (article, bundle type) has no recipe.
    ``unknown_singles``: units for a recipe colour that has no SKU unit in that size (only
    when ``known_singles`` was given); they are *not* in ``units``.
    """

    units: dict[SingleKey, float] = field(default_factory=dict)
    missing_recipe: dict[BundleKey, float] = field(default_factory=dict)
    unknown_singles: dict[SingleKey, float] = field(default_factory=dict)


def _check_recipe(key: tuple[int, int], colors: Collection[int]) -> None:
    """ValueError when a recipe lists a colour twice (the old schema forbids it)."""
    if len(set(colors)) != len(list(colors)):
        raise ValueError(f"recipe {key} lists a colour twice: {sorted(colors)}; "
                         "a bundle holds one piece of each recipe colour")


def explode_bundle_units(units_by_bundle: Mapping[BundleKey, float], recipes: Recipes, *,
                         known_singles: Collection[SingleKey] | None = None) -> ExplodedUnits:
    """units(A, C, S) = Σ over bundle types B of A with C ∈ recipe(A, B) of units(A, B, S).

    Source: DESIGN.md §4 ("a WB order for a bundle barcode of type B in size S counts as one
    unit of demand for each recipe colour of B in size S"); the same mapping turns WB stock of
    bundle barcodes into singles. Example: 3 units of a 2-pack {black, white} in M → 3 black-M
    and 3 white-M. Zero units are skipped; negative units raise ValueError.
    """
    units: dict[SingleKey, float] = {}
    missing: dict[BundleKey, float] = {}
    unknown: dict[SingleKey, float] = {}
    known = None if known_singles is None else set(known_singles)
    for bundle, quantity in units_by_bundle.items():
        bundle = BundleKey(*bundle)
        if not quantity >= 0:
            raise ValueError(f"bundle {tuple(bundle)} has units {quantity!r}; must be ≥ 0")
        if quantity == 0:
            continue
        colors = recipes.get((bundle.article_id, bundle.bundle_type_id))
        if not colors:
            missing[bundle] = missing.get(bundle, 0) + quantity
            continue
        _check_recipe((bundle.article_id, bundle.bundle_type_id), colors)
        for color_id in colors:
            single = SingleKey(bundle.article_id, color_id, bundle.size_id)
            target = units if known is None or single in known else unknown
            target[single] = target.get(single, 0) + quantity
    return ExplodedUnits(units, missing, unknown)


def bundle_capacity_from_singles(single_stock_by_color: Mapping[Hashable, float],
                                 recipe_colors: Iterable[Hashable]) -> float:
    """Bundles that singles stock can make in one size = min over recipe colours of max(stock, 0).

    Source: ``seed_backend_domain.md`` §2.2 (``calculate_bundle_availability``): "if any recipe
    colour lacks a SKU in that size → 0, else min over recipe colours of max(quantity, 0)".
    A colour absent from ``single_stock_by_color`` counts as a missing SKU → 0; an empty
    recipe → 0. (Like the old backend, it ignores competition between bundle types that
    share colours.)
    """
    colors = list(recipe_colors)
    if not colors or any(color not in single_stock_by_color for color in colors):
        return 0
    return min(max(single_stock_by_color[color], 0) for color in colors)


def bundle_capacity_by_size(stock_by_color_size: Mapping[tuple[Hashable, Hashable], float],
                            recipe_colors: Iterable[Hashable],
                            sizes: Iterable[Hashable]) -> dict[Hashable, float]:
    """Per size: :func:`bundle_capacity_from_singles` over that size's singles stock.

    ``stock_by_color_size`` maps (colour, size) → stock for the SKU units that exist; the old
    backend's "potential bundles from singles" is the sum of the values (§2.2).
    """
    colors = list(recipe_colors)
    result: dict[Hashable, float] = {}
    for size in sizes:
        by_color = {color: stock_by_color_size[(color, size)] for color in colors
                    if (color, size) in stock_by_color_size}
        result[size] = bundle_capacity_from_singles(by_color, colors)
    return result
