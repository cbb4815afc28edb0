"""A seeded, deterministic generator of a believable apparel business (Maconly).

``generate_business(seed, as_of, days, articles)`` builds the master data (articles, colours with
Pantone codes, sizes, SKU units, 4/5/6-pack bundle types with recipes, WB barcodes, warehouses,
planning settings, purchase orders), the integration accounts with their tokens, and the data
the sandbox serves: WB orders, sales/returns and stock (``wb_data``) and the MoySklad
assortment, customer orders and own-store stock (``moysklad_data``).

Every random choice comes from a ``random.Random`` seeded with a string naming its stream, so
the same arguments give the same business on any machine and Python process. Master data
depends on (seed, articles) only; dates, orders and token expiry also on (as_of, days).
Pure Python: imports neither dagster nor SQLAlchemy.
"""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, date, datetime, time, timedelta

from supplybrain_pipelines.sandbox import moysklad_data, wb_data
from supplybrain_pipelines.sandbox.model import (
    Account,
    Article,
    BundleRecipe,
    BundleType,
    Business,
    Color,
    GlobalPlanningSettings,
    PlanningSetting,
    PurchaseOrder,
    PurchaseOrderItem,
    Size,
    SkuUnit,
    Warehouse,
    WbBarcode,
)
from supplybrain_pipelines.sandbox.rand import Streams, ean13, make_uuid

#: (inner code, Pantone, description). Some inner colours share a Pantone (one fabric dye).
PALETTE: tuple[Color, ...] = tuple(Color(*row) for row in (
    ("BLK01", "19-4006 TCX", "Чёрный"),
    ("BLK02", "19-4006 TCX", "Чёрный меланж"),
    ("WHT01", "11-0601 TCX", "Белый"),
    ("MLK01", "11-0601 TCX", "Молочный"),
    ("NVY01", "19-3923 TCX", "Тёмно-синий"),
    ("GRY01", "17-4402 TCX", "Серый"),
    ("GRY02", "17-4402 TCX", "Серый меланж"),
    ("GRF01", "19-3906 TCX", "Графит"),
    ("BRD01", "19-1725 TCX", "Бордовый"),
    ("KHK01", "18-0522 TCX", "Хаки"),
    ("OLV01", "18-0430 TCX", "Оливковый"),
    ("BEI01", "14-1112 TCX", "Бежевый"),
    ("BLU01", "18-4141 TCX", "Синий"),
    ("TRQ01", "16-5123 TCX", "Бирюзовый"),
))

LETTER_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
NUMERIC_SIZES = ("42", "44", "46", "48", "50", "52", "54")
SIZES: tuple[Size, ...] = tuple(
    [Size(label, i + 1) for i, label in enumerate(LETTER_SIZES)]
    + [Size(label, 10 + i) for i, label in enumerate(NUMERIC_SIZES)]
)

#: (name, WB subject, size system, base price of one piece in roubles)
ARTICLE_KINDS = (
    ("Трусы-боксеры хлопок", "Трусы", "letter", 450),
    ("Трусы-брифы стрейч", "Трусы", "letter", 390),
    ("Футболка базовая", "Футболки", "numeric", 790),
    ("Боксеры бамбук", "Трусы", "letter", 590),
    ("Майка рибана", "Майки", "numeric", 490),
    ("Трусы-хипсы", "Трусы", "letter", 420),
    ("Лонгслив хлопок", "Лонгсливы", "numeric", 990),
    ("Боксеры спорт", "Трусы", "letter", 520),
    ("Футболка оверсайз", "Футболки", "numeric", 890),
    ("Трусы-слипы", "Трусы", "letter", 360),
    ("Майка спортивная", "Майки", "numeric", 560),
    ("Боксеры микромодал", "Трусы", "letter", 640),
)

BUNDLE_TYPES: tuple[BundleType, ...] = tuple(
    BundleType(f"PACK{n}", f"Набор {n} шт.", n) for n in (4, 5, 6)
)

WB_WAREHOUSES = ("Коледино", "Подольск", "Электросталь", "Казань", "Краснодар")
WAREHOUSES: tuple[Warehouse, ...] = (
    Warehouse("NSK", "Новосибирск (свой склад)", "internal"),
    Warehouse("WB-KOLEDINO", "Коледино", "wb"),
    Warehouse("WB-PODOLSK", "Подольск", "wb"),
    Warehouse("WB-ELEKTROSTAL", "Электросталь", "wb"),
    Warehouse("WB-KAZAN", "Казань", "wb"),
    Warehouse("WB-KRASNODAR", "Краснодар", "wb"),
)

