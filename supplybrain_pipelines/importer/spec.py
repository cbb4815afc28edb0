"""What each import file holds: its columns and their types, its natural key, the table it fills,
and the natural keys it refers to. ``FILES`` is in load order (a file after those it refers to).

Files name rows by natural keys (article_code, color_code, size_label, bundle_type_code,
warehouse_code, purchase order external_ref), never by database ids, so they are portable
between databases. docs/csv_import.md describes every column; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from supplybrain_pipelines.db import tables as t

TEXT, INT, NUMBER, DECIMAL, BOOL, DATE, DATETIME, CHOICE = (
    "text", "int", "number", "decimal", "bool", "date", "datetime", "choice")

#: PostgreSQL ``integer``; the largest values ``numeric(14,3)`` and ``numeric(14,2)`` hold.
INT_MAX, QUANTITY_MAX, PRICE_MAX = 2_147_483_647, 99_999_999_999, 999_999_999_999
PO_STATUSES = ("draft", "approved", "ordered", "received", "cancelled")
CHANNELS = ("wb", "moysklad")


@dataclass(frozen=True)
class Column:
    """A CSV column. ``db`` is the table column it fills (None: used only to look up a
    reference). An empty cell takes ``default`` (None: NULL); a required column must be in the
    header and have a value in every row. ``lo``/``hi`` bound numbers (inclusive)."""

    name: str
    kind: str = TEXT
    required: bool = False
    db: str | None = None
    default: Any = None
    max_len: int | None = None
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    places: int | None = None


@dataclass(frozen=True)
class Ref:
    """A natural-key reference: the values of ``source`` columns are looked up in ``lookup``
    and the id found goes to table column ``db`` (None: the reference is only checked). A
    reference whose source values are not all given is skipped (it is optional)."""

    lookup: str
    source: tuple[str, ...]
    db: str | None = None


@dataclass(frozen=True)
class FileSpec:
    file: str
    table: sa.Table
    columns: tuple[Column, ...]
    keys: tuple[tuple[str, ...], ...]  # the natural key first, then other unique column sets
    refs: tuple[Ref, ...] = ()
    conflict: tuple[str, ...] = ()  # table columns of the upsert's ON CONFLICT
    write: str = "upsert"  # upsert | first_row | purchase_order | stock | orders
    replace_scope: tuple[str, ...] = ()  # rows in these scopes but not in the file are removed
    delete_changed: bool = False  # delete changed rows before inserting (secondary unique keys)
    max_rows: int | None = None
    check: Callable[[dict[str, Any]], str | None] | None = None
    lookups: tuple[str, ...] = ()  # lookups of a custom resolver, besides those of refs

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def needed_lookups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*(r.lookup for r in self.refs), *self.lookups]))

    @property
    def depends_on(self) -> tuple[str, ...]:
        """The files whose failure keeps this one from loading."""
        files = [f for name in self.needed_lookups for f in LOOKUP_FILES[name]]
        return tuple(f for f in dict.fromkeys(files) if f != self.file)


#: The files a lookup reads rows from (directly or through the rows it joins).
LOOKUP_FILES: dict[str, tuple[str, ...]] = {
    "article": ("articles.csv",),
    "color": ("colors.csv",),
    "size": ("sizes.csv",),
    "bundle_type": ("bundle_types.csv",),
    "warehouse": ("warehouses.csv",),
    "sku_unit": ("articles.csv", "colors.csv", "sizes.csv", "sku_units.csv"),
    "recipe": ("articles.csv", "bundle_types.csv", "colors.csv", "bundle_recipes.csv"),
    "purchase_order": ("purchase_orders.csv",),
    "barcode": ("wb_barcodes.csv", "sku_units.csv", "bundle_recipes.csv"),
    "barcode_by_item": ("wb_barcodes.csv",),
}

ARTICLE = Column("article_code", required=True, max_len=50)
COLOR = Column("color_code", required=True, max_len=50)
SIZE = Column("size_label", required=True, max_len=50)
BUNDLE = Column("bundle_type_code", required=True, max_len=50)
WAREHOUSE = Column("warehouse_code", required=True, max_len=50)
A, C, S, B = ("article_code",), ("color_code",), ("size_label",), ("bundle_type_code",)
SKU = ("article_code", "color_code", "size_label")


def _int(name: str, db: str | None = None, *, required: bool = False, default: Any = None,
         lo: float | None = 0, hi: float | None = None) -> Column:
    return Column(name, INT, required, db or name, default, lo=lo,
                  hi=INT_MAX if hi is None else hi)


def _barcode_check(row: dict[str, Any]) -> str | None:
    bundle, color = row.get("bundle_type_code"), row.get("color_code")
    if bundle and color:
        return ("give bundle_type_code (a bundle barcode) or color_code (a single piece), "
                "not both")
    if not bundle and not color:
        return "give bundle_type_code for a bundle barcode or color_code for a single piece"
    return None


ITEM_COLUMNS = ("article_code", "color_code", "size_label", "bundle_type_code")


def _order_check(row: dict[str, Any]) -> str | None:
    if row.get("barcode"):
        if row["channel"] == "moysklad":
            return ("barcode is for wb orders; name a moysklad item by article_code, "
                    "color_code and size_label")
        if any(map(row.get, ITEM_COLUMNS)):
            named = [c for c in ITEM_COLUMNS if row.get(c)]
            return (f"give either barcode or {', '.join(named)}, not both; the barcode "
                    "already names the item")
    else:
        missing = [c for c in ("article_code", "size_label") if not row.get(c)]
        if missing:
            return f"missing required value for {missing[0]} (needed when barcode is empty)"
        if row["channel"] == "moysklad" and row.get("bundle_type_code"):
            return "moysklad orders name a single piece; bundle_type_code is for wb orders"
        if row.get("bundle_type_code") and row.get("color_code"):
            return "give color_code (a single piece) or bundle_type_code (a bundle), not both"
        if not row.get("bundle_type_code") and not row.get("color_code"):
            return "give color_code for a single piece or bundle_type_code for a bundle"
    if row["quantity"] <= 0:
        return f"quantity {row['quantity']} must be greater than 0"
    cancelled_at = row.get("cancelled_at")
    if cancelled_at is not None and row.get("is_cancelled") is False:
        return "cancelled_at is set but is_cancelled is false"
    if cancelled_at is not None and cancelled_at < row["ordered_at"]:
        return "cancelled_at is before ordered_at"
    return None


FILES: tuple[FileSpec, ...] = (
    FileSpec("articles.csv", t.article,
             (Column("article_code", required=True, db="code", max_len=50),
              Column("name", db="name", max_len=255)),
             keys=(A,), conflict=("code",)),
    FileSpec("colors.csv", t.color,
             (Column("color_code", required=True, db="inner_code", max_len=50),
              Column("pantone_code", db="pantone_code", max_len=50),
              Column("description", db="description", max_len=255)),
             keys=(C,), conflict=("inner_code",)),
    FileSpec("sizes.csv", t.size,
             (Column("size_label", required=True, db="label", max_len=50),
              _int("sort_order", default=0, lo=None)),
             keys=(S,), conflict=("label",)),
    FileSpec("bundle_types.csv", t.bundle_type,
             (Column("bundle_type_code", required=True, db="code", max_len=50),
              Column("name", required=True, db="name", max_len=100),
              Column("is_assorti", BOOL, db="is_assorti", default=False)),
             keys=(B,), conflict=("code",)),
    FileSpec("warehouses.csv", t.warehouse,
             (Column("warehouse_code", required=True, db="code", max_len=50),
              Column("name", required=True, db="name", max_len=255),
              Column("type", required=True, db="type", max_len=50)),
             keys=(("warehouse_code",),), conflict=("code",)),
    FileSpec("sku_units.csv", t.sku_unit, (ARTICLE, COLOR, SIZE), keys=(SKU,),
             refs=(Ref("article", A, "article_id"), Ref("color", C, "color_id"),
                   Ref("size", S, "size_id")),
             conflict=("article_id", "color_id", "size_id")),
    FileSpec("bundle_recipes.csv", t.bundle_recipe,
             (ARTICLE, BUNDLE, COLOR, _int("position", required=True, lo=1)),
             keys=(("article_code", "bundle_type_code", "color_code"),
                   ("article_code", "bundle_type_code", "position")),
             refs=(Ref("article", A, "article_id"), Ref("bundle_type", B, "bundle_type_id"),
                   Ref("color", C, "color_id")),
             conflict=("article_id", "bundle_type_id", "color_id"),
             replace_scope=("article_id", "bundle_type_id"), delete_changed=True),
    FileSpec("wb_barcodes.csv", t.article_wb_mapping,
             (Column("barcode", required=True, db="wb_sku", max_len=100), ARTICLE,
              Column("bundle_type_code", max_len=50), Column("color_code", max_len=50), SIZE),
             keys=(("barcode",),),
             refs=(Ref("article", A, "article_id"), Ref("bundle_type", B, "bundle_type_id"),
                   Ref("color", C, "color_id"), Ref("size", S, "size_id"),
                   Ref("recipe", ("article_code", "bundle_type_code")),
                   Ref("sku_unit", SKU)),
             conflict=("article_id", "wb_sku"), replace_scope=("wb_sku",),
             check=_barcode_check),
    FileSpec("global_planning_settings.csv", t.global_planning_settings,
             (_int("default_target_coverage_days", default=60),
              _int("default_lead_time_days", default=70),
              _int("default_service_level_percent", default=90, lo=1, hi=99),
              _int("default_fabric_min_batch_qty", default=7000),
              _int("default_elastic_min_batch_qty", default=3000),
              # empty or absent: NULL, which planning reads as 365 and 'defer'
              _int("max_minimum_cover_days", lo=1),
              Column("minimum_cover_policy", CHOICE, db="minimum_cover_policy",
                     choices=("defer", "raise"))),
             keys=(), write="first_row", max_rows=1),
    FileSpec("planning_settings.csv", t.planning_settings,
             (ARTICLE, Column("is_active", BOOL, db="is_active", default=True),
              _int("min_fabric_batch", required=True), _int("min_elastic_batch", required=True),
              _int("alert_threshold_days", required=True),
              _int("safety_stock_days", required=True),
              Column("strictness", NUMBER, required=True, db="strictness", lo=0),
              Column("notes", db="notes", max_len=500)),
             keys=(A,), refs=(Ref("article", A, "article_id"),), conflict=("article_id",)),
    FileSpec("article_planning_settings.csv", t.article_planning_settings,
             (ARTICLE, _int("target_coverage_days"), _int("lead_time_days"),
              _int("service_level_percent", lo=1, hi=99),
              Column("include_in_planning", BOOL, db="include_in_planning", default=True),
              _int("priority", default=0, lo=None), _int("pack_multiple", lo=1)),
             keys=(A,), refs=(Ref("article", A, "article_id"),), conflict=("article_id",)),
    FileSpec("color_planning_settings.csv", t.color_planning_settings,
             (ARTICLE, COLOR, _int("fabric_min_batch_qty")),
             keys=(("article_code", "color_code"),),
             refs=(Ref("article", A, "article_id"), Ref("color", C, "color_id")),
             conflict=("article_id", "color_id")),
    FileSpec("size_weights.csv", t.production_order_size_weight_settings,
             (ARTICLE, SIZE, Column("weight", NUMBER, db="weight", default=1.0, lo=0)),
             keys=(("article_code", "size_label"),),
             refs=(Ref("article", A, "article_id"), Ref("size", S, "size_id")),
             conflict=("article_id", "size_id")),
    FileSpec("stock.csv", t.stock_balance,
             (ARTICLE, COLOR, SIZE, WAREHOUSE, _int("quantity", required=True),
              Column("updated_at", DATETIME, db="updated_at")),
             keys=((*SKU, "warehouse_code"),),
             refs=(Ref("article", A), Ref("color", C), Ref("size", S),
                   Ref("sku_unit", SKU, "sku_unit_id"),
                   Ref("warehouse", ("warehouse_code",), "warehouse_id")),
             conflict=("sku_unit_id", "warehouse_id"), write="stock"),
    # What a SKU unit had available on a past business day (available ≤ 0: out of stock);
    # demand reads it for in-stock days. The ``supply`` asset records its own as-of day.
    FileSpec("stock_history.csv", t.stock_history,
             (Column("day", DATE, required=True, db="day"), ARTICLE, COLOR, SIZE,
              Column("available", NUMBER, required=True, db="available")),
             keys=(("day", *SKU),),
             refs=(Ref("article", A), Ref("color", C), Ref("size", S),
                   Ref("sku_unit", SKU, "sku_unit_id")),
             conflict=("day", "sku_unit_id")),
    FileSpec("purchase_orders.csv", t.purchase_order,
             (Column("external_ref", required=True, db="external_ref", max_len=255),
              Column("status", CHOICE, required=True, db="status", choices=PO_STATUSES),
              Column("target_date", DATE, required=True, db="target_date"),
              Column("comment", db="comment", max_len=1000)),
             keys=(("external_ref",),), write="purchase_order"),
    FileSpec("purchase_order_items.csv", t.purchase_order_item,
             (Column("external_ref", required=True, max_len=255), ARTICLE, COLOR, SIZE,
              _int("quantity", required=True, lo=1), Column("notes", db="notes", max_len=1000)),
             keys=(("external_ref", *SKU),),
             refs=(Ref("purchase_order", ("external_ref",), "purchase_order_id"),
                   Ref("article", A, "article_id"), Ref("color", C, "color_id"),
                   Ref("size", S, "size_id"), Ref("sku_unit", SKU)),
             conflict=("purchase_order_id", "article_id", "color_id", "size_id"),
             replace_scope=("purchase_order_id",)),
    FileSpec("orders.csv", t.orders,
             (Column("channel", CHOICE, required=True, choices=CHANNELS),
              _int("account_id", required=True),
              Column("order_id", required=True, max_len=200),
              Column("ordered_at", DATETIME, required=True),
              Column("barcode", max_len=100), Column("article_code", max_len=50),
              Column("color_code", max_len=50), Column("size_label", max_len=50),
              Column("bundle_type_code", max_len=50),
              Column("quantity", DECIMAL, required=True, lo=0, hi=QUANTITY_MAX, places=3),
              Column("price", DECIMAL, lo=0, hi=PRICE_MAX, places=2),
              Column("is_cancelled", BOOL), Column("cancelled_at", DATETIME)),
             keys=(("channel", "account_id", "order_id"),), write="orders",
             check=_order_check,
             lookups=("article", "color", "size", "bundle_type", "sku_unit", "recipe",
                      "barcode", "barcode_by_item")),
)

BY_FILE = {spec.file: spec for spec in FILES}
