"""The generated business: deterministic, internally consistent and shaped like the real one
(bundles, barcodes, seasonality, fast and intermittent sellers, cancellations, returns,
stock-outs, MoySklad assortment with deliberate gaps, accounts with JWT-shaped tokens)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.model import WB_NO_DATE, parse_wb_time
from supplybrain_pipelines.sandbox.rand import ean13
from supplybrain_pipelines_tests.sandbox.conftest import AS_OF

WB_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
MS_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$")


def b64json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def all_orders(business):
    return [row for rows in business.wb_orders_by_account.values() for row in rows]


def test_same_arguments_same_business_and_other_seed_differs(business):
    again = generate_business(seed=7, as_of=AS_OF)
    assert again == business
    assert json.dumps(again.wb_orders_by_account) == json.dumps(business.wb_orders_by_account)
    assert again.accounts[0].token == business.accounts[0].token
    other = generate_business(seed=8, as_of=AS_OF)
    assert other.wb_orders_by_account != business.wb_orders_by_account
    assert [a.colors for a in other.articles] != [a.colors for a in business.articles]
    assert {b.barcode for b in other.wb_barcodes} != {b.barcode for b in business.wb_barcodes}


FINGERPRINT = """
import dataclasses, hashlib
from datetime import date
from supplybrain_pipelines.sandbox.generator import generate_business
b = generate_business(seed=11, as_of=date(2026, 3, 1), days=40, articles=5)
data = repr(dataclasses.asdict(b))
print(hashlib.sha256(data.encode()).hexdigest())
"""


def test_same_business_in_other_processes_whatever_the_hash_seed():
    """Nothing depends on Python's per-process string hashing (set order, hash())."""
    runs = [subprocess.Popen([sys.executable, "-c", FINGERPRINT], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONHASHSEED": seed})
            for seed in ("1", "2")]
    digests = {run.communicate(timeout=60)[0].strip() for run in runs}
    local = generate_business(seed=11, as_of=date(2026, 3, 1), days=40, articles=5)
    data = repr(dataclasses.asdict(local))
    assert digests == {hashlib.sha256(data.encode()).hexdigest()}


def test_master_data_depends_on_seed_only_and_as_of_defaults_to_today():
    small = generate_business(seed=3, as_of=date(2026, 1, 10), days=14, articles=3)
    later = generate_business(seed=3, as_of=date(2026, 2, 10), days=14, articles=3)
    assert later.articles == small.articles and later.wb_barcodes == small.wb_barcodes
    assert later.wb_orders_by_account != small.wb_orders_by_account
    today = generate_business(seed=3, days=2, articles=1)
    assert today.as_of == datetime.now(UTC).date()


def test_articles_colours_sizes_and_sku_units(business):
    assert len(business.articles) == 12
    assert re.fullmatch(r"MC-\d{4}", business.articles[0].code)
    pantones = Counter(c.pantone_code for c in business.colors)
    assert any(n > 1 for n in pantones.values()), "several colours share a Pantone"
    assert len({c.inner_code for c in business.colors}) == len(business.colors)
    orders = {s.label: s.sort_order for s in business.sizes}
    assert orders["XS"] < orders["M"] < orders["XXL"] and orders["42"] < orders["54"]
    expected = {(a.code, c, s) for a in business.articles for c in a.colors for s in a.sizes}
    assert {(u.article, u.color, u.size) for u in business.sku_units} == expected
    assert len(business.sku_units) == len(expected)
    assert {a.profile for a in business.articles} == {"fast", "regular", "intermittent"}
    assert {a.wb_account for a in business.articles} == {a.name for a in business.wb_accounts}


def test_bundle_recipes_have_n_distinct_colours_of_the_article(business):
    assert sorted(bt.pieces for bt in business.bundle_types) == [4, 5, 6]
    recipes = defaultdict(list)
    for r in business.bundle_recipes:
        recipes[(r.article, r.bundle_type)].append(r)
    pieces = {bt.code: bt.pieces for bt in business.bundle_types}
    assert {bt for _, bt in recipes} == set(pieces)
    for (article, bundle_type), rows in recipes.items():
        colours = [r.color for r in rows]
        assert len(set(colours)) == len(colours) == pieces[bundle_type]
        assert sorted(r.position for r in rows) == list(range(1, pieces[bundle_type] + 1))
        assert set(colours) <= set(business.article(article).colors)


def test_wb_barcodes_unique_ean13_and_cover_bundles_and_singles(business):
    codes = [b.barcode for b in business.wb_barcodes]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"\d{13}", c) and ean13(c[:12]) == c for c in codes)
    bundles = [b for b in business.wb_barcodes if b.bundle_type]
    singles = [b for b in business.wb_barcodes if b.color]
    assert all(b.color is None for b in bundles) and all(b.bundle_type is None for b in singles)
    assert len(bundles) + len(singles) == len(codes)
    assert Counter((b.article, b.color, b.size) for b in singles) == Counter(
        (u.article, u.color, u.size) for u in business.sku_units)
    recipe_keys = {(r.article, r.bundle_type) for r in business.bundle_recipes}
    expected = {(a, bt, s) for a, bt in recipe_keys for s in business.article(a).sizes}
    assert Counter((b.article, b.bundle_type, b.size) for b in bundles) == Counter(expected)


