"""The WB statistics emulator over real HTTP: dateFrom/flag semantics, paging by
lastChangeDate, auth, per-method rate limit, account isolation, stats and the access log."""

from __future__ import annotations

import logging
from collections import Counter

import httpx
import pytest

from supplybrain_pipelines.sandbox.server import SandboxServer
from supplybrain_pipelines_tests.sandbox.conftest import wb_headers

ORDERS = "/api/v1/supplier/orders"
KEYS = {"orders": lambda r: r["srid"], "sales": lambda r: r["saleID"],
        "stocks": lambda r: (r["warehouseName"], r["barcode"])}


def follow_cursor(client: httpx.Client, method: str, headers: dict, date_from: str
                  ) -> tuple[dict, int, list[dict]]:
    """Page the way a WB client does: next dateFrom = the last row's lastChangeDate; stop on
    an empty page or when a page brings nothing new. Returns rows by key, pages, all rows."""
    key, seen, every, pages = KEYS[method], {}, [], 0
    while True:
        response = client.get(f"/api/v1/supplier/{method}", headers=headers,
                              params={"dateFrom": date_from, "flag": 0})
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        every += page
        new = [r for r in page if key(r) not in seen]
        seen.update((key(r), r) for r in page)
        if not page or not new:
            return seen, pages, every
        date_from = page[-1]["lastChangeDate"]


