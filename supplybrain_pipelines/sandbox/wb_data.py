"""WB statistics history of the generated business: orders, sales/returns and current stock.

Each barcode gets a daily order rate from its article's profile (fast, regular, intermittent),
its size and its pack or colour; days draw Poisson counts with weekly seasonality and a slight
trend, except inside stock-out spans (no stock, no orders). 7.5 % of orders are cancelled later
(the row is re-emitted: ``isCancel``, ``cancelDate`` and a later ``lastChangeDate``); 85 % of
the rest are bought out a few days later (``saleID`` "S…") and 8 % of those come back ("R…").
Rows are the dicts the API serves, sorted as ``flag=0`` serves them: by lastChangeDate, key.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from supplybrain_pipelines.sandbox.model import (
    WB_NO_DATE,
    Article,
    WbBarcode,
    parse_wb_time,
    wb_time,
)
from supplybrain_pipelines.sandbox.rand import Streams, fast_int, poisson

CANCEL_SHARE = 0.075
BUYOUT_SHARE = 0.85
RETURN_SHARE = 0.08
#: Monday..Sunday demand factors.
WEEKLY = (0.9, 0.86, 0.9, 0.97, 1.06, 1.22, 1.3)
#: Orders by hour of day (Moscow), relative.
HOURLY = (1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.8, 3.2, 3.4,
          3.5, 3.5, 3.4, 3.3, 3.4, 3.7, 4.2, 4.8, 5.2, 5.0, 3.8, 2.2)
#: Orders per day of a whole article, by profile.
PROFILE_RATE = {"fast": (25.0, 40.0), "regular": (5.0, 12.0), "intermittent": (0.6, 1.5)}
WAREHOUSE_WEIGHTS = (35, 25, 15, 13, 12)
REGIONS = (  # (federal district, region, weight)
    ("Центральный федеральный округ", "Москва", 30),
    ("Центральный федеральный округ", "Московская область", 18),
    ("Северо-Западный федеральный округ", "Санкт-Петербург", 12),
    ("Приволжский федеральный округ", "Республика Татарстан", 8),
    ("Южный федеральный округ", "Краснодарский край", 9),
    ("Уральский федеральный округ", "Свердловская область", 7),
    ("Сибирский федеральный округ", "Новосибирская область", 8),
    ("Приволжский федеральный округ", "Нижегородская область", 5),
)
HOURLY_CUM = tuple(itertools.accumulate(HOURLY))
WAREHOUSE_CUM = tuple(itertools.accumulate(WAREHOUSE_WEIGHTS))
REGION_CUM = tuple(itertools.accumulate(r[2] for r in REGIONS))
SIZE_WEIGHTS = (0.6, 1.0, 1.3, 1.2, 0.9, 0.6, 0.4)
PACK_WEIGHTS = {4: 0.45, 5: 0.3, 6: 0.25}
BRAND = "Maconly"
CATEGORY = "Одежда"


@dataclass(frozen=True)
class WbData:
    orders: dict[str, list[dict[str, Any]]]
    sales: dict[str, list[dict[str, Any]]]
    stocks: dict[str, list[dict[str, Any]]]
    stockout_spans: dict[str, tuple[tuple[date, date], ...]]
    rates: dict[str, float]


def _rates(rng: random.Random, articles: tuple[Article, ...],
           barcodes: tuple[WbBarcode, ...]) -> dict[str, float]:
    """Mean orders per day of each barcode."""
    rates: dict[str, float] = {}
    for a in articles:
        total = rng.uniform(*PROFILE_RATE[a.profile])
        colour_pop = {c: rng.uniform(0.3, 1.5) for c in a.colors}
        size_w = {s: SIZE_WEIGHTS[i] for i, s in enumerate(a.sizes)}
        mine = [b for b in barcodes if b.article == a.code]
        packs = sorted({b.bundle_type for b in mine if b.bundle_type})  # sorted: a set's
        pack_w = {p: PACK_WEIGHTS[int(p[-1])] for p in packs}  # order varies per process
        for b in mine:
            share_size = size_w[b.size] / sum(size_w.values())
            if b.bundle_type:
                rate = 0.75 * pack_w[b.bundle_type] / sum(pack_w.values())
            else:
                rate = 0.25 * colour_pop[b.color] / sum(colour_pop.values())
            rates[b.barcode] = total * rate * share_size
    return rates


def _stockouts(rng: random.Random, barcodes: tuple[WbBarcode, ...], rates: dict[str, float],
               first: date, days: int) -> dict[str, tuple[tuple[date, date], ...]]:
    """Past stock-outs for ~12 % of the selling barcodes, a current one for ~6 %."""
    spans: dict[str, tuple[tuple[date, date], ...]] = {}
    last = first + timedelta(days=days - 1)
    for b in barcodes:
        if rates[b.barcode] < 0.1 or days < 30:
            continue
        found = []
        if rng.random() < 0.12:
            start = first + timedelta(days=rng.randint(5, days - 25))
            found.append((start, start + timedelta(days=rng.randint(4, 19))))
        if rng.random() < 0.06:
            found.append((last - timedelta(days=rng.randint(3, 14)), last))
        if found:
            spans[b.barcode] = tuple(found)
    return spans


def _later(rng: random.Random, start: datetime, low_s: int, high_s: int, cap: datetime) -> datetime:
    """A moment ``low_s..high_s`` seconds after ``start``, never after ``cap`` and always after
    ``start`` (assumes ``start < cap``)."""
    moment = start + timedelta(seconds=fast_int(rng, low_s, high_s))
    if moment > cap:
        moment = start + timedelta(seconds=fast_int(rng, 1, int((cap - start).total_seconds())))
    return moment


class _Ids:
    """Unique srids, sale ids and cart numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.sale_seq = rng.randint(1_000_000_000, 4_000_000_000)

    def srid(self) -> str:
        return f"{fast_int(self.rng, 10, 99)}.r{self.rng.getrandbits(128):032x}.0.0"

    def g_number(self) -> str:
        return str(10**19 + self.rng.getrandbits(63))

    def sale_id(self, prefix: str) -> str:
        self.sale_seq += fast_int(self.rng, 1, 50)
        return f"{prefix}{self.sale_seq}"


