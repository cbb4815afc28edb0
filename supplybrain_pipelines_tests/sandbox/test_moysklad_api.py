"""The MoySklad 1.2 emulator over real HTTP: gzip requirement, bearer auth, nextHref paging,
expand (ignored above limit 100), filter updated>=, assortment, stock report and the weighted
45-units-per-3-s rate limit."""

from __future__ import annotations

import time

import httpx
import pytest

from supplybrain_pipelines.sandbox.server import SandboxServer
from supplybrain_pipelines_tests.sandbox.conftest import ms_headers

ORDERS = "/entity/customerorder"
STOCK = "/report/stock/bystore/current"


@pytest.fixture
def ms(sandbox: SandboxServer, business):
    with httpx.Client(base_url=sandbox.moysklad_base_url, headers=ms_headers(business),
                      timeout=10) as client:
        yield client


def test_415_with_empty_body_without_gzip_and_gzip_when_asked(sandbox, business):
    token = {"Authorization": f"Bearer {business.moysklad_accounts[0].token}"}
    with httpx.Client(base_url=sandbox.moysklad_base_url) as client:
        refused = client.get(ORDERS, headers={**token, "Accept-Encoding": "identity"})
        assert refused.status_code == 415 and refused.content == b""
        served = client.get(ORDERS, headers={**token, "Accept-Encoding": "gzip"})
        assert served.status_code == 200
        assert served.headers["content-encoding"] == "gzip"
        assert served.json()["meta"]["size"] == len(business.ms_customer_orders)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic dXNlcjpwYXNz", "raw"])
def test_401_without_a_valid_bearer_token(sandbox, business, authorization):
    headers = {"Accept-Encoding": "gzip"}
    if authorization == "raw":
        authorization = business.moysklad_accounts[0].token  # MoySklad needs "Bearer "
    if authorization:
        headers["Authorization"] = authorization
    response = httpx.get(sandbox.moysklad_base_url + ORDERS, headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == 1056


def test_next_href_paging_reaches_every_order_once(ms, sandbox, business):
    url, ids, pages = f"{sandbox.moysklad_base_url}{ORDERS}?limit=100", [], []
    while url:
        body = ms.get(url).json()
        pages.append(body["meta"])
        ids += [row["id"] for row in body["rows"]]
        url = body["meta"].get("nextHref")
    assert ids == [o["id"] for o in business.ms_customer_orders]
    assert all(m["size"] == len(ids) and m["limit"] == 100 for m in pages)
    assert [m["offset"] for m in pages] == list(range(0, len(ids), 100))
    assert "nextHref" not in pages[-1] and "previousHref" in pages[-1]
    assert pages[0]["nextHref"].startswith(sandbox.moysklad_base_url)
    stats = sandbox.stats()[("moysklad", "/api/remap/1.2" + ORDERS, "maconly-moysklad")]
    assert stats["requests"] == len(pages) and stats["distinct"] == len(ids)


def test_expand_is_ignored_above_limit_100(ms, sandbox, business):
    expanded = ms.get(ORDERS, params={"limit": 100, "expand": "positions.assortment"}).json()
    ignored = ms.get(ORDERS, params={"limit": 101, "expand": "positions.assortment"}).json()
    plain = ms.get(ORDERS, params={"limit": 5}).json()
    first = expanded["rows"][0]["positions"]
    assert first["meta"]["size"] == len(first["rows"]) >= 1
    item = first["rows"][0]["assortment"]
    assert item["id"] and item["name"] and item["meta"]["href"].startswith(sandbox.url)
    assert "characteristics" in item or item["meta"]["type"] == "product"
    for body in (ignored, plain):
        positions = body["rows"][0]["positions"]
        assert "rows" not in positions and positions["meta"]["size"] >= 1
    shallow = ms.get(ORDERS, params={"limit": 3, "expand": "positions"}).json()
    assert set(shallow["rows"][0]["positions"]["rows"][0]["assortment"]) == {"meta"}


def test_filter_updated_since(ms, business):
    since = business.ms_customer_orders[len(business.ms_customer_orders) // 2]["updated"][:19]
    expected = [o["id"] for o in business.ms_customer_orders if o["updated"] >= since]
    body = ms.get(ORDERS, params={"filter": f"updated>={since}"}).json()
    assert [r["id"] for r in body["rows"]] == expected and body["meta"]["size"] == len(expected)
    until = business.ms_customer_orders[-5]["updated"]
    window = ms.get(ORDERS, params={"filter": f"updated>={since};updated<{until}"}).json()
    assert window["meta"]["size"] == len(expected) - 5
    for bad in ("updated>=yesterday", "colour=red", "updated~2026"):
        response = ms.get(ORDERS, params={"filter": bad})
        assert response.status_code == 400 and response.json()["errors"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1},
                                    {"limit": "many"}])
