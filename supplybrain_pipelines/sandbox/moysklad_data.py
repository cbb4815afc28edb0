"""MoySklad side of the generated business: assortment, own-channel customer orders, own stock.

The assortment has one product per article and one variant per SKU unit (characteristics
"Цвет" = colour inner code, "Размер" = size label; barcode = the WB single-piece barcode of that
SKU unit). Three variants carry no barcode (they match by article + characteristics only) and two
items match nothing: a gift bag product and a limited-edition colour that is not in the master
data. Hrefs use :data:`MS_PUBLIC_BASE`; money is in kopecks; times are naive Moscow time.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from supplybrain_pipelines.sandbox.model import (
    MS_PUBLIC_BASE,
    Article,
    WbBarcode,
    ms_time,
)
from supplybrain_pipelines.sandbox.rand import Streams, ean13, make_uuid, poisson

#: Own-channel (MoySklad) orders per day, before weekly variation.
ORDERS_PER_DAY = 2.5
PROFILE_POPULARITY = {"fast": 6.0, "regular": 2.0, "intermittent": 0.3}
UNMATCHED_COLOR = "LTD99"
STORE_NAME = "Новосибирск (свой склад)"
#: MoySklad's standard customer-order states (name, stateType), as a new account has them.
STANDARD_STATES = (("Новый", "Regular"), ("Подтвержден", "Regular"), ("Собран", "Regular"),
                   ("Отгружен", "Regular"), ("Доставлен", "Successful"),
                   ("Возврат", "Unsuccessful"), ("Отменен", "Unsuccessful"))
#: A generated order's state by its age in days: younger than the bound -> that state.
_STATE_BY_AGE = ((1, "Новый"), (2, "Подтвержден"), (4, "Отгружен"))
_STATE_NAMESPACE = uuid.UUID("6f1d2c34-9a8b-4c1e-8f00-5b0a5e7d0001")


def state_id(account_id: str, name: str) -> str:
    """The id of a standard state of an account (stable: derived from both)."""
    return str(uuid.uuid5(_STATE_NAMESPACE, f"{account_id}|{name}"))


def state_ref(account_id: str, name: str) -> dict[str, Any]:
    """An order's ``state``: the meta of ``/entity/customerorder/metadata/states/<id>``."""
    return {"meta": {**meta("state", state_id(account_id, name),
                            "entity/customerorder/metadata/states"),
                     "metadataHref": f"{MS_PUBLIC_BASE}/entity/customerorder/metadata"}}


def customer_order_states(account_id: str) -> list[dict[str, Any]]:
    """The ``states`` of ``/entity/customerorder/metadata`` for an account."""
    return [{"meta": state_ref(account_id, name)["meta"], "id": state_id(account_id, name),
             "accountId": account_id, "name": name, "color": 15106326, "stateType": kind,
             "entityType": "customerorder"} for name, kind in STANDARD_STATES]


def state_for_age(age: timedelta) -> str:
    """Generated orders move on with age; none is cancelled (a test cancels one itself)."""
    for days, name in _STATE_BY_AGE:
        if age < timedelta(days=days):
            return name
    return "Доставлен"


def meta(kind: str, entity_id: str, path: str | None = None) -> dict[str, Any]:
    """An entity meta (``href`` to the entity, its type)."""
    path = path or f"entity/{kind}"
    return {
        "href": f"{MS_PUBLIC_BASE}/{path}/{entity_id}",
        "metadataHref": f"{MS_PUBLIC_BASE}/{path}/metadata",
        "type": kind, "mediaType": "application/json",
    }


def characteristic(name: str, value: str, char_id: str) -> dict[str, Any]:
    return {
        "id": char_id, "name": name, "value": value,
        "meta": {"href": f"{MS_PUBLIC_BASE}/entity/variant/metadata/characteristics/{char_id}",
                 "type": "attributemetadata", "mediaType": "application/json"},
    }