def _card(b: WbBarcode, article: Article) -> dict[str, Any]:
    return {"supplierArticle": b.supplier_article, "nmId": b.nm_id, "barcode": b.barcode,
            "category": CATEGORY, "subject": article.subject, "brand": BRAND, "techSize": b.size}


def _order(rng: random.Random, ids: _Ids, b: WbBarcode, article: Article, moment: datetime,
           warehouses: tuple[str, ...], cap: datetime) -> dict[str, Any]:
    okrug, region, _ = rng.choices(REGIONS, cum_weights=REGION_CUM)[0]
    discount = rng.choice((20, 25, 30, 30, 35, 40))
    spp = rng.choice((0, 5, 10, 15, 20, 25))
    with_disc = round(b.price_rub * (1 - discount / 100), 2)
    cancelled = rng.random() < CANCEL_SHARE
    if cancelled:
        changed = _later(rng, moment, 20 * 60, 36 * 3600, cap)
        cancel_date = wb_time(changed)
    else:
        changed = _later(rng, moment, 5 * 60, 90 * 60, cap)
        cancel_date = WB_NO_DATE
    return {
        "date": wb_time(moment), "lastChangeDate": wb_time(changed),
        "warehouseName": rng.choices(warehouses, cum_weights=WAREHOUSE_CUM)[0],
        "warehouseType": "Склад WB", "countryName": "Россия", "oblastOkrugName": okrug,
        "regionName": region, **_card(b, article), "incomeID": fast_int(rng, 10**7, 10**8 - 1),
        "isSupply": False, "isRealization": True, "totalPrice": float(b.price_rub),
        "discountPercent": discount, "spp": spp,
        "finishedPrice": round(with_disc * (1 - spp / 100), 2), "priceWithDisc": with_disc,
        "isCancel": cancelled, "cancelDate": cancel_date, "orderType": "Клиентский",
        "sticker": "", "gNumber": ids.g_number(), "srid": ids.srid(),
    }


def _sale(rng: random.Random, ids: _Ids, order: dict[str, Any], moment: datetime,
          cap: datetime, is_return: bool) -> dict[str, Any]:
    sign = -1 if is_return else 1
    keep = ("warehouseName", "warehouseType", "countryName", "oblastOkrugName", "regionName",
            "supplierArticle", "nmId", "barcode", "category", "subject", "brand", "techSize",
            "incomeID", "isSupply", "isRealization", "discountPercent", "spp", "gNumber", "srid")
    row = {"date": wb_time(moment), "lastChangeDate": wb_time(_later(rng, moment, 600, 3600, cap))}
    row.update({k: order[k] for k in keep})
    row.update({
        "totalPrice": sign * order["totalPrice"], "paymentSaleAmount": 0,
        "forPay": sign * round(order["priceWithDisc"] * 0.76, 2),
        "finishedPrice": sign * order["finishedPrice"],
        "priceWithDisc": sign * order["priceWithDisc"],
        "saleID": ids.sale_id("R" if is_return else "S"),
        "orderType": "Возврат покупателя" if is_return else "Клиентский", "sticker": "",
        "IsStorno": 0,
    })
    return row