def test_warehouses_accounts_and_tokens(business):
    internal = [w for w in business.warehouses if w.type == "internal"]
    assert [w.code for w in internal] == ["NSK"]
    assert 4 <= len([w for w in business.warehouses if w.type == "wb"]) <= 5
    assert len(business.wb_accounts) == 2 and len(business.moysklad_accounts) == 1
    midnight = datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC)
    days_left = []
    for account in business.wb_accounts:
        header, payload, signature = account.token.split(".")
        assert b64json(header)["typ"] == "JWT" and len(signature) > 40
        claims = b64json(payload)
        assert claims["exp"] == int(account.token_expires_at.timestamp())
        days_left.append((account.token_expires_at - midnight).days)
        assert account.token not in repr(account), "tokens stay out of repr"
    assert sorted(days_left) == [10, 150]


def test_orders_times_cancellations_and_account_split(business):
    barcode_account = {b.barcode: b.account for b in business.wb_barcodes}
    for account, rows in business.wb_orders_by_account.items():
        assert rows == sorted(rows, key=lambda r: (r["lastChangeDate"], r["srid"]))
        assert {barcode_account[r["barcode"]] for r in rows} == {account}
        share = sum(r["isCancel"] for r in rows) / len(rows)
        assert 0.05 <= share <= 0.10, (account, share)
    orders = all_orders(business)
    assert len({r["srid"] for r in orders}) == len(orders)
    now = business.now_msk
    first = (now - timedelta(days=business.days)).date()
    for r in orders:
        assert WB_TIME.match(r["date"]) and WB_TIME.match(r["lastChangeDate"])
        placed, changed = parse_wb_time(r["date"]), parse_wb_time(r["lastChangeDate"])
        assert first <= placed.date() < AS_OF and placed < changed <= now
        if r["isCancel"]:
            assert WB_TIME.match(r["cancelDate"]) and r["cancelDate"] > r["date"]
        else:
            assert r["cancelDate"] == WB_NO_DATE
        assert r["priceWithDisc"] <= r["totalPrice"] and r["finishedPrice"] <= r["priceWithDisc"]


def test_weekly_seasonality_fast_and_intermittent_sellers(business):
    orders = all_orders(business)
    by_weekday = Counter(parse_wb_time(r["date"]).weekday() for r in orders)
    assert (by_weekday[5] + by_weekday[6]) / 2 > (by_weekday[0] + by_weekday[1]) / 2 * 1.15
    per_barcode = Counter(r["barcode"] for r in orders)
    days_with = defaultdict(set)
    for r in orders:
        days_with[r["barcode"]].add(r["date"][:10])
    assert max(per_barcode.values()) / business.days >= 1.0, "a fast seller"
    intermittent = [b for b, n in per_barcode.items()
                    if n > 0 and len(days_with[b]) <= 0.2 * business.days]
    assert len(intermittent) >= 20, "most days zero for many barcodes"


