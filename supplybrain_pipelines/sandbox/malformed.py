"""Malformed records that the sandbox mixes into otherwise good pages (fault ``malformed``).

Each kind is a mutation of a copy of a good row of the same page. Every bad record carries the
tag ``"_sandbox_malformed": <kind>`` (a bare-string record is ``"_sandbox_malformed:<kind>"``),
so a test can tell which defect it injected. Bad records never clobber good ones: they get
fresh keys (srid, saleID, MoySklad id), except ``duplicate_older``, which repeats a real key
with an older change time, and WB stock rows, whose key (warehouse, barcode) is the good row's
and which are placed before it. Each bad record is inserted just before its source row, so the
last row of a page stays good and a client's lastChangeDate cursor keeps working.

Endpoints: ``wb.orders``, ``wb.sales``, ``wb.stocks``, ``ms.customerorder``.

Beside the kinds that the models reject, there are kinds that PostgreSQL cannot store (NUL, a
lone surrogate, control characters, a 10 MiB string, lists nested 300 deep, over-long and NUL
keys, NaN, Infinity, an integer of 31 digits) and one that it refuses although the models
accept it (``column_overflow``). The sandbox sends NaN and Infinity as Python's json does, and a
lone surrogate as its ``\\udXXX`` escape.
"""

from __future__ import annotations

import copy
import uuid
import zlib
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from supplybrain_pipelines.sandbox.model import ms_time, parse_ms_time, parse_wb_time, wb_time
from supplybrain_pipelines.sandbox.rand import ean13

TAG = "_sandbox_malformed"
ENDPOINTS = ("wb.orders", "wb.sales", "wb.stocks", "ms.customerorder")
_NS = uuid.UUID("6f1f7f52-53c1-4c55-9a43-1b2d3c4e5f60")

Row = dict[str, Any]
Mutator = Callable[[Row, str], Any]


def _crc(*parts: object) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


def _fresh_wb(row: Row, kind: str) -> Row:
    """New keys for a WB order/sale row, so the bad record never replaces a good one."""
    if "srid" in row:
        row["srid"] = f"{row['srid']}.x{_crc(kind, row['srid']):08x}"
    if "saleID" in row:
        row["saleID"] = f"{row['saleID'][0]}9{_crc(kind, row['saleID']) % 10**9:09d}"
    return row


def _fresh_ms(row: Row, kind: str) -> Row:
    new_id = str(uuid.uuid5(_NS, f"{kind}|{row['id']}"))
    row["meta"]["href"] = row["meta"]["href"].replace(row["id"], new_id)
    for position in row.get("positions", {}).get("rows", []):
        position["id"] = str(uuid.uuid5(_NS, f"{kind}|{position['id']}"))
    row["id"] = new_id
    return row


def _set(**values: Any) -> Callable[[Row, str], Row]:
    def mutate(row: Row, kind: str) -> Row:
        row.update(values)
        return row
    return mutate


def _drop(key: str) -> Callable[[Row, str], Row]:
    def mutate(row: Row, kind: str) -> Row:
        row.pop(key, None)
        return row
    return mutate


def _wb_fresh(mutate: Callable[[Row, str], Row]) -> Mutator:
    return lambda row, kind: mutate(_fresh_wb(row, kind), kind)


def _ms_fresh(mutate: Callable[[Row, str], Row]) -> Mutator:
    return lambda row, kind: mutate(_fresh_ms(row, kind), kind)


def _first_position(mutate: Callable[[Row], None]) -> Callable[[Row, str], Row | None]:
    def apply(row: Row, kind: str) -> Row | None:
        rows = row.get("positions", {}).get("rows")
        if not rows:
            return None  # positions not expanded: nothing to spoil
        mutate(rows[0])
        return row
    return apply


def _stringify_prices(row: Row, kind: str) -> Row:
    for key in ("totalPrice", "priceWithDisc", "finishedPrice", "Price"):
        if key in row:
            row[key] = f"{row[key]:.2f}"
    return row


def _negate_prices(row: Row, kind: str) -> Row:
    for key in ("totalPrice", "priceWithDisc", "finishedPrice"):
        row[key] = -abs(row[key])
    return row


def _wb_shift(key: str, days: int) -> Callable[[Row, str], Row]:
    def mutate(row: Row, kind: str) -> Row:
        row[key] = wb_time(parse_wb_time(row[key]) + timedelta(days=days))
        return row
    return mutate


def _before_date(row: Row, kind: str) -> Row:
    row["lastChangeDate"] = wb_time(parse_wb_time(row["date"]) - timedelta(days=2))
    return row


def _wb_duplicate_older(row: Row, kind: str) -> Row:
    """The same key with a stale version: older change time, pre-cancel / other quantity."""
    row["lastChangeDate"] = wb_time(parse_wb_time(row["lastChangeDate"]) - timedelta(days=3))
    if "isCancel" in row:
        row["isCancel"], row["cancelDate"] = False, "0001-01-01T00:00:00"
    if "quantity" in row:
        row["quantity"] += 7
        row["quantityFull"] += 7
    return row


