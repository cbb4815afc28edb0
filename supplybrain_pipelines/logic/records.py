"""Validation of marketplace records: each raw record becomes a typed row or a quarantine reason.

One model per endpoint states what a usable record is. :func:`validate_page` splits a page into
good rows and :class:`Rejected` records (with a reason code and a one-line reason) so that one bad
record never costs the good ones beside it. Unknown barcodes are not rejected here: a valid order
for an unmapped barcode is kept and reported as unmatched (see ``assets/ingest``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from supplybrain_pipelines.logic.screening import screen_many
from supplybrain_pipelines.logic.timeutil import parse_marketplace_time

#: How far in the future a marketplace time may be (clock skew) before the record is rejected.
FUTURE_TOLERANCE = timedelta(days=1)


def not_in_future(moment: datetime) -> datetime:
    if moment > datetime.now(UTC) + FUTURE_TOLERANCE:
        raise ValueError(f"date-time {moment.isoformat()} is in the future")
    return moment


def marketplace_time(value: Any) -> datetime:
    """:func:`parse_marketplace_time`, with a time that has no UTC equivalent (``0001-01-01``
    in Moscow is before year 1 in UTC) rejected like any bad date rather than raised."""
    try:
        return parse_marketplace_time(value)
    except OverflowError:
        raise ValueError(f"date-time {str(value)[:40]!r} is out of range") from None


#: A marketplace time (naive = Moscow), validated and converted to aware UTC.
UtcTime = Annotated[datetime, BeforeValidator(marketplace_time), AfterValidator(not_in_future)]
NonEmpty = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Barcode = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z-]+$")]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, strict=False)]
Count = Annotated[StrictInt, Field(ge=0)]
#: A non-negative JSON number (int or float), never a string.
Amount = Annotated[float, Field(ge=0, strict=True)]


def _no_strings(value: Any) -> Any:
    """Prices must be JSON numbers: a string price is a type error, not something to coerce."""
    if isinstance(value, str | bool):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    return value


StrictMoney = Annotated[Money, BeforeValidator(_no_strings)]


def _meta_id(entity: Any) -> str | None:
    """The id at the end of a MoySklad ``{"meta": {"href": ".../<id>"}}`` reference."""
    href = ((entity or {}).get("meta") or {}).get("href") if isinstance(entity, dict) else None
    return href.rstrip("/").rsplit("/", 1)[-1] if isinstance(href, str) and href else None


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class WbOrder(_Record):
    """``/api/v1/supplier/orders``: one row is one ordered unit, identified by ``srid``."""

    srid: NonEmpty
    date: UtcTime
    last_change: UtcTime = Field(alias="lastChangeDate")
    last_change_raw: StrictStr = Field(alias="lastChangeDate")
    barcode: Barcode
    supplier_article: StrictStr | None = Field(None, alias="supplierArticle")
    tech_size: StrictStr | None = Field(None, alias="techSize")
    nm_id: StrictInt | None = Field(None, alias="nmId")
    warehouse_name: StrictStr | None = Field(None, alias="warehouseName")
    total_price: StrictMoney = Field(alias="totalPrice")
    price_with_disc: StrictMoney | None = Field(None, alias="priceWithDisc")
    finished_price: StrictMoney | None = Field(None, alias="finishedPrice")
    is_cancel: StrictBool = Field(alias="isCancel")
    cancel_date: UtcTime | None = Field(None, alias="cancelDate")
    g_number: StrictStr | None = Field(None, alias="gNumber")

    @model_validator(mode="after")
    def _consistent(self) -> WbOrder:
        if self.last_change < self.date:
            raise ValueError("lastChangeDate is before the order date")
        return self

    @model_validator(mode="before")
    @classmethod
    def _zero_cancel_date(cls, data: Any) -> Any:
        # WB sends "0001-01-01T00:00:00" as "no cancellation".
        if isinstance(data, dict) and str(data.get("cancelDate", "")).startswith("0001-01-01"):
            data = {**data, "cancelDate": None}
        return data


SALE_KINDS = {"S": "sale", "R": "return", "D": "surcharge", "A": "sale_reversal",
              "B": "return_reversal"}


class WbSale(_Record):
    """``/api/v1/supplier/sales``: one row is one sale or return of one unit (``saleID``)."""

    sale_id: Annotated[StrictStr, Field(min_length=2, max_length=64, pattern=r"^[SRDAB]")] = (
        Field(alias="saleID"))
    srid: NonEmpty
    date: UtcTime
    last_change: UtcTime = Field(alias="lastChangeDate")
    last_change_raw: StrictStr = Field(alias="lastChangeDate")
    barcode: Barcode
    warehouse_name: StrictStr | None = Field(None, alias="warehouseName")
    for_pay: Annotated[Decimal, BeforeValidator(_no_strings)] | None = Field(None, alias="forPay")
    finished_price: Annotated[Decimal, BeforeValidator(_no_strings)] | None = Field(
        None, alias="finishedPrice")

    @property
    def kind(self) -> str:
        return SALE_KINDS[self.sale_id[0]]


class WbStock(_Record):
    """``/api/v1/supplier/stocks``: stock of one barcode on one WB warehouse, now."""

    last_change: UtcTime = Field(alias="lastChangeDate")
    last_change_raw: StrictStr = Field(alias="lastChangeDate")
    warehouse_name: NonEmpty = Field(alias="warehouseName")
    barcode: Barcode
    quantity: Count
    in_way_to_client: Count = Field(0, alias="inWayToClient")
    in_way_from_client: Count = Field(0, alias="inWayFromClient")
    quantity_full: Count | None = Field(None, alias="quantityFull")

    @model_validator(mode="after")
    def _consistent(self) -> WbStock:
        parts = self.quantity + self.in_way_to_client + self.in_way_from_client
        if self.quantity_full is not None and self.quantity_full != parts:
            raise ValueError(f"quantityFull {self.quantity_full} is not quantity + in transit "
                             f"({parts})")
        return self


class MsPosition(_Record):
    id: NonEmpty
    assortment_id: NonEmpty
    quantity: Amount
    price_kopecks: Amount = Field(alias="price")


class MsOrderHead(_Record):
    """``/entity/customerorder`` without positions: what says whether an order counts.

    ``state_id`` is the id at the end of the ``state`` meta (``…/metadata/states/<id>``);
    ``deleted`` the moment of its last move into the recycle bin (MoySklad keeps it after a
    restore, so being in the bin is told by the list it came from, not by this field).
    """

    id: NonEmpty
    name: StrictStr | None = None
    moment: UtcTime
    updated: UtcTime
    updated_raw: StrictStr = Field(alias="updated")
    applicable: StrictBool = True
    state_id: StrictStr | None = None
    deleted: UtcTime | None = None
    deleted_raw: StrictStr | None = Field(None, alias="deleted")

    @model_validator(mode="before")
    @classmethod
    def _state(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("state") is not None:
            state_id = _meta_id(data["state"])
            if state_id is None:
                raise ValueError("state is not a meta reference")
            data = {**data, "state_id": state_id}
        return data


class MsOrder(MsOrderHead):
    """``/entity/customerorder`` with positions expanded: an order of our own channel."""

    positions: list[MsPosition]

    @model_validator(mode="before")
    @classmethod
    def _flatten_positions(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        positions = data.get("positions")
        rows = positions.get("rows") if isinstance(positions, dict) else None
        if rows is None:
            raise ValueError("positions are not expanded (rows missing)")
        flat = []
        for row in rows:
            if not isinstance(row, dict):
                raise ValueError("a position is not an object")
            flat.append({**row, "assortment_id": _meta_id(row.get("assortment"))})
        return {**data, "positions": flat}


class MsStock(_Record):
    """``/report/stock/bystore/current``: stock of one assortment item in one store."""

    assortment_id: NonEmpty = Field(alias="assortmentId")
    store_id: NonEmpty = Field(alias="storeId")
    stock: Amount


@dataclass(frozen=True)
class Rejected:
    """A record that cannot be used, with why: goes to the quarantine table."""

    record: Any
    reason_code: str
    reason: str


def _reason_code(error: dict) -> str:
    kind = error["type"]
    if kind == "missing":
        return "missing_field"
    if kind.endswith("_type") or kind in {"is_instance_of", "model_type", "dict_type"}:
        return "wrong_type"
    if kind in {"greater_than_equal", "greater_than"}:
        return "negative_value"
    message = str(error.get("msg", ""))
    if "date-time" in message:
        return "bad_date"
    if "expected a number" in message:
        return "wrong_type"
    return "invalid_value"


def reject(record: Any, error: ValidationError) -> Rejected:
    """A :class:`Rejected` from pydantic's first error: a code and a one-line reason."""
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "record"
    message = str(first["msg"]).removeprefix("Value error, ")
    return Rejected(record, _reason_code(first), f"{field}: {message}"[:300])