@dataclass(frozen=True)
class MoySkladData:
    store_id: str
    assortment: list[dict[str, Any]]
    customer_orders: list[dict[str, Any]]
    stock_lines: list[dict[str, Any]]
    variant_ids: dict[tuple[str, str, str], str]
    without_barcode: tuple[str, ...]
    unmatched_ids: tuple[str, ...]


class _Builder:
    def __init__(self, rng: random.Random, account_id: str, updated: datetime) -> None:
        self.rng, self.account_id, self.updated = rng, account_id, updated
        self.color_char, self.size_char = make_uuid(rng), make_uuid(rng)

    def _common(self, kind: str, entity_id: str) -> dict[str, Any]:
        stamp = self.updated - timedelta(days=self.rng.randint(1, 300),
                                         seconds=self.rng.randint(0, 86399))
        return {"meta": meta(kind, entity_id), "id": entity_id, "accountId": self.account_id,
                "updated": ms_time(stamp), "externalCode": self.rng.randbytes(8).hex(),
                "archived": False, "pathName": "Одежда"}

    def product(self, article_code: str, name: str, price_rub: int, variants: int,
                barcode: str | None = None) -> dict[str, Any]:
        row = self._common("product", make_uuid(self.rng))
        price = {"value": price_rub * 100, "priceType": {"name": "Цена продажи"}}
        row.update({"name": name, "code": article_code, "article": article_code,
                    "salePrices": [price], "variantsCount": variants})
        if barcode:
            row["barcodes"] = [{"ean13": barcode}]
        return row

    def variant(self, product: dict[str, Any], color: str, size: str,
                barcode: str | None) -> dict[str, Any]:
        row = self._common("variant", make_uuid(self.rng))
        row.update({
            "name": f"{product['name']} ({color}, {size})",
            "code": f"{product['article']}-{color}-{size}",
            "characteristics": [characteristic("Цвет", color, self.color_char),
                                characteristic("Размер", size, self.size_char)],
            "salePrices": product["salePrices"],
            "product": {"meta": product["meta"]},
        })
        if barcode:
            row["barcodes"] = [{"ean13": barcode}]
        return row


