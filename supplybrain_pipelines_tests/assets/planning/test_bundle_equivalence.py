"""One source of truth for bundles: production does the work in SQL for speed, so the SQL and
the pure functions of ``logic/planning/bundles.py`` must agree on the same data.

A seeded random catalogue (articles with colours in only some sizes, bundle types with a
recipe, without one, or with a recipe colour the article has no SKU unit of) is written to
PostgreSQL, then:

- ``UNITS`` (assets/planning/demand.py, bundle order units → SKU units) against
  ``explode_bundle_units``: the exploded units are equal SKU unit by SKU unit, and what the SQL
  drops is exactly what the logic reports (``missing_recipe``, ``unknown_singles``);
- ``PER_SIZE`` and ``BUNDLES.potential`` (assets/planning/risk.py) against
  ``bundle_capacity_by_size`` and its sum.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from supplybrain_pipelines.assets.planning.demand import UNITS
from supplybrain_pipelines.assets.planning.risk import BUNDLES, PER_SIZE
from supplybrain_pipelines.logic.planning.bundles import (
    BundleKey,
    SingleKey,
    bundle_capacity_by_size,
    explode_bundle_units,
)
from supplybrain_pipelines_tests.fixtures_db import engine

AS_OF = date(2026, 11, 30)
START = AS_OF - timedelta(days=29)


def catalogue(seed: int) -> dict:
    """Ids are assigned here, so the test knows every key without reading them back."""
    rng = random.Random(seed)
    colors, sizes, types = list(range(1, 9)), list(range(1, 5)), list(range(1, 6))
    articles = list(range(1, rng.randint(4, 7)))
    skus, recipes, stock, mapped = {}, {}, {}, []
    for article in articles:
        own_colors = rng.sample(colors, rng.randint(2, 5))
        for color in own_colors:
            for size in rng.sample(sizes, rng.randint(1, len(sizes))):  # not every size
                skus[SingleKey(article, color, size)] = len(skus) + 1
        for bundle_type in types:
            roll = rng.random()
            if roll < 0.25:
                mapped.append((article, bundle_type))  # sold on WB, but no recipe
                continue
            recipe = rng.sample(own_colors, min(len(own_colors), rng.randint(2, 3)))
            if roll > 0.85:  # a recipe colour the article has no SKU unit of at all
                recipe.append(rng.choice([c for c in colors if c not in own_colors]))
            recipes[(article, bundle_type)] = recipe
    for key in skus:
        if rng.random() < 0.85:  # the rest has no supply row: 0 stock
            stock[key] = float(rng.randint(-5, 40))  # negative own stock counts as 0
    orders = []  # (day, item_key, article, bundle type, size, sku unit id, thousandths)
    for article in articles:
        for bundle_type in types:
            for size in sizes:
                for n in range(rng.randint(0, 3)):
                    day = AS_OF - timedelta(days=rng.randint(0, 40))  # some before the window
                    orders.append((day, f"b{article}-{bundle_type}-{size}-{n}", article,
                                   bundle_type, size, None, rng.randint(0, 4000)))
    for key, sku_id in skus.items():
        if rng.random() < 0.5:
            orders.append((AS_OF, f"s{sku_id}", key.article_id, None, key.size_id, sku_id,
                           rng.randint(1, 3000)))
    return {"articles": articles, "colors": colors, "sizes": sizes, "types": types,
            "skus": skus, "recipes": recipes, "stock": stock, "mapped": mapped,
            "orders": orders}


def write(url, c: dict) -> None:
    eng = engine(url)
    with eng.begin() as conn:
        def insert(table: str, rows: list[dict]) -> None:
            if rows:
                cols = list(rows[0])
                conn.execute(sa.text(f"INSERT INTO supplybrain.{table} ({', '.join(cols)}) "
                                     f"VALUES ({', '.join(':' + k for k in cols)})"), rows)

        insert("article", [{"id": a, "code": f"A{a}"} for a in c["articles"]])
        insert("color", [{"id": k, "inner_code": f"C{k}"} for k in c["colors"]])
        insert("size", [{"id": s, "label": f"S{s}", "sort_order": s} for s in c["sizes"]])
        insert("bundle_type", [{"id": b, "code": f"B{b}", "name": f"B{b}"} for b in c["types"]])
        insert("sku_unit", [{"id": i, "article_id": k.article_id, "color_id": k.color_id,
                             "size_id": k.size_id} for k, i in c["skus"].items()])
        insert("bundle_recipe", [{"article_id": a, "bundle_type_id": b, "color_id": color,
                                  "position": n + 1}
                                 for (a, b), recipe in c["recipes"].items()
                                 for n, color in enumerate(recipe)])
        insert("article_wb_mapping", [{"article_id": a, "wb_sku": f"wb{a}-{b}",
                                       "bundle_type_id": b, "size_id": 1}
                                      for a, b in c["mapped"]])
        insert("supply", [{"as_of": AS_OF, "sku_unit_id": c["skus"][k], "article_id": k[0],
                           "color_id": k[1], "size_id": k[2], "own_stock": q,
                           "wb_single_stock": 0, "wb_bundle_stock": 0,
                           "in_transit_to_client": 0, "in_transit_from_client": 0,
                           "on_order_within_lead": 0, "on_order_beyond_lead": 0,
                           "lead_time_days": 70, "on_hand": 0, "position": 0}
                          for k, q in c["stock"].items()])
        insert("orders_daily", [{"day": day, "channel": "wb", "account_id": 1, "item_key": item,
                                 "article_id": a, "bundle_type_id": b, "size_id": s,
                                 "sku_unit_id": sku, "units_ordered": q / 1000,
                                 "units_cancelled": 0, "units_net": q / 1000, "revenue": 0}
                                for day, item, a, b, s, sku, q in c["orders"]])
    eng.dispose()


def query(url, statement: str, **params) -> list:
    eng = engine(url)
    with eng.connect() as conn:
        rows = conn.execute(sa.text(statement), params).all()
    eng.dispose()
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_units_sql_explodes_bundles_as_the_logic_does(migrated_db_url, seed):
    c = catalogue(seed)
    write(migrated_db_url, c)
    by_id = {i: k for k, i in c["skus"].items()}
    sql = {by_id[r.sku_unit_id]: r.bundled for r in query(migrated_db_url, f"""
        SELECT sku_unit_id, sum(bundled) AS bundled FROM ({UNITS}) u
        GROUP BY 1 HAVING sum(bundled) <> 0""", start=START, as_of=AS_OF)}

    bundles: dict[BundleKey, int] = defaultdict(int)  # thousandths, in the window
    for day, _item, a, b, s, sku, q in c["orders"]:
        if sku is None and START <= day <= AS_OF:
            bundles[BundleKey(a, b, s)] += q
    logic = explode_bundle_units(bundles, c["recipes"], known_singles=c["skus"].keys())

    assert sql == logic.units
    # what the SQL drops is what the logic reports: bundles without a recipe …
    assert logic.missing_recipe == {k: q for k, q in bundles.items()
                                    if (k.article_id, k.bundle_type_id) in c["mapped"] and q}
    # … and recipe colours without a SKU unit in the size (summed over bundle types)
    unknown: dict[SingleKey, int] = defaultdict(int)
    for k, q in bundles.items():
        for color in c["recipes"].get((k.article_id, k.bundle_type_id), ()):
            if q and SingleKey(k.article_id, color, k.size_id) not in c["skus"]:
                unknown[SingleKey(k.article_id, color, k.size_id)] += q
    assert logic.unknown_singles == unknown
    assert logic.missing_recipe and logic.unknown_singles and logic.units  # all three happen
    exploded_in = sum(q * len(c["recipes"][(k.article_id, k.bundle_type_id)])
                      for k, q in bundles.items() if (k.article_id, k.bundle_type_id)
                      in c["recipes"])
    assert exploded_in == sum(sql.values()) + sum(logic.unknown_singles.values())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bundle_capacity_sql_equals_the_logic(migrated_db_url, seed):
    c = catalogue(seed)
    write(migrated_db_url, c)
    stock = {k: c["stock"].get(k, 0.0) for k in c["skus"]}  # no supply row: 0
    sizes_of = defaultdict(set)
    for k in c["skus"]:
        sizes_of[k.article_id].add(k.size_id)
    expected = {}
    for (a, b), recipe in c["recipes"].items():
        by_color_size = {(k.color_id, k.size_id): q for k, q in stock.items()
                         if k.article_id == a}
        for size, capacity in bundle_capacity_by_size(by_color_size, recipe,
                                                      sorted(sizes_of[a])).items():
            expected[(a, b, size)] = capacity
    per_size = {(r.article_id, r.bundle_type_id, r.size_id): float(r.capacity)
                for r in query(migrated_db_url, f"SELECT * FROM ({PER_SIZE}) p")}
    assert per_size == expected
    assert any(v > 0 for v in expected.values()) and any(v == 0 for v in expected.values())

    potential = {(r.article_id, r.bundle_type_id): r.potential
                 for r in query(migrated_db_url, BUNDLES)}
    # types: every WB-mapped bundle type, and every recipe with a colour the article has
    types = set(c["mapped"]) | {
        (a, b) for (a, b), recipe in c["recipes"].items()
        if any(k.article_id == a and k.color_id in recipe for k in c["skus"])}
    assert set(potential) == types
    for a, b in types:
        assert potential[(a, b)] == sum(v for (x, y, _s), v in expected.items()
                                        if (x, y) == (a, b))  # no recipe: 0
