"""The fast path of record validation for the big WB feeds (orders, sales).

Pydantic validates about 35k WB orders a second here, most of it in the Python validators of the
model (Moscow time, money). A WB page holds up to 80 000 records, nearly all of them well
formed. For those, :func:`check_page` builds the row with plain Python checks that accept a
record only when the model would surely accept it. Any record it is not sure of, for whatever
reason, goes through the model exactly as before (:func:`records.validate_page`), which then
either accepts it or gives the quarantine reason. So the fast path never decides that a record
is bad, and it never accepts one that the model would reject.

The values it gives are the model's: the same strings, aware UTC datetimes and Decimals (the
model makes a price's Decimal from the JSON number's shortest text, ``repr``, and so does this).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from math import isfinite
from operator import itemgetter
from typing import Any

from pydantic import ValidationError

from supplybrain_pipelines.logic.records import (
    FUTURE_TOLERANCE,
    SALE_KINDS,
    Rejected,
    WbOrder,
    WbSale,
    _stale,
    reject,
    screened,
)
from supplybrain_pipelines.logic.timeutil import MOSCOW

_fromisoformat = datetime.fromisoformat
_utcoffset = MOSCOW.utcoffset
#: A price the model surely accepts is below 10^12 (at most 12 whole and 2 decimal digits).
_MONEY_LIMIT = 10 ** 12


def fast_utc(text: str) -> datetime | None:
    """A naive ISO date-time in Moscow time as aware UTC, exactly as ``parse_marketplace_time``
    gives it; None for anything else (an offset, ``Z``, blanks, garbage): the slow path decides.

    Appending ``+00:00`` parses only a date-time without a zone of its own (a second zone is a
    syntax error) and reads its wall clock as UTC; Moscow's offset at that wall-clock time then
    gives the instant. That is about five times faster than attaching the zone."""
    try:
        moment = _fromisoformat(text + "+00:00")
        if moment.tzinfo is UTC:  # not for a date alone: "+" was read as the T separator
            return moment - _utcoffset(moment)
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01 less 2h30 in Moscow
        pass
    return None


#: Decimals of the float prices already seen, by value (a page has a few thousand distinct
#: ones): for ``_money`` and for ``_amount``, whose rules differ. Bounded; never 0.0, which
#: equals -0.0 but has another text. Integer prices are kept apart (5 == 5.0, but Decimal(5)
#: is not Decimal("5.0")).
_MONEY: dict[float, Decimal] = {}
_AMOUNT: dict[float, Decimal] = {}
_INTEGERS: dict[int, Decimal] = {}


def _decimal(seen: dict, value: float | int, text: str | int) -> Decimal:
    result = Decimal(text)
    if value and len(seen) < 50_000:
        seen[value] = result
    return result


def _money(value: Any) -> Decimal | None:
    """``StrictMoney`` of a JSON number it surely accepts (non-negative, below 10^12, at most
    two decimals in its shortest text); None when unsure."""
    kind = type(value)
    if kind is float:
        known = _MONEY.get(value)
        if known is not None:
            return known
        if 0.0 <= value < _MONEY_LIMIT:  # also rules out inf and nan
            text = repr(value)
            if "e" not in text and len(text) - text.index(".") <= 3:
                return _decimal(_MONEY, value, text)
    elif kind is int and 0 <= value < _MONEY_LIMIT:
        return _INTEGERS.get(value) or _decimal(_INTEGERS, value, value)
    return None


def _amount(value: Any) -> Decimal | None:
    """An unconstrained Decimal field (any sign, any decimals) of a JSON number it surely
    accepts: finite, not bool, no exponent in its shortest text; None when unsure."""
    kind = type(value)
    if kind is float:
        known = _AMOUNT.get(value)
        if known is not None:
            return known
        if isfinite(value) and -_MONEY_LIMIT < value < _MONEY_LIMIT:
            text = repr(value)
            if "e" not in text:
                return _decimal(_AMOUNT, value, text)
    elif kind is int and -_MONEY_LIMIT < value < _MONEY_LIMIT:
        return _INTEGERS.get(value) or _decimal(_INTEGERS, value, value)
    return None


def _barcode(value: Any) -> bool:
    """What ``Barcode`` accepts (1-64 of ``[0-9A-Za-z-]``), except all-dash codes (slow path)."""
    return (type(value) is str and 0 < len(value) <= 64 and value.isascii()
            and (value.isalnum() or value.replace("-", "").isalnum()))


def _by_name(record: dict, names: tuple[str, ...]) -> bool:
    """Whether ``record`` carries a field under its Python name. A null alias is then not
    surely read as null: ``populate_by_name`` lets pydantic read the name (slow path)."""
    return any(name in record for name in names)


#: The types of a ``StrictStr | None`` value.
_TEXT = frozenset({str, type(None)})


_ORDER_ITEMS = itemgetter("srid", "date", "lastChangeDate", "barcode", "supplierArticle",
                          "techSize", "nmId", "warehouseName", "totalPrice", "priceWithDisc",
                          "finishedPrice", "isCancel", "cancelDate", "gNumber")
_ORDER_NAMES = ("supplier_article", "tech_size", "nm_id", "warehouse_name", "price_with_disc",
                "finished_price", "cancel_date", "g_number")


def wb_order_values(record: dict, limit: datetime, tail: tuple) -> tuple | None:
    """``ORDER_FIELDS`` of a WB order (then ``tail``) when :class:`WbOrder` surely accepts it.
    WB sends every field, null or not; a record without one goes to the model."""
    try:
        (srid, date, changed, barcode, article, size, nm_id, warehouse, total, with_disc,
         finished, cancel, cancelled, g_number) = _ORDER_ITEMS(record)
    except KeyError:
        return None
    if (type(srid) is not str or type(date) is not str or type(changed) is not str
            or type(cancel) is not bool or not 0 < len(srid) <= 200 or not _barcode(barcode)
            or (total := _money(total)) is None):
        return None
    if None in (article, size, nm_id, warehouse, with_disc, finished, cancelled, g_number) \
            and _by_name(record, _ORDER_NAMES):
        return None
    if (type(article) not in _TEXT or type(size) not in _TEXT or type(warehouse) not in _TEXT
            or type(g_number) not in _TEXT or not (nm_id is None or type(nm_id) is int)):
        return None
    if with_disc is not None and (with_disc := _money(with_disc)) is None:
        return None
    if finished is not None and (finished := _money(finished)) is None:
        return None
    ordered_at, last_change = fast_utc(date), fast_utc(changed)
    if ordered_at is None or last_change is None or last_change < ordered_at \
            or last_change > limit:
        return None
    if cancelled is not None:
        if type(cancelled) is not str:
            return None
        if cancelled.startswith("0001-01-01"):  # WB's "not cancelled"
            cancelled = None
        elif (cancelled := fast_utc(cancelled)) is None or cancelled > limit:
            return None
    return (srid, ordered_at, last_change, barcode, article, size, nm_id, warehouse, total,
            with_disc, finished, cancel, cancelled, g_number) + tail


_SALE_ITEMS = itemgetter("saleID", "srid", "date", "lastChangeDate", "barcode", "warehouseName",
                         "forPay", "finishedPrice")
_SALE_NAMES = ("warehouse_name", "for_pay", "finished_price")


def wb_sale_values(record: dict, limit: datetime, tail: tuple) -> tuple | None:
    """``SALE_FIELDS`` of a WB sale or return (then ``tail``) when :class:`WbSale` surely
    accepts it. A record without one of the fields goes to the model."""
    try:
        sale_id, srid, date, changed, barcode, warehouse, for_pay, finished = _SALE_ITEMS(record)
    except KeyError:
        return None
    if (type(sale_id) is not str or not 2 <= len(sale_id) <= 64 or sale_id[0] not in SALE_KINDS
            or type(srid) is not str or not 0 < len(srid) <= 200 or type(date) is not str
            or type(changed) is not str or not _barcode(barcode) or type(warehouse) not in _TEXT):
        return None
    if None in (warehouse, for_pay, finished) and _by_name(record, _SALE_NAMES):
        return None
    if for_pay is not None and (for_pay := _amount(for_pay)) is None:
        return None
    if finished is not None and (finished := _amount(finished)) is None:
        return None
    sold_at, last_change = fast_utc(date), fast_utc(changed)
    if sold_at is None or last_change is None or sold_at > limit or last_change > limit:
        return None
    return (sale_id, srid, SALE_KINDS[sale_id[0]], sold_at, last_change, barcode, warehouse,
            for_pay, finished) + tail


@dataclass(frozen=True)
class FastModel:
    """A model with a fast path: the fields of its row tuple, and the function that builds it."""

    model: type
    #: The model's fields in row order (a property such as ``WbSale.kind`` may be one).
    fields: tuple[str, ...]
    values: Callable[[dict, datetime, tuple], tuple | None]
    key: str
    version: str
    version_raw: str

    @property
    def key_index(self) -> int:
        return self.fields.index(self.key)

    @property
    def version_index(self) -> int:
        return self.fields.index(self.version)


ORDER_FIELDS = ("srid", "date", "last_change", "barcode", "supplier_article", "tech_size",
                "nm_id", "warehouse_name", "total_price", "price_with_disc", "finished_price",
                "is_cancel", "cancel_date", "g_number")
SALE_FIELDS = ("sale_id", "srid", "kind", "date", "last_change", "barcode", "warehouse_name",
               "for_pay", "finished_price")
FAST_ORDERS = FastModel(WbOrder, ORDER_FIELDS, wb_order_values, "srid", "last_change",
                        "last_change_raw")
FAST_SALES = FastModel(WbSale, SALE_FIELDS, wb_sale_values, "sale_id", "last_change",
                       "last_change_raw")


@dataclass
class CheckedPage:
    """A validated page: one row per kept record (``fields`` then the caller's ``tail``), the
    raw record and the raw version text of each row, and the records that were rejected."""

    rows: list[tuple] = field(default_factory=list)
    sources: list[Any] = field(default_factory=list)
    versions_raw: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    #: How many kept rows the model had to validate (the fast path was not sure of them).
    slow: int = 0


def check_page(records: Iterable[Any], spec: FastModel, tail: tuple = ()) -> CheckedPage:
    """:func:`records.validate_page` with a key and version, for the rows of ``spec``'s model:
    the same rows kept, the same records rejected with the same reasons, in the same order.

    A page that holds the same key twice keeps the newest version (the later record on a tie)
    and rejects the others as ``stale_duplicate``. Keys seldom repeat within a page, so the page
    is first checked without tracking them (a sixth less work per record); only when its kept
    rows turn out to share a key is it checked again with the tracking.

    As in ``validate_page``, records that PostgreSQL cannot store are screened out first
    (``records.screened``) and come first in the rejected list."""
    records, unstorable = screened(records)
    page = _check(records, spec, tail, dedupe=False)
    if len(set(map(itemgetter(spec.key_index), page.rows))) != len(page.rows):
        page = _check(records, spec, tail, dedupe=True)
    if unstorable:
        page.rejected[:0] = unstorable
    return page


def _check(records: list, spec: FastModel, tail: tuple, dedupe: bool) -> CheckedPage:
    limit = datetime.now(UTC) + FUTURE_TOLERANCE  # the slow path would allow a later limit
    fast, model, fields = spec.values, spec.model, spec.fields
    key_at, version_at, version_raw = spec.key_index, spec.version_index, spec.version_raw
    raw_alias = spec.model.model_fields[version_raw].alias or version_raw
    page = CheckedPage()
    rows, sources, raws, bad = page.rows, page.sources, page.versions_raw, page.rejected
    slot_of: dict[Any, int] = {}
    for record in records:
        if type(record) is dict and (row := fast(record, limit, tail)) is not None:
            raw = record[raw_alias]
        elif not isinstance(record, dict):
            bad.append(Rejected(record, "not_an_object",
                                f"record: expected a JSON object, got {type(record).__name__}"))
            continue
        else:
            try:
                parsed = model.model_validate(record)
            except ValidationError as error:
                bad.append(reject(record, error))
                continue
            row = tuple(getattr(parsed, name) for name in fields) + tail
            raw = getattr(parsed, version_raw)
            page.slow += 1
        if not dedupe:
            rows.append(row)
            sources.append(record)
            raws.append(raw)
            continue
        key = row[key_at]
        slot = slot_of.get(key)
        if slot is None:
            slot_of[key] = len(rows)
            rows.append(row)
            sources.append(record)
            raws.append(raw)
        elif row[version_at] >= rows[slot][version_at]:
            bad.append(_stale(sources[slot], key))
            rows[slot], sources[slot], raws[slot] = row, record, raw
        else:
            bad.append(_stale(record, key))
    return page
