"""The fast path of WB order and sale validation decides exactly as the pydantic models do.

``check_page`` must keep the same rows with the same values (types included) and reject the
same records with the same reasons in the same order as ``validate_page``. The corpus of bad
kinds is checked kind by kind; a seeded fuzzer mutates good records field by field and compares
the two on every page.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from supplybrain_pipelines.logic.records import WbOrder, WbSale, validate_page
from supplybrain_pipelines.logic.records_fast import (
    FAST_ORDERS,
    FAST_SALES,
    check_page,
    fast_utc,
)
from supplybrain_pipelines.logic.timeutil import parse_marketplace_time
from supplybrain_pipelines_tests.logic.test_records import CORPUS, ORDER, SALE

SPECS = {WbOrder: FAST_ORDERS, WbSale: FAST_SALES}


def _same_value(fast, slow) -> bool:
    if isinstance(slow, Decimal):
        return type(fast) is Decimal and str(fast) == str(slow)
    if isinstance(slow, datetime):
        return fast == slow and fast.tzinfo is UTC and slow.utcoffset() == timedelta(0)
    return type(fast) is type(slow) and fast == slow


def assert_same_as_the_model(records, model, tail=(7,)):
    spec = SPECS[model]
    page = check_page(records, spec, tail)
    rows, rejected = validate_page(records, model, key=lambda r: getattr(r, spec.key),
                                   version=lambda r: getattr(r, spec.version))
    assert [(r.record, r.reason_code, r.reason) for r in page.rejected] == \
        [(r.record, r.reason_code, r.reason) for r in rejected]
    assert len(page.rows) == len(rows)
    for got, want, raw in zip(page.rows, rows, page.versions_raw, strict=True):
        expected = tuple(getattr(want, name) for name in spec.fields) + tail
        assert len(got) == len(expected)
        for name, a, b in zip((*spec.fields, "tail"), got, expected, strict=False):
            assert _same_value(a, b), (name, a, b)
        assert raw == getattr(want, spec.version_raw)
    return page


@pytest.mark.parametrize(("kind", "model", "bad", "code", "field"),
                         [case for case in CORPUS if case[1] in SPECS],
                         ids=[case[0] for case in CORPUS if case[1] in SPECS])
def test_each_bad_kind_is_rejected_as_the_model_rejects_it(kind, model, bad, code, field):
    good = {WbOrder: ORDER, WbSale: SALE}[model]
    others = [{**good, "srid": f"other-{n}", "saleID": f"S{n:05d}"} for n in range(2)]
    page = assert_same_as_the_model([others[0], bad, others[1]], model)
    assert [r.reason_code for r in page.rejected] == [code]
    assert page.rejected[0].reason.startswith(field)
    assert len(page.rows) == 2


def test_well_formed_records_take_the_fast_path():
    orders = [{**ORDER, "srid": f"s-{n}", "totalPrice": n * 10.5, "priceWithDisc": n,
               "finishedPrice": None} for n in range(200)]
    sales = [{**SALE, "saleID": f"R{n:06d}", "forPay": -n * 0.333} for n in range(200)]
    assert assert_same_as_the_model(orders, WbOrder).slow == 0
    assert assert_same_as_the_model(sales, WbSale).slow == 0


def test_duplicates_in_a_page_keep_the_newest_and_reject_the_rest_in_order():
    newer = {**ORDER, "lastChangeDate": "2026-03-08T00:00:00", "isCancel": True,
             "cancelDate": "2026-03-08T00:00:00"}
    same_time = {**ORDER, "gNumber": "tie"}
    slow_newest = {**newer, "lastChangeDate": "2026-03-09T00:00:00+03:00"}  # slow path
    page = assert_same_as_the_model([ORDER, newer, same_time, slow_newest, ORDER], WbOrder)
    assert [r.reason_code for r in page.rejected] == ["stale_duplicate"] * 4
    assert page.slow == 1
    assert page.versions_raw == ["2026-03-09T00:00:00+03:00"]


def test_a_record_named_by_field_names_goes_to_the_model():
    # populate_by_name: pydantic also reads a field under its Python name
    by_name = {k: v for k, v in ORDER.items() if k != "techSize"} | {"tech_size": 48}
    page = assert_same_as_the_model([by_name], WbOrder)
    assert page.rejected[0].reason_code == "wrong_type"
    renamed = {k: v for k, v in ORDER.items() if k != "gNumber"} | {"g_number": "x"}
    page = assert_same_as_the_model([renamed], WbOrder)
    assert page.slow == 1 and page.rows[0][-2] == "x"


@pytest.mark.parametrize("text", [
    "2026-03-04T18:08:31", "2026-03-04 18:08:31.123", "2026-03-04T18:08:31.5", "2026-03-04",
    "2026-03-04T18:08:31Z", "2026-03-04T18:08:31+05:00", " 2026-03-04T18:08:31",
    "2026-03-04T18:08:31 ", "20260304T180831", "2026-03-04T18", "0001-01-01T00:00:00",
    "2011-03-27T02:30:00", "2010-10-31T02:30:00", "2014-10-26T01:30:00", "1995-07-01T12:00:00",
    "", "soon", "04.03.2026", "2026-13-01T00:00:00", "2026-03-04T18:08:31+00:00+00:00",
])
def test_fast_utc_is_parse_marketplace_time_or_unsure(text):
    fast = fast_utc(text)
    if fast is None:
        return
    assert fast == parse_marketplace_time(text)
    assert fast.tzinfo is UTC


def test_fast_utc_agrees_across_moscow_offset_changes():
    rng = random.Random(3)
    start = datetime(1991, 1, 1)
    moments = [start + timedelta(seconds=rng.randrange(40 * 365 * 86400)) for _ in range(5000)]
    for day in ("2010-03-28", "2010-10-31", "2011-03-27", "2014-10-26"):
        base = datetime.fromisoformat(day)
        moments += [base + timedelta(minutes=m) for m in range(0, 6 * 60, 7)]
    for moment in moments:
        for text in (moment.isoformat(), moment.isoformat(sep=" ", timespec="milliseconds")):
            assert fast_utc(text) == parse_marketplace_time(text), text


# -- the fuzzer -----------------------------------------------------------------------------
_FUTURE = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S")
_TIMES = ["2026-03-04T18:08:31", "2026-03-04 18:08:31.250", "2026-03-04T18:08:31Z",
          "2026-03-04T18:08:31+03:00", "2026-03-06", " 2026-03-04T18:08:31", "0001-01-01T00:00:00",
          "2014-10-26T01:30:00", "2026-03-09T00:00:00", _FUTURE, "", "never", 1709565000, None]
_NUMBERS = [0, 0.0, -0.0, 1887, 1547.5, 1145.3, 0.05, 0.3 + 0.6, 99999999999.99, 10 ** 12,
            1e12, 123456789012.5, 1e-05, 1e20, -5, -0.01, float("inf"), float("nan"), True,
            "1887", None, 12.345, 2 ** 70]
_TEXTS = ["MC-1001", "", "Коледино", "a" * 201, 42, None, True, "2037401340280", "ab-CD-09",
          "---", "2037 4013", "Штрихкод", "x" * 65, "S9993700024", "R1", "X123", "S"]
_MUTABLE = {
    WbOrder: {"srid": _TEXTS, "date": _TIMES, "lastChangeDate": _TIMES, "barcode": _TEXTS,
              "supplierArticle": _TEXTS, "techSize": _TEXTS, "nmId": _NUMBERS + _TEXTS,
              "warehouseName": _TEXTS, "totalPrice": _NUMBERS, "priceWithDisc": _NUMBERS,
              "finishedPrice": _NUMBERS, "isCancel": [True, False, "true", 0, None],
              "cancelDate": _TIMES, "gNumber": _TEXTS},
    WbSale: {"saleID": _TEXTS, "srid": _TEXTS, "date": _TIMES, "lastChangeDate": _TIMES,
             "barcode": _TEXTS, "warehouseName": _TEXTS, "forPay": _NUMBERS,
             "finishedPrice": _NUMBERS},
}
_BY_NAME = {"techSize": "tech_size", "priceWithDisc": "price_with_disc", "cancelDate":
            "cancel_date", "forPay": "for_pay", "lastChangeDate": "last_change_raw"}


def _mutant(rng: random.Random, base: dict, model) -> object:
    record = dict(base)
    for _ in range(rng.choice((1, 1, 2, 3))):
        name = rng.choice(list(_MUTABLE[model]))
        roll = rng.random()
        if roll < 0.1:
            record.pop(name, None)
        elif roll < 0.15 and name in _BY_NAME:
            record[_BY_NAME[name]] = record.pop(name, None)
        else:
            record[name] = rng.choice(_MUTABLE[model][name])
    if rng.random() < 0.3:  # share keys so that duplicates meet in a page
        for key in ("srid", "saleID"):
            if isinstance(record.get(key), str) and record[key]:
                record[key] = record[key][:1] + str(rng.randrange(4))
    return record if rng.random() > 0.02 else [record]


@pytest.mark.parametrize("model", [WbOrder, WbSale], ids=["orders", "sales"])
def test_fuzzed_pages_are_judged_as_the_model_judges_them(model):
    rng = random.Random(20261126)
    base = {WbOrder: ORDER, WbSale: SALE}[model]
    for _ in range(150):
        page = [_mutant(rng, base, model) for _ in range(rng.randrange(1, 30))]
        assert_same_as_the_model(page, model)