def _assortment(b: _Builder, articles: tuple[Article, ...], barcodes: tuple[WbBarcode, ...]):
    singles = {(x.article, x.color, x.size): x.barcode for x in barcodes if x.color}
    keys = sorted(singles)
    no_barcode = set(b.rng.sample(keys, 3))
    rows: list[dict[str, Any]] = []
    variant_ids: dict[tuple[str, str, str], str] = {}
    without: list[str] = []
    unmatched: list[str] = []
    for a in articles:
        product = b.product(a.code, a.name, a.price_rub,
                            len(a.colors) * len(a.sizes) + (1 if a is articles[0] else 0))
        rows.append(product)
        for color in a.colors:
            for size in a.sizes:
                key = (a.code, color, size)
                row = b.variant(product, color, size, None if key in no_barcode else singles[key])
                rows.append(row)
                variant_ids[key] = row["id"]
                if key in no_barcode:
                    without.append(row["id"])
        if a is articles[0]:  # a limited colour that the master data does not know
            extra = b.variant(product, UNMATCHED_COLOR, a.sizes[0], ean13("460000000017"))
            rows.append(extra)
            unmatched.append(extra["id"])
    gift = b.product("PKG-GIFT", "Подарочный пакет Maconly", 60, 0, ean13("460000000002"))
    rows.insert(len(rows) // 2, gift)
    unmatched.append(gift["id"])
    return rows, variant_ids, tuple(without), tuple(unmatched)


def _orders(rng: random.Random, b: _Builder, assortment: list[dict[str, Any]],
            articles: tuple[Article, ...], store_id: str, now_msk: datetime,
            days: int) -> list[dict[str, Any]]:
    sellable = [r for r in assortment if r["meta"]["type"] == "variant"
                or r.get("variantsCount") == 0]
    profile = {a.code: a.profile for a in articles}

    def weight(row: dict[str, Any]) -> float:
        code = row["code"].rsplit("-", 2)[0] if row["meta"]["type"] == "variant" else ""
        return PROFILE_POPULARITY.get(profile.get(code, ""), 0.5)

    weights = [weight(r) for r in sellable]
    agent_ids = [make_uuid(rng) for _ in range(40)]
    org_id = make_uuid(rng)
    orders = []
    first = now_msk - timedelta(days=days)
    for d in range(days):
        day = first + timedelta(days=d)
        for _ in range(poisson(rng, ORDERS_PER_DAY * (0.8 + 0.4 * (day.weekday() < 5)))):
            moment = day + timedelta(seconds=rng.randint(8 * 3600, 21 * 3600),
                                     milliseconds=rng.randint(0, 999))
            late = rng.random() < 0.1  # a status change long after the order
            updated = moment + timedelta(hours=rng.randint(24, 240) if late else 0,
                                         minutes=rng.randint(1, 180))
            updated = min(updated, now_msk - timedelta(milliseconds=rng.randint(1, 60_000)))
            order_id = make_uuid(rng)
            picked = {id(r): r for r in rng.choices(sellable, weights=weights, k=rng.randint(1, 4))}
            positions = []
            for item in picked.values():
                quantity, position_id = rng.randint(1, 6), make_uuid(rng)
                price = item["salePrices"][0]["value"] * rng.choice((80, 90, 100)) // 100
                positions.append({
                    "meta": meta("customerorderposition", position_id,
                                 f"entity/customerorder/{order_id}/positions"),
                    "id": position_id, "accountId": b.account_id, "quantity": quantity,
                    "price": price, "discount": 0, "vat": 0, "vatEnabled": False,
                    "assortment": {"meta": item["meta"]}, "shipped": quantity, "reserve": 0,
                })
            total = sum(p["quantity"] * p["price"] for p in positions)
            orders.append({
                "meta": meta("customerorder", order_id), "id": order_id,
                "accountId": b.account_id, "updated": ms_time(updated),
                "name": f"{len(orders) + 1:05d}", "externalCode": rng.randbytes(8).hex(),
                "moment": ms_time(moment), "created": ms_time(moment), "applicable": True,
                "vatEnabled": False, "sum": total, "payedSum": total, "shippedSum": total,
                "reservedSum": 0, "store": {"meta": meta("store", store_id)},
                "state": state_ref(b.account_id, state_for_age(now_msk - moment)),
                "agent": {"meta": meta("counterparty", rng.choice(agent_ids))},
                "organization": {"meta": meta("organization", org_id)},
                "positions": {"meta": {
                    "href": f"{MS_PUBLIC_BASE}/entity/customerorder/{order_id}/positions",
                    "type": "customerorderposition", "mediaType": "application/json",
                    "size": len(positions), "limit": 1000, "offset": 0,
                }, "rows": positions},
            })
    orders.sort(key=lambda o: (o["updated"], o["id"]))
    return orders


def build(streams: Streams, articles: tuple[Article, ...], barcodes: tuple[WbBarcode, ...],
          now_msk: datetime, days: int, account_id: str) -> MoySkladData:
    master = _Builder(streams.master("ms_assortment"), account_id, now_msk)
    assortment, variant_ids, without, unmatched = _assortment(master, articles, barcodes)
    rng = streams.timed("ms_history")
    store_id = make_uuid(streams.master("ms_store"))
    orders = _orders(rng, master, assortment, articles, store_id, now_msk, days)
    stock_lines = [
        {"assortmentId": r["id"], "storeId": store_id,
         "stock": 0 if rng.random() < 0.12 else rng.randint(1, 150)}
        for r in assortment if r["meta"]["type"] == "variant" or r.get("variantsCount") == 0
    ]
    return MoySkladData(store_id, assortment, orders, stock_lines, variant_ids, without, unmatched)