M = TypeVar("M", bound=_Record)


def validate_page(records: Iterable[Any], model: type[M],
                  key: Callable[[M], str] | None = None,
                  version: Callable[[M], datetime] | None = None,
                  sources: list[Any] | None = None
                  ) -> tuple[list[M], list[Rejected]]:
    """Split ``records`` into valid rows and rejected ones. Given a list as ``sources``, the
    raw record of each valid row is appended to it, in the order of the rows.

    With ``key`` and ``version``, a page that holds the same key twice keeps the newest version
    and rejects the others as ``stale_duplicate`` (WB re-emits changed rows).

    Records that PostgreSQL cannot store (``logic/screening.py``: NUL, lone surrogates, control
    characters, over-long text, deep nesting, numbers out of range) are rejected first, before
    the model sees them, with the screen's reason code; they come first in the rejected list.
    """
    records, bad = screened(records)
    good: dict[Any, tuple[M, Any]] = {}
    ordered: list[M] = []
    for record in records:
        if not isinstance(record, dict):
            bad.append(Rejected(record, "not_an_object",
                                f"record: expected a JSON object, got {type(record).__name__}"))
            continue
        try:
            row = model.model_validate(record)
        except ValidationError as error:
            bad.append(reject(record, error))
            continue
        if key is None:
            ordered.append(row)
            if sources is not None:
                sources.append(record)
            continue
        k = key(row)
        previous = good.get(k)
        if previous is None:
            good[k] = (row, record)
        elif version(row) >= version(previous[0]):
            bad.append(_stale(previous[1], k))
            good[k] = (row, record)
        else:
            bad.append(_stale(record, k))
    if key is None:
        return ordered, bad
    if sources is not None:
        sources += [record for _, record in good.values()]
    return [row for row, _ in good.values()], bad


