"""Explanations per SKU unit: the article's minimum records cut to the steps that concern it."""

from __future__ import annotations

from supplybrain_pipelines.logic.planning.bundles import SingleKey
from supplybrain_pipelines.logic.planning.explain import steps_by_sku
from supplybrain_pipelines.logic.planning.minimums import apply_production_minimums

ART = 1
A, B, C = 1, 2, 3
#: A and B share a Pantone code (one fabric group); C has its own.
PANTONES = {A: "P-AB", B: "P-AB", C: "P-C"}


def own(line: dict) -> SingleKey:
    return SingleKey(line["article_id"], line["color_id"], line["size_id"])


def run() -> tuple[list[SingleKey], list[dict]]:
    keys = [SingleKey(ART, color, size) for size in (1, 2) for color in (A, B, C)]
    quantities = dict.fromkeys(keys, 0) | {keys[0]: 5, keys[2]: 7, keys[5]: 1}
    result = apply_production_minimums(
        quantities, pantone_of_color=PANTONES,
        fabric_minimum_by_pantone={"P-AB": 40, "P-C": 30}, elastic_minimum=100,
        weights=dict.fromkeys(keys, 1.0), pack_multiple=4, order=keys)
    return keys, result.steps


def test_every_sku_gets_its_own_steps_and_only_its_own_additions() -> None:
    keys, steps = run()
    per_sku = steps_by_sku(steps, keys)
    assert set(per_sku) == set(keys)
    for key, records in per_sku.items():
        names = [r["step"] for r in records]
        assert names[0] == "input" and names[-1] == "output"
        fabric = [r for r in records if r["step"] == "fabric_min"]
        assert len(fabric) == 1 and key.color_id in fabric[0]["color_ids"]
        assert fabric[0]["pantone"] == PANTONES[key.color_id]
        assert names.count("elastic_min") == 1
        for record in records:
            assert all(own(line) == key for line in record.get("added", []))


def test_the_cut_records_add_up_to_the_article_records() -> None:
    keys, steps = run()
    per_sku = steps_by_sku(steps, keys)
    for record in steps:
        if record["step"] not in ("fabric_min", "elastic_min") or not record["added"]:
            continue
        kept = [line for records in per_sku.values() for r in records
                if r["step"] == record["step"] and r.get("pantone") == record.get("pantone")
                for line in r["added"]]
        assert sorted(kept, key=own) == sorted(record["added"], key=own)
        # everything but "added" is the article's record as it was
        for records in per_sku.values():
            for r in records:
                if r["step"] == record["step"] and r.get("pantone") == record.get("pantone"):
                    assert {k: v for k, v in r.items() if k != "added"} == \
                        {k: v for k, v in record.items() if k != "added"}


def test_pack_records_go_to_their_sku_only() -> None:
    keys, steps = run()
    packs = [r for r in steps if r["step"] == "pack_multiple"]
    assert packs
    per_sku = steps_by_sku(steps, keys)
    for record in packs:
        (line,) = record["added"]
        holders = [k for k, records in per_sku.items() if record in records]
        assert holders == [own(line)]


def test_no_steps_means_no_records() -> None:
    keys = [SingleKey(ART, A, 1)]
    assert steps_by_sku([], keys) == {keys[0]: []}
