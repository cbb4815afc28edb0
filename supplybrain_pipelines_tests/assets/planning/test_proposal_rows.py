"""The proposals' COPY text (``_proposal_rows.plan_catalogue``) against hand-worked rows.

No database: two articles of ``INPUTS``-shaped rows, as-of 2026-11-30; the COPY text is read
back (tab-separated, ``\\N`` = NULL, backslashes doubled) and every column and the explanation
JSON compared with literals.

- Article 1, SKU 11 (colour 3, no Pantone code → group "COLOR-3"): global settings L 70, T 60,
  90 %; d = 3, σ = 0, position = on hand = 500 > ROP 210 → 0; target 3·130 = 390; cover 500/3
  days → stock-out +166 days = 2027-05-15, overstock. Nothing needed → no minimum steps.
- Article 2 (L 10 and T 20 from the article, 90 % global, packs of 5), colour 5 with the
  Pantone code 'P\\1<tab>X' and a colour fabric minimum of 100 (global 0): SKU 21 d = 1,
  position 10 = ROP 10 → target 30 − 10 = 20; SKU 22 d = 1, position 30 > ROP → 0. The group's
  20 is raised to 100: +80 by demand shares 1:1 → +40 each → 60 and 40 (multiples of 5 already).
  Cover check: (10 + 30 + 100) / 2 = 70 days ≤ 365 → kept.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from supplybrain_pipelines.assets.planning._proposal_rows import COLUMNS, plan_catalogue

Z90 = pytest.approx(1.2815515655446004, rel=1e-15)
PANTONE = "P\\1\tX"
GLOBAL = {"g_target": 60, "g_service": 90, "g_lead": 70, "g_fabric": 0, "g_elastic": 0,
          "g_max_cover": None, "g_cover_policy": None}


def row(sku: int, article: int, color: int, size: int, rate: float, position: float, **extra
        ) -> dict:
    base = {"sku_unit_id": sku, "article_id": article, "color_id": color, "size_id": size,
            "as_of": date(2026, 11, 30), "rate": rate, "sigma_daily": 0.0,
            "method": "calendar_mean", "on_hand": position, "in_transit_from_client": 0.0,
            "on_order_within_lead": 0.0, "position": position, "a_target": None,
            "a_service": None, "a_lead": None, "pack_multiple": None, "safety_stock_days": 7,
            "alert_threshold_days": 14, "pantone_code": None, "sort_order": size,
            "color_fabric": None, "size_weight": None, "a_elastic": None, **GLOBAL}
    return base | extra


ARTICLE_2 = {"a_target": 20, "a_lead": 10, "pack_multiple": 5, "pantone_code": PANTONE,
             "color_fabric": 100}
INPUT = [row(11, 1, 3, 1, 3.0, 500.0),
         row(21, 2, 5, 1, 1.0, 10.0, in_transit_from_client=1.0, on_order_within_lead=2.0,
             **ARTICLE_2),
         row(22, 2, 5, 2, 1.0, 30.0, **ARTICLE_2)]


def field(text: str) -> str | None:
    return None if text == "\\N" else re.sub(
        r"\\(.)", lambda m: {"t": "\t", "n": "\n"}.get(m.group(1), m.group(1)), text)


def copied_rows() -> tuple[list[dict], object]:
    names = list(INPUT[0])
    proposals = plan_catalogue("run-1", names, [tuple(r[n] for n in names) for r in INPUT])
    text = "".join(proposals.blocks)
    lines = text.split("\n")
    assert lines[-1] == ""
    rows = [dict(zip(COLUMNS, map(field, line.split("\t")), strict=True))
            for line in lines[:-1]]
    for r in rows:
        r["explanation"] = json.loads(r["explanation"])
    return rows, proposals


def test_columns_are_the_hand_worked_values() -> None:
    rows, proposals = copied_rows()
    columns = [(r["sku_unit_id"], r["lead_time_days"], r["target_coverage_days"],
                r["service_level"], r["safety_stock"], r["reorder_point"], r["target_level"],
                r["raw_quantity"], r["recommended_quantity"], r["reason"], r["stockout_date"],
                r["cover_risk"], r["limiting_constraint"]) for r in rows]
    assert columns == [
        ("11", "70", "60", "0.9", "0.0", "210.0", "390.0", "0", "0", "position_above_rop",
         "2027-05-15", "overstock", "none"),
        ("21", "10", "20", "0.9", "0.0", "10.0", "30.0", "20", "60", "position_at_or_below_rop",
         "2026-12-10", "warning", "fabric_min"),
        ("22", "10", "20", "0.9", "0.0", "10.0", "30.0", "0", "40", "position_above_rop",
         "2026-12-30", "ok", "fabric_min")]  # 30 days: 14 < 30 < 42
    assert float(rows[0]["days_of_cover"]) == pytest.approx(500 / 3, rel=1e-15)
    assert [r["run_id"] for r in rows] == ["run-1"] * 3
    assert proposals.recommended.tolist() == [0, 60, 40] and proposals.flagged == []


def test_explanations_are_the_hand_worked_json() -> None:
    rows, _ = copied_rows()
    first, second = rows[0]["explanation"], rows[1]["explanation"]
    assert first == {
        "inputs": {"demand_rate": 3.0, "demand_method": "calendar_mean", "sigma_daily": 0.0,
                   "on_hand": 500.0, "returns_in_transit": 0.0, "on_order_within_lead": 0.0,
                   "position": 500.0},
        "settings": {"target_coverage_days": [60, "global"],
                     "service_level_percent": [90, "global"], "lead_time_days": [70, "global"],
                     "elastic_minimum": [0, "global"], "pack_multiple": None,
                     "spread_by": "demand_share", "max_minimum_cover_days": [365, "default"],
                     "minimum_cover_policy": ["defer", "default"],
                     "fabric_minimum_by_pantone": {"COLOR-3": 0}},
        "steps": [{"step": "z", "service_level": 0.9, "value": Z90},
                  {"step": "safety_stock", "formula": "z * sigma_d * sqrt(L)", "value": 0.0},
                  {"step": "reorder_point", "formula": "d * L + SS", "value": 210.0},
                  {"step": "target", "formula": "d * (L + T) + SS", "value": 390.0},
                  {"step": "recommend", "reason": "position_above_rop", "quantity": 0}]}
    own = {"article_id": 2, "color_id": 5, "size_id": 1}
    assert second["inputs"]["returns_in_transit"] == 1.0
    assert second["settings"]["fabric_minimum_by_pantone"] == {PANTONE: 100}
    assert second["settings"]["target_coverage_days"] == [20, "article"]
    assert second["settings"]["pack_multiple"] == 5
    assert second["steps"][4:] == [
        {"step": "recommend", "reason": "position_at_or_below_rop", "quantity": 20},
        {"step": "input", "total": 20, "sku_units": 2},
        {"step": "fabric_min", "pantone": PANTONE, "color_ids": [5], "minimum": 100,
         "before": 20, "after": 100, "binding": True, "reason": "raised_to_minimum",
         "added": [{**own, "added": 40}]},
        {"step": "minimum_cover", "flagged": False, "flag": None, "policy": "defer",
         "max_cover_days": 365, "cover_days": 70.0, "position": 40.0, "demand_rate": 2.0,
         "raw_total": 20, "quantity_with_minimums": 100, "action": "kept",
         "would_produce": [{**own, "quantity": 60}]},
        {"step": "output", "total": 100}]
    assert rows[2]["explanation"]["steps"][6]["added"] == [
        {"article_id": 2, "color_id": 5, "size_id": 2, "added": 40}]


def test_no_rows_no_text() -> None:
    proposals = plan_catalogue("run-1", list(INPUT[0]), [])
    assert list(proposals.blocks) == [] and proposals.recommended.tolist() == []