def _negative_stock(row: Row, kind: str) -> Row:
    row["quantity"] = -3
    row["quantityFull"] = -3 + row["inWayToClient"] + row["inWayFromClient"]
    return row


def _ms_duplicate_older(row: Row, kind: str) -> Row:
    row["updated"] = ms_time(parse_ms_time(row["updated"]) - timedelta(days=1))
    for position in row.get("positions", {}).get("rows", []):
        position["quantity"] += 1
    return row


def _ms_future(row: Row, kind: str) -> Row:
    row["moment"] = ms_time(parse_ms_time(row["moment"]) + timedelta(days=365))
    return row


def _unknown_assortment(position: Row) -> None:
    meta = position["assortment"]["meta"]
    old_id = meta["href"].rsplit("/", 1)[1]
    meta["href"] = meta["href"].replace(old_id, str(uuid.uuid5(_NS, old_id)))


def _unknown_barcode(row: Row, kind: str) -> Row:
    row["barcode"] = ean13(f"29{_crc(row['barcode']) % 10**10:010d}")
    return row


_ORDERS_SALES = ("wb.orders", "wb.sales")
_WB_ALL = ("wb.orders", "wb.sales", "wb.stocks")


def _wb(endpoints: tuple[str, ...], mutate: Callable[[Row, str], Row]) -> dict[str, Mutator]:
    """The same mutation on several WB endpoints; orders and sales also get fresh keys."""
    return {e: (_wb_fresh(mutate) if e in _ORDERS_SALES else mutate) for e in endpoints}


#: kind -> endpoint -> mutation of a deep copy of a good row (None: not applicable to it).
KINDS: dict[str, dict[str, Mutator]] = {
    "missing_srid": _wb(_ORDERS_SALES, _drop("srid")),
    "empty_srid": _wb(_ORDERS_SALES, _set(srid="")),
    "missing_barcode": _wb(_WB_ALL, _drop("barcode")),
    "barcode_int": _wb(_WB_ALL, lambda r, k: {**r, "barcode": int(r["barcode"])}),
    "unknown_barcode": _wb(_WB_ALL, _unknown_barcode),
    "unparseable_date": {
        **_wb(_ORDERS_SALES, _set(date="2025-02-30T25:61:00")),
        "wb.stocks": _set(lastChangeDate="вчера"),
        "ms.customerorder": _ms_fresh(_set(moment="31.12.2025 25:00")),
    },
    "null_last_change": {
        **_wb(_WB_ALL, _set(lastChangeDate=None)),
        "ms.customerorder": _ms_fresh(_set(updated=None)),
    },
    "future_date": {
        **_wb(_ORDERS_SALES, _wb_shift("date", 365)),
        "ms.customerorder": _ms_fresh(_ms_future),
    },
    "last_change_before_date": _wb(_ORDERS_SALES, _before_date),
    "string_price": {
        **_wb(_WB_ALL, _stringify_prices),
        "ms.customerorder": _ms_fresh(_first_position(
            lambda p: p.update(price=str(p["price"])))),
    },
    "negative_price": {
        **_wb(("wb.orders",), _negate_prices),
        "ms.customerorder": _ms_fresh(_first_position(
            lambda p: p.update(price=-abs(p["price"])))),
    },
    "negative_quantity": {
        "wb.stocks": _negative_stock,
        "ms.customerorder": _ms_fresh(_first_position(lambda p: p.update(quantity=-2))),
    },
    "bad_bool": _wb(("wb.orders",), _set(isCancel="yes")),
    "nmid_string": _wb(_WB_ALL, lambda r, k: {**r, "nmId": f"nm{r['nmId']}"}),
    "duplicate_older": {
        **{e: _wb_duplicate_older for e in _WB_ALL},
        "ms.customerorder": _ms_duplicate_older,
    },
    "not_an_object": {e: (lambda r, k: f"{TAG}:{k}") for e in ENDPOINTS},
    "bad_sale_id": {"wb.sales": lambda r, k: {**r, "saleID": f"X{r['saleID'][1:]}"}},
    "missing_warehouse": {"wb.stocks": _set(warehouseName=None)},
    "quantity_full_mismatch": {
        "wb.stocks": lambda r, k: {**r, "quantityFull": r["quantityFull"] + 5}},
    "missing_id": {"ms.customerorder": lambda r, k: {
        key: value for key, value in r.items() if key not in ("id", "meta")}},
    "missing_positions": {"ms.customerorder": _ms_fresh(_drop("positions"))},
    "unknown_assortment": {"ms.customerorder": _ms_fresh(_first_position(_unknown_assortment))},
    "missing_assortment": {"ms.customerorder": _ms_fresh(_first_position(
        lambda p: p.pop("assortment")))},
}