def test_stockouts_have_no_orders_and_current_ones_no_stock(business):
    assert business.stockout_spans
    dates = defaultdict(set)
    for r in all_orders(business):
        dates[r["barcode"]].add(date.fromisoformat(r["date"][:10]))
    stock = defaultdict(int)
    for rows in business.wb_stocks_by_account.values():
        for row in rows:
            stock[row["barcode"]] += row["quantity"]
            assert row["quantityFull"] == (row["quantity"] + row["inWayToClient"]
                                           + row["inWayFromClient"])
    last_day = AS_OF - timedelta(days=1)
    current = [b for b, spans in business.stockout_spans.items()
               if any(hi == last_day for _, hi in spans)]
    assert current
    for barcode, spans in business.stockout_spans.items():
        for lo, hi in spans:
            assert not any(lo <= d <= hi for d in dates[barcode])
    assert all(stock[b] == 0 for b in current)


def test_sales_follow_orders_and_returns_exist(business):
    for account, sales in business.wb_sales_by_account.items():
        orders = {r["srid"]: r for r in business.wb_orders_by_account[account]}
        assert len({s["saleID"] for s in sales}) == len(sales)
        kinds = Counter(s["saleID"][0] for s in sales)
        assert set(kinds) == {"S", "R"} and 0.03 < kinds["R"] / kinds["S"] < 0.15
        for s in sales:
            order = orders[s["srid"]]
            assert not order["isCancel"] and s["date"] > order["date"]
            assert s["barcode"] == order["barcode"]
            if s["saleID"].startswith("R"):
                assert s["forPay"] < 0 and s["priceWithDisc"] < 0


def test_moysklad_assortment_orders_and_stock(business):
    rows = business.ms_assortment
    products = [r for r in rows if r["meta"]["type"] == "product"]
    variants = [r for r in rows if r["meta"]["type"] == "variant"]
    assert len(products) == len(business.articles) + 1  # + the gift bag
    assert len(variants) == len(business.sku_units) + 1  # + the unknown colour
    singles = {(b.article, b.color, b.size): b.barcode for b in business.wb_barcodes if b.color}
    for key, variant_id in business.ms_variant_ids.items():
        variant = next(v for v in variants if v["id"] == variant_id)
        names = {c["name"]: c["value"] for c in variant["characteristics"]}
        assert (names["Цвет"], names["Размер"]) == key[1:]
        if variant_id in business.ms_variants_without_barcode:
            assert "barcodes" not in variant
        else:
            assert variant["barcodes"] == [{"ean13": singles[key]}]
    assert len(business.ms_variants_without_barcode) == 3
    assert len(business.ms_unmatched_ids) == 2
    known = {r["meta"]["href"] for r in rows}
    for order in business.ms_customer_orders:
        assert MS_TIME.match(order["moment"]) and order["updated"] >= order["moment"]
        positions = order["positions"]["rows"]
        assert order["positions"]["meta"]["size"] == len(positions) >= 1
        assert order["sum"] == sum(p["quantity"] * p["price"] for p in positions)
        for p in positions:
            assert p["assortment"]["meta"]["href"] in known
            assert isinstance(p["price"], int) and p["quantity"] > 0
    stock = business.ms_stock_by_store
    assert stock and all(x["stock"] > 0 and x["storeId"] == business.ms_store_id for x in stock)
    assert len(stock) < len(business.ms_stock_lines)


def test_purchase_orders_and_planning_settings(business):
    open_pos = business.open_purchase_orders
    assert len(open_pos) >= 2
    assert all(po.status in ("approved", "ordered") and po.target_date > AS_OF
               for po in open_pos)
    assert any(not po.is_open for po in business.purchase_orders)
    units = {(u.article, u.color, u.size) for u in business.sku_units}
    for po in business.purchase_orders:
        assert po.items and all((i.article, i.color, i.size) in units for i in po.items)
    refs = [po.external_ref for po in business.purchase_orders]
    assert len(set(refs)) == len(refs)
    settings = business.planning_settings
    assert [s.article for s in settings] == [a.code for a in business.articles]
    assert all((s.alert_threshold_days, s.safety_stock_days, s.strictness) == (14, 7, 1.0)
               for s in settings)
    assert any(not s.is_active for s in settings)
    g = business.global_planning_settings
    assert (g.default_target_coverage_days, g.default_lead_time_days,
            g.default_service_level_percent, g.default_fabric_min_batch_qty,
            g.default_elastic_min_batch_qty) == (60, 70, 90, 7000, 3000)
