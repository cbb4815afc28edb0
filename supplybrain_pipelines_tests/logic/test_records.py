"""The bad-record corpus: every kind is rejected with a reason, every good row is kept."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from supplybrain_pipelines.logic.records import (
    MsOrder,
    MsStock,
    WbOrder,
    WbSale,
    WbStock,
    validate_page,
)
from supplybrain_pipelines.logic.timeutil import parse_marketplace_time, wb_query_time

ORDER = {"srid": "11.rf9ef11fce.3.0", "date": "2026-03-04T18:08:31",
         "lastChangeDate": "2026-03-06T10:11:07", "barcode": "2037401340280",
         "supplierArticle": "MC-1001", "techSize": "M", "nmId": 1439871458,
         "warehouseName": "Коледино", "totalPrice": 1887, "priceWithDisc": 1547.5,
         "finishedPrice": 1145, "isCancel": False, "cancelDate": "0001-01-01T00:00:00",
         "gNumber": "3434346221857256"}
SALE = {"saleID": "S9993700024", "srid": "11.rf9ef11fce.3.0", "date": "2026-03-07T10:00:00",
        "lastChangeDate": "2026-03-07T12:00:00", "barcode": "2037401340280",
        "warehouseName": "Коледино", "forPay": 1100.25, "finishedPrice": 1145}
STOCK = {"lastChangeDate": "2026-03-05T11:13:35", "warehouseName": "Краснодар",
         "barcode": "2037401340280", "quantity": 33, "inWayToClient": 1, "inWayFromClient": 0,
         "quantityFull": 34}
MS_ORDER = {"id": "0b1e6c1e-0000-11ef-0a80-000000000001", "name": "00017",
            "moment": "2026-03-04 18:08:31.000", "updated": "2026-03-05 09:00:00.123",
            "applicable": True,
            "positions": {"meta": {"size": 1}, "rows": [
                {"id": "pos-1", "quantity": 2, "price": 150000,
                 "assortment": {"meta": {"href": "https://x/entity/variant/var-7",
                                         "type": "variant"}}}]}}
MS_STOCK = {"assortmentId": "var-7", "storeId": "store-1", "stock": 11}


def without(record: dict, field: str) -> dict:
    return {k: v for k, v in record.items() if k != field}


def with_(record: dict, **changes) -> dict:
    return {**record, **changes}


def position(**changes) -> dict:
    row = {**MS_ORDER["positions"]["rows"][0], **changes}
    return {**MS_ORDER, "positions": {"meta": {}, "rows": [row]}}


CORPUS = [
    # (kind, model, bad record, reason code, field named in the reason)
    ("order not an object", WbOrder, ["srid", "x"], "not_an_object", "record"),
    ("order without srid", WbOrder, without(ORDER, "srid"), "missing_field", "srid"),
    ("order srid null", WbOrder, with_(ORDER, srid=None), "wrong_type", "srid"),
    ("order srid empty", WbOrder, with_(ORDER, srid=""), "invalid_value", "srid"),
    ("order srid a number", WbOrder, with_(ORDER, srid=42), "wrong_type", "srid"),
    ("order without date", WbOrder, without(ORDER, "date"), "missing_field", "date"),
    ("order date unparseable", WbOrder, with_(ORDER, date="04.03.2026"), "bad_date", "date"),
    ("order date a number", WbOrder, with_(ORDER, date=1709565000), "bad_date", "date"),
    ("order date before year 1 in UTC", WbOrder, with_(ORDER, date="0001-01-01T00:00:00"),
     "bad_date", "date"),
    ("order without lastChangeDate", WbOrder, without(ORDER, "lastChangeDate"),
     "missing_field", "lastChangeDate"),
    ("order lastChangeDate garbage", WbOrder, with_(ORDER, lastChangeDate="soon"), "bad_date",
     "lastChangeDate"),
    ("order changed before it was placed", WbOrder,
     with_(ORDER, lastChangeDate="2026-03-01T00:00:00"), "invalid_value", "record"),
    ("order without barcode", WbOrder, without(ORDER, "barcode"), "missing_field", "barcode"),
    ("order barcode a number", WbOrder, with_(ORDER, barcode=2037401340280), "wrong_type",
     "barcode"),
    ("order barcode with spaces", WbOrder, with_(ORDER, barcode="2037 4013"), "invalid_value",
     "barcode"),
    ("order price a string", WbOrder, with_(ORDER, totalPrice="1887"), "wrong_type",
     "totalPrice"),
    ("order negative price", WbOrder, with_(ORDER, totalPrice=-5), "negative_value",
     "totalPrice"),
    ("order isCancel a string", WbOrder, with_(ORDER, isCancel="true"), "wrong_type",
     "isCancel"),
    ("order cancelDate garbage", WbOrder, with_(ORDER, isCancel=True, cancelDate="never"),
     "bad_date", "cancelDate"),
    ("order nmId a string", WbOrder, with_(ORDER, nmId="1439871458"), "wrong_type", "nmId"),
    ("sale without saleID", WbSale, without(SALE, "saleID"), "missing_field", "saleID"),
    ("sale unknown saleID prefix", WbSale, with_(SALE, saleID="X123"), "invalid_value",
     "saleID"),
    ("sale forPay a string", WbSale, with_(SALE, forPay="1100"), "wrong_type", "forPay"),
    ("stock negative quantity", WbStock, with_(STOCK, quantity=-3), "negative_value",
     "quantity"),
    ("stock fractional quantity", WbStock, with_(STOCK, quantity=1.5), "wrong_type",
     "quantity"),
    ("stock without warehouse", WbStock, without(STOCK, "warehouseName"), "missing_field",
     "warehouseName"),
    ("ms order positions not expanded", MsOrder,
     with_(MS_ORDER, positions={"meta": {"href": "…"}}), "invalid_value", "record"),
    ("ms position negative quantity", MsOrder, position(quantity=-1), "negative_value",
     "positions"),
    ("ms position without assortment", MsOrder, position(assortment=None), "wrong_type",
     "positions"),
    ("ms order moment garbage", MsOrder, with_(MS_ORDER, moment="yesterday"), "bad_date",
     "moment"),
    ("ms stock a string", MsStock, with_(MS_STOCK, stock="11"), "wrong_type", "stock"),
    ("ms stock without store", MsStock, without(MS_STOCK, "storeId"), "missing_field",
     "storeId"),
]


def test_corpus_has_at_least_25_kinds():
    assert len({kind for kind, *_ in CORPUS}) >= 25


@pytest.mark.parametrize(("kind", "model", "bad", "code", "field"), CORPUS,
                         ids=[kind for kind, *_ in CORPUS])
def test_each_bad_kind_is_rejected_and_the_good_rows_are_kept(kind, model, bad, code, field):
    good = {WbOrder: ORDER, WbSale: SALE, WbStock: STOCK, MsOrder: MS_ORDER,
            MsStock: MS_STOCK}[model]
    rows, rejected = validate_page([good, bad, good], model)
    assert len(rows) == 2
    assert [r.record for r in rejected] == [bad]
    assert rejected[0].reason_code == code, rejected[0].reason
    assert rejected[0].reason.startswith(field), rejected[0].reason


def test_a_stale_duplicate_in_one_page_keeps_the_newest():
    newer = with_(ORDER, lastChangeDate="2026-03-08T00:00:00", isCancel=True,
                  cancelDate="2026-03-08T00:00:00")
    rows, rejected = validate_page([newer, ORDER], WbOrder, key=lambda r: r.srid,
                                   version=lambda r: r.last_change)
    assert [r.is_cancel for r in rows] == [True]
    assert [r.reason_code for r in rejected] == ["stale_duplicate"]


def test_good_rows_are_typed_and_converted_from_moscow_to_utc():
    (order,), _ = validate_page([ORDER], WbOrder)
    assert order.date == datetime(2026, 3, 4, 15, 8, 31, tzinfo=UTC)
    assert order.last_change_raw == "2026-03-06T10:11:07"
    assert order.cancel_date is None
    assert order.price_with_disc == Decimal("1547.5")
    (ms,), _ = validate_page([MS_ORDER], MsOrder)
    assert ms.positions[0].assortment_id == "var-7"
    assert ms.moment == datetime(2026, 3, 4, 15, 8, 31, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-03-04T18:08:31", datetime(2026, 3, 4, 15, 8, 31, tzinfo=UTC)),
    ("2026-03-04T18:08:31Z", datetime(2026, 3, 4, 18, 8, 31, tzinfo=UTC)),
    ("2026-03-04T18:08:31+05:00", datetime(2026, 3, 4, 13, 8, 31, tzinfo=UTC)),
    ("2026-03-04 00:30:00.500", datetime(2026, 3, 3, 21, 30, 0, 500000, tzinfo=UTC)),
    ("2026-03-04", datetime(2026, 3, 3, 21, 0, tzinfo=UTC)),
])
def test_moscow_times_convert_to_utc(raw, expected):
    assert parse_marketplace_time(raw) == expected


def test_query_times_are_naive_moscow():
    assert wb_query_time(datetime(2026, 3, 4, 21, 30, tzinfo=UTC)) == "2026-03-05T00:30:00"