#: The length of ``huge_text``'s string: 10 MiB of characters.
HUGE_TEXT = 10 * 1024 * 1024
#: How deep ``deep_nesting`` nests lists: far beyond any marketplace record, well within what
#: Python's json reads and writes (about 1 000).
DEEP_LEVELS = 300


def _deep() -> list:
    value: list = []
    for _ in range(DEEP_LEVELS - 1):
        value = [value]
    return value


def _text_kind(make: Callable[[str], str]) -> dict[str, Mutator]:
    """A bad text: WB's ``supplierArticle`` (every WB feed has it), MoySklad's order ``name``."""
    return {**_wb(_WB_ALL, lambda r, k: {**r, "supplierArticle": make(r["supplierArticle"])}),
            "ms.customerorder": _ms_fresh(lambda r, k: {**r, "name": make(str(r["name"]))})}


def _extra_kind(key: str, value: Callable[[], Any]) -> dict[str, Mutator]:
    """A field of its own that the models ignore, on every endpoint."""
    def add(row: Row, kind: str) -> Row:
        row[key] = value()
        return row
    return {**_wb(_WB_ALL, add), "ms.customerorder": _ms_fresh(add)}


def _stock_overflow(row: Row, kind: str) -> Row:
    """More than PostgreSQL's integer, consistent, under a key of its own (so that it is not
    the stale duplicate of its source row)."""
    row["warehouseName"] = f"{row['warehouseName']} overflow"
    row["quantity"] = 3_000_000_000
    row["quantityFull"] = 3_000_000_000 + row["inWayToClient"] + row["inWayFromClient"]
    return row


#: Records PostgreSQL cannot store (``logic/screening.py``), and records that pass screening and
#: the models and that PostgreSQL still refuses (``column_overflow``: the write's fallback).
KINDS.update({
    "nul_text": _text_kind(lambda text: f"{text}\u0000x"),
    "lone_surrogate": _text_kind(lambda text: f"{text}\ud800"),
    "control_character": _text_kind(lambda text: f"{text}\u0007"),
    "c1_control": _text_kind(lambda text: f"\u0085{text}"),
    "huge_text": _text_kind(lambda text: text + "x" * HUGE_TEXT),
    "deep_nesting": _extra_kind("extra", _deep),
    "long_key": _extra_kind("k" * 300, lambda: 1),
    "nul_key": _extra_kind("bad\u0000key", lambda: 1),
    "infinite_number": _extra_kind("ratio", lambda: float("inf")),
    "nan_number": {
        **_wb(("wb.orders",), _set(totalPrice=float("nan"))),
        **_wb(("wb.sales",), _set(forPay=float("nan"))),
        "wb.stocks": _set(Price=float("nan")),
        "ms.customerorder": _ms_fresh(_first_position(
            lambda p: p.update(price=float("nan")))),
    },
    "huge_integer": {
        **_wb(_WB_ALL, _set(nmId=10 ** 30)),
        "ms.customerorder": _ms_fresh(_set(sum=10 ** 30)),
    },
    "column_overflow": {
        **_wb(("wb.sales",), _set(forPay=1e13)),  # numeric(14, 2)
        "wb.stocks": _stock_overflow,  # integer
        "ms.customerorder": _ms_fresh(_first_position(  # numeric(14, 3)
            lambda p: p.update(quantity=1e12))),
    },
})


def kinds_for(endpoint: str) -> list[str]:
    """The kinds that apply to an endpoint, in a stable order."""
    return [kind for kind, by_endpoint in KINDS.items() if endpoint in by_endpoint]


def record_key(endpoint: str, row: Any) -> Any:
    """The natural key of a served row (None when it has none)."""
    if not isinstance(row, dict):
        return None
    if endpoint == "wb.orders":
        return row.get("srid")
    if endpoint == "wb.sales":
        return row.get("saleID")
    if endpoint == "wb.stocks":
        return (row.get("warehouseName"), row.get("barcode"))
    return row.get("id")


def inject(endpoint: str, rows: list[Any], kinds: Iterable[str]) -> tuple[list[Any], list[str]]:
    """``rows`` with one bad record per applicable kind, and the kinds actually injected.

    Nothing is injected into an empty page (an empty page is how a client knows it is done).
    """
    if not rows:
        return rows, []
    inserts: dict[int, list[Any]] = {}
    injected: list[str] = []
    for kind in sorted(set(kinds)):
        mutate = KINDS.get(kind, {}).get(endpoint)
        if mutate is None:
            continue
        index = _crc(kind, endpoint) % len(rows)
        bad = mutate(copy.deepcopy(rows[index]), kind)
        if bad is None:
            continue
        if isinstance(bad, dict):
            bad[TAG] = kind
        inserts.setdefault(index, []).append(bad)
        injected.append(kind)
    result: list[Any] = []
    for index, row in enumerate(rows):
        result.extend(inserts.get(index, ()))
        result.append(row)
    return result, injected