def test_limit_and_offset_bounds(ms, params):
    response = ms.get(ORDERS, params=params)
    assert response.status_code == 400 and response.json()["errors"][0]["error"]


def test_order_positions_endpoint(ms, business):
    order = business.ms_customer_orders[0]
    body = ms.get(f"{ORDERS}/{order['id']}/positions", params={"expand": "assortment",
                                                                "limit": 100}).json()
    assert [p["id"] for p in body["rows"]] == [p["id"] for p in order["positions"]["rows"]]
    assert all("name" in p["assortment"] for p in body["rows"])
    missing = ms.get(f"{ORDERS}/00000000-0000-4000-8000-000000000000/positions")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == 1021


def test_assortment_pages_and_barcodes(ms, sandbox, business):
    rows, url = [], f"{sandbox.moysklad_base_url}/entity/assortment?limit=150"
    while url:
        body = ms.get(url).json()
        rows += body["rows"]
        url = body["meta"].get("nextHref")
    assert [r["id"] for r in rows] == [r["id"] for r in business.ms_assortment]
    variants = [r for r in rows if r["meta"]["type"] == "variant"]
    assert sum("barcodes" not in v for v in variants) == 3
    assert all(r["meta"]["href"].startswith(sandbox.moysklad_base_url) for r in rows)
    products = ms.get("/entity/assortment", params={"filter": "type=product"}).json()
    assert products["meta"]["size"] == len(business.articles) + 1
    assert all(r["article"] for r in products["rows"])


def test_stock_by_store_current(ms, business):
    lines = ms.get(STOCK).json()
    assert lines == business.ms_stock_by_store
    with_zeros = ms.get(STOCK, params={"include": "zeroLines"}).json()
    assert with_zeros == business.ms_stock_lines
    one = business.ms_stock_by_store[0]["assortmentId"]
    assert ms.get(STOCK, params={"filter": f"assortmentId={one}"}).json() == [
        business.ms_stock_by_store[0]]
    totals = ms.get("/report/stock/all/current").json()
    assert {x["assortmentId"]: x["stock"] for x in totals} == {
        x["assortmentId"]: x["stock"] for x in lines}


def test_weighted_rate_limit_45_units_per_3_s(ms, sandbox):
    for expected_remaining in range(40, -1, -5):  # report/stock costs 5 units
        response = ms.get(STOCK)
        assert response.status_code == 200
        assert int(response.headers["X-RateLimit-Remaining"]) == expected_remaining
    limited = ms.get(STOCK)
    assert limited.status_code == 429
    assert 0 < int(limited.headers["X-Lognex-Retry-After"]) <= 3000
    assert limited.json()["errors"][0]["code"] == 1049
    assert ms.get(ORDERS, params={"limit": 1}).status_code == 429  # the budget is per token


def test_rate_limit_recovers_after_retry_after(business):
    with SandboxServer(business, ms_units_per_window=10, ms_window_s=0.5) as sandbox, \
            httpx.Client(base_url=sandbox.moysklad_base_url, headers=ms_headers(business)) as ms:
        assert [ms.get(ORDERS, params={"limit": 1}).status_code for _ in range(10)] == [200] * 10
        limited = ms.get(STOCK)  # 5 more units than the window holds
        assert limited.status_code == 429
        wait_ms = int(limited.headers["X-Lognex-Retry-After"])
        assert 0 < wait_ms <= 500
        time.sleep(wait_ms / 1000 + 0.02)
        assert ms.get(STOCK).status_code == 200