WB_ACCOUNT_NAMES = ("maconly-wb-main", "maconly-wb-outlet")
MS_ACCOUNT_NAME = "maconly-moysklad"
#: Days from as_of until each WB token's ``exp`` (one long-lived, one about to expire).
WB_TOKEN_DAYS = (150, 10)


def _articles(streams: Streams, count: int) -> tuple[Article, ...]:
    rng = streams.master("articles")
    n_fast, n_slow = max(1, count // 4), max(1, count // 3)
    profiles = ["fast"] * n_fast + ["intermittent"] * n_slow
    profiles += ["regular"] * (count - len(profiles))
    rng.shuffle(profiles)
    result = []
    for i in range(count):
        name, subject, system, price = ARTICLE_KINDS[i % len(ARTICLE_KINDS)]
        if i >= len(ARTICLE_KINDS):
            name = f"{name} {i // len(ARTICLE_KINDS) + 1}"
        n_colors = rng.choice((4, 5, 6, 6, 7, 8))
        colors = tuple(c.inner_code for c in rng.sample(PALETTE, n_colors))
        labels = LETTER_SIZES if system == "letter" else NUMERIC_SIZES
        first = rng.randint(0, 1)
        sizes = labels[first:first + rng.randint(4, len(labels) - first)]
        result.append(Article(
            code=f"MC-{1001 + i}", name=name, colors=colors, sizes=sizes,
            wb_account=WB_ACCOUNT_NAMES[i % 2], profile=profiles[i],
            price_rub=price + 10 * rng.randint(-5, 5), subject=subject,
        ))
    return tuple(result)


def _recipes(articles: tuple[Article, ...]) -> tuple[BundleRecipe, ...]:
    """An N-pack holds the first N of the article's colours (all distinct), positions 1..N."""
    return tuple(
        BundleRecipe(a.code, bt.code, color, position)
        for a in articles
        for bt in BUNDLE_TYPES if bt.pieces <= len(a.colors)
        for position, color in enumerate(a.colors[:bt.pieces], start=1)
    )


def _wb_barcodes(streams: Streams, articles: tuple[Article, ...]) -> tuple[WbBarcode, ...]:
    rng = streams.master("barcodes")
    seen: set[str] = set()
    nm_ids: set[int] = set()

    def new_barcode() -> str:
        while True:
            code = ean13("20" + "".join(rng.choice("0123456789") for _ in range(10)))
            if code not in seen:
                seen.add(code)
                return code

    def new_nm_id() -> int:
        while True:
            nm_id = rng.randint(100_000_000, 499_999_999)
            if nm_id not in nm_ids:
                nm_ids.add(nm_id)
                return nm_id

    result = []
    for a in articles:
        for bt in BUNDLE_TYPES:
            if bt.pieces > len(a.colors):
                continue
            nm_id = new_nm_id()  # one WB card per pack, sizes inside it
            price = int(round(a.price_rub * bt.pieces * 0.85, -1))
            result += [WbBarcode(new_barcode(), a.code, s, bt.code, None, nm_id,
                                 f"{a.code}/{bt.pieces}", a.wb_account, price) for s in a.sizes]
        for color in a.colors:
            nm_id = new_nm_id()  # one card per colour of single pieces
            result += [WbBarcode(new_barcode(), a.code, s, None, color, nm_id,
                                 f"{a.code}/{color}", a.wb_account, a.price_rub) for s in a.sizes]
    return tuple(result)


def _planning(streams: Streams, articles: tuple[Article, ...]) -> tuple[PlanningSetting, ...]:
    rng = streams.master("planning")
    # The last intermittent article is being phased out: not in the active portfolio.
    retired = [a.code for a in articles if a.profile == "intermittent"][-1:]
    return tuple(
        PlanningSetting(
            article=a.code, is_active=a.code not in retired,
            min_fabric_batch=500 * rng.randint(6, 14), min_elastic_batch=500 * rng.randint(2, 6),
            notes="снят с производства" if a.code in retired else None,
        )
        for a in articles
    )


def _purchase_orders(streams: Streams, articles: tuple[Article, ...], seed: int,
                     as_of: date) -> tuple[PurchaseOrder, ...]:
    rng = streams.timed("purchase_orders")
    order = sorted(articles, key=lambda a: ("fast", "regular", "intermittent").index(a.profile))
    plans = (  # (status, days until target date, articles)
        ("received", -20, order[-1:]),
        ("ordered", 12, order[:1]),
        ("ordered", 28, order[1:3]),
        ("approved", 55, order[3:5]),
    )
    result = []
    for i, (status, offset, chosen) in enumerate(plans, start=1):
        items = tuple(
            PurchaseOrderItem(a.code, color, size, 10 * rng.randint(5, 40))
            for a in chosen for color in a.colors for size in a.sizes
        )
        result.append(PurchaseOrder(
            external_ref=f"SB{seed}-PO-{i:03d}", status=status,
            target_date=as_of + timedelta(days=offset), items=items,
            comment=f"Фабрика, партия {i}: " + ", ".join(a.code for a in chosen),
        ))
    return tuple(result)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def wb_jwt(rng: random.Random, supplier_id: str, expires_at: datetime) -> str:
    """A WB-shaped API token: ``base64url(header).base64url(payload).signature``."""
    header = {"alg": "ES256", "kid": "20250601v1", "typ": "JWT"}
    payload = {
        "ent": 1, "exp": int(expires_at.timestamp()), "id": make_uuid(rng),
        "iid": rng.randint(10_000_000, 99_999_999), "oid": rng.randint(100_000, 9_999_999),
        "s": 1073741888, "sid": supplier_id, "t": False, "uid": rng.randint(10_000_000, 99_999_999),
    }
    parts = [json.dumps(p, separators=(",", ":")).encode() for p in (header, payload)]
    return ".".join([_b64url(parts[0]), _b64url(parts[1]), _b64url(rng.randbytes(64))])


def _accounts(streams: Streams, as_of: date) -> tuple[tuple[Account, ...], tuple[Account, ...]]:
    rng = streams.timed("accounts")
    midnight_utc = datetime.combine(as_of, time(), tzinfo=UTC)
    wb = []
    for name, days in zip(WB_ACCOUNT_NAMES, WB_TOKEN_DAYS, strict=True):
        supplier_id = make_uuid(rng)
        expires = midnight_utc + timedelta(days=days)
        wb.append(Account("wb", name, wb_jwt(rng, supplier_id, expires), supplier_id, expires))
    ms = Account("moysklad", MS_ACCOUNT_NAME, rng.randbytes(20).hex(), make_uuid(rng))
    return tuple(wb), (ms,)


def generate_business(seed: int = 7, as_of: date | None = None, days: int = 120,
                      articles: int = 12) -> Business:
    """The whole business, deterministic for (seed, as_of, days, articles).

    ``as_of`` defaults to today (UTC); the business's "now" is as_of 00:00 Moscow time and the
    order history covers the ``days`` days before it.
    """
    if as_of is None:
        as_of = datetime.now(UTC).date()
    if days < 1 or articles < 1:
        raise ValueError("days and articles must be at least 1")
    streams = Streams(seed, articles, as_of, days)
    arts = _articles(streams, articles)
    barcodes = _wb_barcodes(streams, arts)
    recipes = _recipes(arts)
    wb_accounts, ms_accounts = _accounts(streams, as_of)
    now_msk = datetime.combine(as_of, time())
    wb = wb_data.build(streams, arts, barcodes, now_msk, days, WB_WAREHOUSES, WB_ACCOUNT_NAMES)
    ms = moysklad_data.build(streams, arts, barcodes, now_msk, days, ms_accounts[0].external_id)
    return Business(
        seed=seed, as_of=as_of, days=days, now_msk=now_msk,
        colors=PALETTE, sizes=SIZES, articles=arts,
        sku_units=tuple(SkuUnit(a.code, c, s) for a in arts for c in a.colors for s in a.sizes),
        bundle_types=BUNDLE_TYPES, bundle_recipes=recipes, wb_barcodes=barcodes,
        warehouses=WAREHOUSES, planning_settings=_planning(streams, arts),
        global_planning_settings=GlobalPlanningSettings(),
        purchase_orders=_purchase_orders(streams, arts, seed, as_of),
        wb_accounts=wb_accounts, moysklad_accounts=ms_accounts,
        wb_orders_by_account=wb.orders, wb_sales_by_account=wb.sales,
        wb_stocks_by_account=wb.stocks, stockout_spans=wb.stockout_spans,
        ms_store_id=ms.store_id, ms_assortment=ms.assortment,
        ms_customer_orders=ms.customer_orders, ms_stock_lines=ms.stock_lines,
        ms_variant_ids=ms.variant_ids, ms_variants_without_barcode=ms.without_barcode,
        ms_unmatched_ids=ms.unmatched_ids,
    )


__all__ = ["Business", "generate_business"]
