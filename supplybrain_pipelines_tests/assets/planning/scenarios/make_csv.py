"""Writes the CSV inputs of the planning scenarios (``python make_csv.py``); the CSVs are
committed, this only documents how they were made. It computes no expected value: those are
written by hand in ``test_scenarios.py``.

Three directories, each one database: ``main`` (global settings L 70, T 60, 90 %, fabric and
elastic minimums 0), ``global`` (global settings L 40, T 30, 95 %, fabric 0, elastic 500) and
``defaults`` (no global settings row: built-in defaults, fabric 7000, elastic 3000). Window:
2026-11-01 … 2026-11-30 (as-of 2026-11-30); every order is at 12:00 Moscow time.
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLORS = [("BLK", "19-4005 TCX"), ("NVY", "19-3933 TCX"), ("RED", "18-1663 TCX")]
SIZES = [("M", 1), ("L", 2)]


def daily(pattern) -> dict[int, int]:
    """Units per day of November from ``pattern(day)``."""
    return {day: pattern(day) for day in range(1, 31) if pattern(day)}


def odd_even(odd: int, even: int, days=range(1, 31)) -> dict[int, int]:
    return {day: odd if day % 2 else even for day in days}


# article -> {"skus": {(colour, size): {"nov": {day: units}, "own": qty, "before": {date: units},
#            "cancel": {day: units}}}, plus optional settings}
MAIN = {
    "STEADY": {"skus": {("BLK", "M"): {"nov": daily(lambda d: 2), "own": 100}}},
    "ALT": {"skus": {("BLK", "M"): {"nov": odd_even(1, 3), "own": 20}}},
    "INTER": {"skus": {("BLK", "M"): {"nov": {1: 5, 5: 5}, "own": 3}}},
    "NEW": {"skus": {("BLK", "M"): {"nov": odd_even(1, 3, range(21, 31)), "own": 5}}},
    "OOS": {"skus": {("BLK", "M"): {
        "nov": {**odd_even(2, 4, range(1, 11)), **odd_even(2, 4, range(21, 31))}, "own": 30,
        "history": {f"2026-11-{d:02d}": 0 for d in range(10, 21)}}}},
    "NOHIST": {"skus": {("BLK", "M"): {"nov": daily(lambda d: 3 if d % 5 else 0), "own": 50,
                                       "before": {"2026-10-20": 1}}}},
    "FRESH": {"skus": {("BLK", "M"): {"nov": daily(lambda d: 2), "own": 40,
                                      "before": {"2026-10-10": 1},
                                      "history": {"2026-11-30": 40}}}},
    "BND": {"skus": {("BLK", "M"): {"nov": {d: 1 for d in range(2, 31, 2)}, "own": 20},
                     ("NVY", "M"): {"nov": {}, "own": 20}},
            "bundle": {"P2": (("BLK", "NVY"), "M", daily(lambda d: 1))}},
    "RET": {"skus": {("BLK", "M"): {"nov": daily(lambda d: 3), "own": 10,
                                    "cancel": {d: 1 for d in range(1, 31, 2)}}}},
    # (RET's WB stock with returns on their way back has no import file: the test writes it.)
    "PO": {"skus": {("BLK", "M"): {"nov": odd_even(2, 4), "own": 20}},
           "pos": [("PO-IN", "ordered", "2026-12-20", 50), ("PO-EDGE", "ordered", "2027-02-08", 7),
                   ("PO-OUT", "approved", "2027-02-09", 500),
                   ("PO-DRAFT", "draft", "2026-12-10", 1000)]},
    "FAB": {"skus": {("RED", "M"): {"nov": daily(lambda d: 1), "own": 50},
                     ("RED", "L"): {"nov": daily(lambda d: 2), "own": 200}},
            "color_fabric": {"RED": 100}},
    "PACK": {"skus": {("BLK", "M"): {"nov": daily(lambda d: 2), "own": 10}},
             "article_settings": {"pack_multiple": 12}},
    "ZERO": {"skus": {("BLK", "M"): {"nov": {}, "own": 30}}},
    "SETA": {"skus": {("BLK", "M"): {"nov": odd_even(2, 4), "own": 10}},
             "article_settings": {"lead_time_days": 30, "target_coverage_days": 20,
                                  "service_level_percent": 95}},
}
GLOBAL = {
    "SETG": {"skus": {("BLK", "M"): {"nov": odd_even(8, 12), "own": 20}}},
    "ELA": {"skus": {("BLK", "M"): {"nov": daily(lambda d: 2), "own": 10},
                     ("NVY", "M"): {"nov": daily(lambda d: 1), "own": 5}}},
}
DEFAULTS = {
    "SETD": {"skus": {("BLK", "M"): {"nov": odd_even(2, 4), "own": 500}}},
    "SLOW": {"skus": {("BLK", "M"): {"nov": daily(lambda d: 1), "own": 20}}},
}
GROUPS = {
    "main": (MAIN, {"default_target_coverage_days": 60, "default_lead_time_days": 70,
                    "default_service_level_percent": 90, "default_fabric_min_batch_qty": 0,
                    "default_elastic_min_batch_qty": 0}),
    "global": (GLOBAL, {"default_target_coverage_days": 30, "default_lead_time_days": 40,
                        "default_service_level_percent": 95, "default_fabric_min_batch_qty": 0,
                        "default_elastic_min_batch_qty": 500}),
    "defaults": (DEFAULTS, None),
}


def write(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)


def at_noon(day: str) -> str:
    return f"{day}T12:00:00+03:00"


def group_files(directory: Path, articles: dict, settings: dict | None) -> None:
    directory.mkdir(exist_ok=True)
    skus = [(a, c, s) for a, spec in articles.items() for (c, s) in spec["skus"]]
    write(directory / "articles.csv", ["article_code"], [[a] for a in articles])
    write(directory / "colors.csv", ["color_code", "pantone_code"], [list(c) for c in COLORS])
    write(directory / "sizes.csv", ["size_label", "sort_order"], [list(s) for s in SIZES])
    write(directory / "warehouses.csv", ["warehouse_code", "name", "type"],
          [["NSK", "Novosibirsk", "internal"]])
    write(directory / "sku_units.csv", ["article_code", "color_code", "size_label"],
          [list(k) for k in skus])
    bundles = [(a, b, spec["bundle"][b]) for a, spec in articles.items()
               for b in spec.get("bundle", {})]
    if bundles:
        write(directory / "bundle_types.csv", ["bundle_type_code", "name"],
              [[b, b] for _, b, _ in bundles])
        write(directory / "bundle_recipes.csv",
              ["article_code", "bundle_type_code", "color_code", "position"],
              [[a, b, c, i] for a, b, (colors, _, _) in bundles
               for i, c in enumerate(colors, start=1)])
    barcodes = [[f"46000{n:05d}", a, "", c, s] for n, (a, c, s) in enumerate(skus, start=1)]
    barcodes += [[f"46900{n:05d}", a, b, "", size]
                 for n, (a, b, (_, size, _)) in enumerate(bundles, start=1)]
    write(directory / "wb_barcodes.csv",
          ["barcode", "article_code", "bundle_type_code", "color_code", "size_label"], barcodes)
    if settings is not None:
        write(directory / "global_planning_settings.csv", list(settings),
              [list(settings.values())])
    aps = {a: spec["article_settings"] for a, spec in articles.items()
           if "article_settings" in spec}
    if aps:
        cols = ["target_coverage_days", "lead_time_days", "service_level_percent",
                "pack_multiple"]
        write(directory / "article_planning_settings.csv", ["article_code", *cols],
              [[a, *(s.get(c, "") for c in cols)] for a, s in aps.items()])
    cps = [[a, c, m] for a, spec in articles.items()
           for c, m in spec.get("color_fabric", {}).items()]
    if cps:
        write(directory / "color_planning_settings.csv",
              ["article_code", "color_code", "fabric_min_batch_qty"], cps)
    write(directory / "stock.csv",
          ["article_code", "color_code", "size_label", "warehouse_code", "quantity"],
          [[a, c, s, "NSK", articles[a]["skus"][(c, s)]["own"]] for a, c, s in skus])
    history = [[day, a, c, s, v] for a, c, s in skus
               for day, v in articles[a]["skus"][(c, s)].get("history", {}).items()]
    if history:
        write(directory / "stock_history.csv",
              ["day", "article_code", "color_code", "size_label", "available"], history)
    pos = [(a, *p) for a, spec in articles.items() for p in spec.get("pos", [])]
    if pos:
        write(directory / "purchase_orders.csv", ["external_ref", "status", "target_date"],
              [[ref, status, eta] for _, ref, status, eta, _ in pos])
        write(directory / "purchase_order_items.csv",
              ["external_ref", "article_code", "color_code", "size_label", "quantity"],
              [[ref, a, *next(iter(articles[a]["skus"])), q] for a, ref, _, _, q in pos])
    orders = []

    def lines(a, c, b, s, day, units, cancelled=0):
        for i in range(units):
            gone = i < cancelled
            orders.append(["wb", 1, f"{a}-{c or b}-{s}-{day}-{i + 1}", at_noon(day), a, c, b, s,
                           1, "100.00", "true" if gone else "false",
                           f"{day}T13:00:00+03:00" if gone else ""])

    for a, c, s in skus:
        sku = articles[a]["skus"][(c, s)]
        for day, units in sku.get("before", {}).items():
            lines(a, c, "", s, day, units)
        for d, units in sku["nov"].items():
            lines(a, c, "", s, f"2026-11-{d:02d}", units, sku.get("cancel", {}).get(d, 0))
    for a, b, (_, s, per_day) in bundles:
        for d, units in per_day.items():
            lines(a, "", b, s, f"2026-11-{d:02d}", units)
    write(directory / "orders.csv",
          ["channel", "account_id", "order_id", "ordered_at", "article_code", "color_code",
           "bundle_type_code", "size_label", "quantity", "price", "is_cancelled",
           "cancelled_at"], orders)


if __name__ == "__main__":
    for name, (articles, settings) in GROUPS.items():
        group_files(HERE / name, articles, settings)