def _stocks(rng: random.Random, b: WbBarcode, article: Article, rate: float, out_now: bool,
            warehouses: tuple[str, ...], cap: datetime) -> list[dict[str, Any]]:
    chosen = sorted(rng.sample(range(len(warehouses)), rng.randint(2, 4)))
    rows = []
    for index in chosen:
        share = WAREHOUSE_WEIGHTS[index] / 100
        quantity = 0 if out_now else int(rate * share * rng.uniform(10, 70))
        to_client = 0 if out_now else poisson(rng, rate * share)
        from_client = poisson(rng, rate * share * 0.1)
        moment = cap - timedelta(seconds=rng.randint(60, 72 * 3600))
        rows.append({
            "lastChangeDate": wb_time(moment), "warehouseName": warehouses[index],
            **_card(b, article), "quantity": quantity, "inWayToClient": to_client,
            "inWayFromClient": from_client, "quantityFull": quantity + to_client + from_client,
            "isSupply": True, "isRealization": False, "Price": b.price_rub, "Discount": 30,
            "SCCode": "Tech",
        })
    return rows


def build(streams: Streams, articles: tuple[Article, ...], barcodes: tuple[WbBarcode, ...],
          now_msk: datetime, days: int, warehouses: tuple[str, ...],
          account_names: tuple[str, ...]) -> WbData:
    first = (now_msk - timedelta(days=days)).date()
    rates = _rates(streams.master("wb_rates"), articles, barcodes)
    spans = _stockouts(streams.timed("wb_stockouts"), barcodes, rates, first, days)
    by_code = {a.code: a for a in articles}
    rng = streams.timed("wb_orders")
    ids = _Ids(streams.timed("wb_ids"))
    orders: dict[str, list[dict[str, Any]]] = {name: [] for name in account_names}
    sales: dict[str, list[dict[str, Any]]] = {name: [] for name in account_names}
    stocks: dict[str, list[dict[str, Any]]] = {name: [] for name in account_names}
    hours = range(24)
    calendar = [(day, WEEKLY[day.weekday()] * (0.9 + 0.2 * d / days))
                for d in range(days) for day in [first + timedelta(days=d)]]
    for b in barcodes:
        article, out, rate = by_code[b.article], spans.get(b.barcode, ()), rates[b.barcode]
        for day, factor in calendar:
            if out and any(lo <= day <= hi for lo, hi in out):
                continue
            for _ in range(poisson(rng, rate * factor)):
                hour = rng.choices(hours, cum_weights=HOURLY_CUM)[0]
                moment = datetime(day.year, day.month, day.day, hour,
                                  fast_int(rng, 0, 59), fast_int(rng, 0, 59))
                orders[b.account].append(_order(rng, ids, b, article, moment, warehouses, now_msk))
        out_now = any(hi == first + timedelta(days=days - 1) for _, hi in out)
        stocks[b.account] += _stocks(rng, b, article, rates[b.barcode], out_now, warehouses,
                                     now_msk)
    for name in account_names:
        for order in orders[name]:
            if order["isCancel"] or rng.random() >= BUYOUT_SHARE:
                continue
            placed = parse_wb_time(order["date"])
            sold = placed + timedelta(days=fast_int(rng, 1, 6), seconds=fast_int(rng, 0, 86399))
            if sold >= now_msk:
                continue
            sales[name].append(_sale(rng, ids, order, sold, now_msk, is_return=False))
            back = sold + timedelta(days=fast_int(rng, 2, 10), seconds=fast_int(rng, 0, 86399))
            if rng.random() < RETURN_SHARE and back < now_msk:
                sales[name].append(_sale(rng, ids, order, back, now_msk, is_return=True))
        orders[name].sort(key=lambda r: (r["lastChangeDate"], r["srid"]))
        sales[name].sort(key=lambda r: (r["lastChangeDate"], r["saleID"]))
        stocks[name].sort(key=lambda r: (r["lastChangeDate"], r["warehouseName"], r["barcode"]))
    return WbData(orders, sales, stocks, spans, rates)