@pytest.mark.parametrize("method", ["orders", "sales", "stocks"])
def test_paging_by_last_change_date_reaches_every_row_once(business, method):
    source = {"orders": business.wb_orders_by_account, "sales": business.wb_sales_by_account,
              "stocks": business.wb_stocks_by_account}[method]
    account = business.wb_accounts[1].name
    expected = source[account]
    cap = 400
    with SandboxServer(business, page_cap=cap) as sandbox, \
            httpx.Client(base_url=sandbox.url, timeout=10) as client:
        seen, pages, every = follow_cursor(client, method, wb_headers(business, 1), "2020-01-01")
        stats = sandbox.stats()[("wb", f"/api/v1/supplier/{method}", account)]
    key = KEYS[method]
    assert len(seen) == len(expected)
    assert list(seen.values()) == expected, "every row once, in lastChangeDate order"
    assert pages >= -(-len(expected) // cap)
    repeated = [k for k, n in Counter(key(r) for r in every).items() if n > 1]
    boundaries = {r["lastChangeDate"] for r in every if key(r) in repeated}
    assert len(boundaries) <= pages, "only rows at a page boundary come twice"
    assert stats["requests"] == pages and stats["records"] == len(every)
    assert stats["distinct"] == len(expected)


def test_date_from_is_moscow_time_unless_zoned(http, business):
    headers = wb_headers(business)
    naive = http.get(ORDERS, headers=headers, params={"dateFrom": "2026-05-01T00:00:00"}).json()
    utc = http.get(ORDERS, headers=headers, params={"dateFrom": "2026-04-30T21:00:00Z"}).json()
    offset = http.get(ORDERS, headers=headers,
                      params={"dateFrom": "2026-05-01T00:00:00+03:00"}).json()
    day = http.get(ORDERS, headers=headers, params={"dateFrom": "2026-05-01"}).json()
    fraction = http.get(ORDERS, headers=headers,
                        params={"dateFrom": "2026-04-30T23:59:59.12345"}).json()
    assert naive == utc == offset == day and naive
    assert naive[0]["lastChangeDate"] >= "2026-05-01T00:00:00"
    rows = business.wb_orders_by_account[business.wb_accounts[0].name]
    assert naive == [r for r in rows if r["lastChangeDate"] >= "2026-05-01T00:00:00"][:1000]
    assert fraction[0]["lastChangeDate"] > "2026-04-30T23:59:59"


def test_flag_1_returns_one_calendar_day_without_cap(business):
    account = business.wb_accounts[1].name
    rows = business.wb_orders_by_account[account]
    busiest = Counter(r["date"][:10] for r in rows).most_common(1)[0][0]
    expected = sorted((r for r in rows if r["date"].startswith(busiest)),
                      key=lambda r: (r["date"], r["lastChangeDate"], r["srid"]))
    cap = 20
    assert len(expected) > cap
    with SandboxServer(business, page_cap=cap) as sandbox, \
            httpx.Client(base_url=sandbox.url) as client:
        day = client.get(ORDERS, headers=wb_headers(business, 1),
                         params={"dateFrom": f"{busiest}T17:45:00", "flag": 1}).json()
        capped = client.get(ORDERS, headers=wb_headers(business, 1),
                            params={"dateFrom": busiest, "flag": 0}).json()
    assert {r["srid"] for r in day} == {r["srid"] for r in expected}
    assert len(day) == len(expected) and all(r["date"].startswith(busiest) for r in day)
    assert len(capped) == cap


@pytest.mark.parametrize("params, detail", [
    ({}, "dateFrom is required"),
    ({"dateFrom": "yesterday"}, "not an RFC3339"),
    ({"dateFrom": "2026-02-30"}, "not an RFC3339"),
    ({"dateFrom": "2026-05-01", "flag": "2"}, "flag must be 0 or 1"),
])
def test_bad_parameters_are_400_problem_json(http, business, params, detail):
    response = http.get(ORDERS, headers=wb_headers(business), params=params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 400 and detail in body["detail"] and body["requestId"]


def test_token_raw_or_bearer_and_401_otherwise(http, business):
    token = business.wb_accounts[0].token
    params = {"dateFrom": "2026-05-10"}
    assert http.get(ORDERS, params=params, headers={"Authorization": token}).status_code == 200
    bearer = http.get(ORDERS, params=params, headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 200
    for headers in ({}, {"Authorization": token[:-3] + "abc"},
                    {"Authorization": business.moysklad_accounts[0].token}):
        response = http.get(ORDERS, params=params, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["title"] == "unauthorized"


def test_each_account_sees_only_its_own_rows(http, business):
    seen = {}
    for index, account in enumerate(business.wb_accounts):
        rows = http.get("/api/v1/supplier/stocks", headers=wb_headers(business, index),
                        params={"dateFrom": "2020-01-01"}).json()
        seen[account.name] = {r["barcode"] for r in rows}
        own = {b.barcode for b in business.wb_barcodes if b.account == account.name}
        assert seen[account.name] <= own and len(rows) == len(
            business.wb_stocks_by_account[account.name])
    first, second = seen.values()
    assert not first & second


def test_rate_limit_per_token_and_method_answers_429_with_retry_header(business):
    with SandboxServer(business, wb_min_interval_s=5) as sandbox, \
            httpx.Client(base_url=sandbox.url) as client:
        params = {"dateFrom": "2026-05-14"}
        assert client.get(ORDERS, headers=wb_headers(business), params=params).status_code == 200
        limited = client.get(ORDERS, headers=wb_headers(business), params=params)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["X-Ratelimit-Retry"]) <= 5
        assert limited.headers["content-type"].startswith("application/problem+json")
        # Another method, and another account's token, have their own budgets.
        sales = client.get("/api/v1/supplier/sales", headers=wb_headers(business), params=params)
        other = client.get(ORDERS, headers=wb_headers(business, 1), params=params)
        assert sales.status_code == other.status_code == 200
        stats = sandbox.stats()[("wb", ORDERS, business.wb_accounts[0].name)]
    assert stats["statuses"] == {200: 1, 429: 1}


def test_access_log_has_method_path_status_and_never_a_token(http, business, caplog):
    caplog.set_level(logging.DEBUG)
    token = business.wb_accounts[0].token
    http.get(ORDERS, headers={"Authorization": token}, params={"dateFrom": "2026-05-14"})
    http.get(ORDERS, headers={"Authorization": token + "x"}, params={"dateFrom": "2026-05-14"})
    access = [r.getMessage() for r in caplog.records
              if r.name == "supplybrain_pipelines.sandbox.access"]
    assert f"GET {ORDERS} 200" in access and f"GET {ORDERS} 401" in access
    everything = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert token not in everything and token[-20:] not in everything