def screened(records: Iterable[Any]) -> tuple[list[Any], list[Rejected]]:
    """``records`` without those :func:`screening.screen_many` finds a problem in (in order),
    and those as :class:`Rejected`, in page order."""
    records = records if isinstance(records, list) else list(records)
    problems = screen_many(records)
    if not problems:
        return records, []
    return ([record for at, record in enumerate(records) if at not in problems],
            [Rejected(records[at], code, reason) for at, (code, reason) in problems.items()])


def _stale(record: Any, key: Any) -> Rejected:
    return Rejected(record, "stale_duplicate",
                    f"{key}: a newer version of this record is in the same page")


#: MoySklad characteristic names that carry a colour or a size.
CHARACTERISTIC_ROLES = {"цвет": "color", "color": "color", "colour": "color",
                        "размер": "size", "size": "size"}


class MsAssortmentItem(_Record):
    """``/entity/assortment``: a product or a variant (colour × size) with its barcodes."""

    id: NonEmpty
    kind: StrictStr
    name: StrictStr | None = None
    code: StrictStr | None = None
    article: StrictStr | None = None
    barcodes: list[StrictStr] = []
    characteristics: dict[str, StrictStr] = {}
    #: Sold as it is: a variant, or a product without variants. These are SKU candidates.
    sellable: StrictBool = False
    #: A variant's product (whose ``article`` the variant itself does not carry).
    product_id: StrictStr | None = None
    #: When MoySklad last changed the item (the incremental read's cursor).
    updated: UtcTime | None = None
    updated_raw: StrictStr | None = Field(None, alias="updated")

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kind = ((data.get("meta") or {}).get("type")) if isinstance(data.get("meta"), dict) \
            else None
        barcodes = []
        for entry in data.get("barcodes") or []:
            if not isinstance(entry, dict):
                raise ValueError("a barcode entry is not an object")
            barcodes += list(entry.values())
        roles = {}
        for item in data.get("characteristics") or []:
            if not isinstance(item, dict):
                raise ValueError("a characteristic is not an object")
            role = CHARACTERISTIC_ROLES.get(str(item.get("name", "")).strip().lower())
            if role:
                roles[role] = item.get("value")
        sellable = kind == "variant" or (kind == "product" and not data.get("variantsCount"))
        return {**data, "kind": kind, "barcodes": barcodes, "characteristics": roles,
                "sellable": sellable, "product_id": _meta_id(data.get("product"))}
