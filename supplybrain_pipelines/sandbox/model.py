"""The generated business as frozen dataclasses, and the time formats of the two APIs.

Pure Python: no dagster, no SQLAlchemy. Master-data records name each other by natural keys
(article code, colour inner code, size label, bundle type code), never by database ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

#: Moscow time: UTC+3 all year since 2014. WB and MoySklad send naive times in this zone.
MSK = timezone(timedelta(hours=3), "MSK")
#: WB statistics times: naive Moscow time to the second.
WB_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
#: WB's "no date" value (e.g. ``cancelDate`` of an order that was not cancelled).
WB_NO_DATE = "0001-01-01T00:00:00"
#: Entity hrefs are generated against the public host; the server rewrites them to its own URL.
MS_PUBLIC_BASE = "https://api.moysklad.ru/api/remap/1.2"
#: Where the MoySklad API lives below a server root.
MS_PREFIX = "/api/remap/1.2"


def wb_time(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` (naive Moscow time)."""
    return moment.isoformat(timespec="seconds")


def ms_time(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.mmm`` (naive Moscow time)."""
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d}"


def parse_wb_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def parse_ms_time(text: str) -> datetime:
    """MoySklad time with or without milliseconds."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(text, fmt)


@dataclass(frozen=True)
class Color:
    inner_code: str
    pantone_code: str
    description: str


@dataclass(frozen=True)
class Size:
    label: str
    sort_order: int


@dataclass(frozen=True)
class Article:
    code: str
    name: str
    colors: tuple[str, ...]  # inner codes, in recipe-preference order
    sizes: tuple[str, ...]  # labels, smallest first
    wb_account: str  # name of the WB account that sells it
    profile: str  # "fast" | "regular" | "intermittent"
    price_rub: int  # price of a single piece on WB before discounts
    subject: str


@dataclass(frozen=True)
class SkuUnit:
    article: str
    color: str
    size: str


@dataclass(frozen=True)
class BundleType:
    code: str
    name: str
    pieces: int
    is_assorti: bool = False


@dataclass(frozen=True)
class BundleRecipe:
    article: str
    bundle_type: str
    color: str
    position: int  # 1..N


@dataclass(frozen=True)
class WbBarcode:
    """One WB barcode: a bundle (``bundle_type`` set, ``color`` None) or a single piece
    (``color`` set, ``bundle_type`` None) of an article in one size."""

    barcode: str
    article: str
    size: str
    bundle_type: str | None
    color: str | None
    nm_id: int
    supplier_article: str
    account: str
    price_rub: int


@dataclass(frozen=True)
class Warehouse:
    code: str
    name: str
    type: str  # "internal" (own store, NSK) or "wb"


@dataclass(frozen=True)
class PlanningSetting:
    article: str
    is_active: bool
    min_fabric_batch: int
    min_elastic_batch: int
    alert_threshold_days: int = 14
    safety_stock_days: int = 7
    strictness: float = 1.0
    notes: str | None = None


@dataclass(frozen=True)
class GlobalPlanningSettings:
    """The old backend's defaults (seed_backend_domain §1.4)."""

    default_target_coverage_days: int = 60
    default_lead_time_days: int = 70
    default_service_level_percent: int = 90
    default_fabric_min_batch_qty: int = 7000
    default_elastic_min_batch_qty: int = 3000


@dataclass(frozen=True)
class PurchaseOrderItem:
    article: str
    color: str
    size: str
    quantity: int


@dataclass(frozen=True)
class PurchaseOrder:
    external_ref: str
    status: str  # approved | ordered are in flight; received is closed
    target_date: date
    comment: str
    items: tuple[PurchaseOrderItem, ...]

    @property
    def is_open(self) -> bool:
        return self.status in ("approved", "ordered")


@dataclass(frozen=True)
class Account:
    kind: str  # "wb" | "moysklad"
    name: str
    token: str = field(repr=False)
    external_id: str  # WB supplier id / MoySklad account id
    token_expires_at: datetime | None = None  # from the WB JWT ``exp`` claim (UTC)


@dataclass(frozen=True)
class Business:
    """Everything the sandbox serves and the seed writes, for one (seed, as_of, days, articles).

    WB rows are the dicts the server returns, in serving order (``lastChangeDate``, key).
    MoySklad rows carry hrefs on :data:`MS_PUBLIC_BASE`; the server swaps in its own URL.
    ``ms_customer_orders`` hold their positions as a MetaArray with ``rows`` whose
    ``assortment`` is a meta only (the ``expand=positions`` shape).
    """

    seed: int
    as_of: date
    days: int
    #: The business's "now": as_of 00:00 Moscow time; no row changes later than this.
    now_msk: datetime
    colors: tuple[Color, ...]
    sizes: tuple[Size, ...]
    articles: tuple[Article, ...]
    sku_units: tuple[SkuUnit, ...]
    bundle_types: tuple[BundleType, ...]
    bundle_recipes: tuple[BundleRecipe, ...]
    wb_barcodes: tuple[WbBarcode, ...]
    warehouses: tuple[Warehouse, ...]
    planning_settings: tuple[PlanningSetting, ...]
    global_planning_settings: GlobalPlanningSettings
    purchase_orders: tuple[PurchaseOrder, ...]
    wb_accounts: tuple[Account, ...]
    moysklad_accounts: tuple[Account, ...]
    wb_orders_by_account: dict[str, list[dict[str, Any]]]
    wb_sales_by_account: dict[str, list[dict[str, Any]]]
    wb_stocks_by_account: dict[str, list[dict[str, Any]]]
    #: barcode -> ((first day, last day), ...) with zero stock and no orders.
    stockout_spans: dict[str, tuple[tuple[date, date], ...]]
    ms_store_id: str
    ms_assortment: list[dict[str, Any]]
    ms_customer_orders: list[dict[str, Any]]
    #: Stock of every assortment item in the own store, zeros included.
    ms_stock_lines: list[dict[str, Any]]
    #: (article, colour, size) -> MoySklad variant id.
    ms_variant_ids: dict[tuple[str, str, str], str]
    #: Variants that carry no barcode but match a SKU unit by article + characteristics.
    ms_variants_without_barcode: tuple[str, ...]
    #: Assortment items that match no SKU unit at all.
    ms_unmatched_ids: tuple[str, ...]

    @property
    def accounts(self) -> tuple[Account, ...]:
        return self.wb_accounts + self.moysklad_accounts

    @property
    def ms_stock_by_store(self) -> list[dict[str, Any]]:
        """``/report/stock/bystore/current`` as served by default (non-zero lines only)."""
        return [line for line in self.ms_stock_lines if line["stock"] != 0]

    @property
    def open_purchase_orders(self) -> tuple[PurchaseOrder, ...]:
        return tuple(po for po in self.purchase_orders if po.is_open)

    def barcode(self, barcode: str) -> WbBarcode:
        return _index(self, "_barcode_index", lambda: {b.barcode: b for b in self.wb_barcodes})[
            barcode
        ]

    def article(self, code: str) -> Article:
        return _index(self, "_article_index", lambda: {a.code: a for a in self.articles})[code]

    def recipe(self, article: str, bundle_type: str) -> tuple[str, ...]:
        """The recipe colours of a bundle type of an article, by position."""
        rows = [r for r in self.bundle_recipes
                if r.article == article and r.bundle_type == bundle_type]
        return tuple(r.color for r in sorted(rows, key=lambda r: r.position))


def _index(business: Business, name: str, build) -> dict:
    cached = business.__dict__.get(name)
    if cached is None:
        cached = build()
        object.__setattr__(business, name, cached)
    return cached
