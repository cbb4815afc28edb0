"""Fault modes switched on at run time, in process and over HTTP: 5xx, slow answers, hangs
past a client timeout, truncated JSON, forced 429, malformed records (tagged) and a 401 for one
chosen account."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from supplybrain_pipelines.sandbox.malformed import KINDS, TAG, kinds_for
from supplybrain_pipelines_tests.sandbox.conftest import ms_headers, wb_headers

ORDERS = "/api/v1/supplier/orders"
SALES = "/api/v1/supplier/sales"
MS_ORDERS = "/api/remap/1.2/entity/customerorder"
DAY = {"dateFrom": "2026-05-10"}


def wb(http, business, path=ORDERS, index=0, **params):
    return http.get(path, headers=wb_headers(business, index), params={**DAY, **params})


def ms(http, business, path=MS_ORDERS, **params):
    return http.get(path, headers=ms_headers(business), params=params)


def test_fail_next_per_api_and_path(http, sandbox, business):
    sandbox.faults.fail_next(2, status=503, api="wb", path=SALES)
    assert wb(http, business).status_code == 200  # other path
    assert ms(http, business, path=MS_ORDERS.replace("customerorder", "assortment"),
              limit=1).status_code == 200  # other API
    failed = [wb(http, business, SALES) for _ in range(2)]
    assert [r.status_code for r in failed] == [503, 503]
    assert failed[0].headers["content-type"].startswith("application/problem+json")
    assert wb(http, business, SALES).status_code == 200
    sandbox.faults.fail_next(1, status=500, api="moysklad")
    broken = ms(http, business, limit=1)
    assert broken.status_code == 500 and broken.json()["errors"]
    assert ms(http, business, limit=1).status_code == 200
    with pytest.raises(ValueError):
        sandbox.faults.fail_next(1, status=200)


def test_slow_delays_every_answer_until_turned_off(http, sandbox, business):
    sandbox.faults.slow(0.3, api="wb")
    started = time.monotonic()
    assert wb(http, business).status_code == 200
    assert time.monotonic() - started >= 0.3
    sandbox.faults.slow(0, api="wb")
    started = time.monotonic()
    wb(http, business)
    assert time.monotonic() - started < 0.3


def test_hang_next_outlasts_the_client_timeout_then_recovers(http, sandbox, business):
    sandbox.faults.hang_next(1, seconds=20, api="moysklad")
    with pytest.raises(httpx.ReadTimeout):
        http.get(MS_ORDERS, headers=ms_headers(business), params={"limit": 1}, timeout=0.4)
    started = time.monotonic()
    assert ms(http, business, limit=1).status_code == 200
    assert time.monotonic() - started < 1
    sandbox.faults.hang_next(1, seconds=20, api="wb")
    with pytest.raises(httpx.ReadTimeout):
        http.get(ORDERS, headers=wb_headers(business), params=DAY, timeout=0.3)
    # Leaving the fixture stops the server at once, not after the 20 s hang.


def test_truncate_next_is_200_with_broken_json(http, sandbox, business):
    sandbox.faults.truncate_next(1, api="wb")
    sandbox.faults.truncate_next(1, api="moysklad")
    for response in (wb(http, business), ms(http, business, limit=3)):
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)
    assert isinstance(wb(http, business).json(), list)
    assert ms(http, business, limit=3).json()["rows"]
    stats = sandbox.stats()[("wb", ORDERS, business.wb_accounts[0].name)]
    assert stats["truncated"] == 1 and stats["requests"] == 2


def test_rate_limit_next_sends_each_api_its_header(http, sandbox, business):
    sandbox.faults.rate_limit_next(1, retry_after_s=2, api="wb")
    sandbox.faults.rate_limit_next(1, retry_after_s=1.5, api="moysklad")
    limited = wb(http, business)
    assert limited.status_code == 429 and limited.headers["X-Ratelimit-Retry"] == "2"
    limited = ms(http, business, limit=1)
    assert limited.status_code == 429 and limited.headers["X-Lognex-Retry-After"] == "1500"
    assert wb(http, business).status_code == ms(http, business, limit=1).status_code == 200


@pytest.mark.parametrize("path, endpoint", [(ORDERS, "wb.orders"), (SALES, "wb.sales"),
                                            ("/api/v1/supplier/stocks", "wb.stocks")])
def test_malformed_records_are_tagged_and_good_rows_kept(http, sandbox, business, path,
                                                         endpoint):
    clean = wb(http, business, path, dateFrom="2026-05-01").json()
    sandbox.faults.malformed("all", api="wb")
    page = wb(http, business, path, dateFrom="2026-05-01").json()
    tags = [r[TAG] if isinstance(r, dict) else r.split(":", 1)[1]
            for r in page if isinstance(r, str) or TAG in r]
    assert sorted(tags) == sorted(kinds_for(endpoint)) and len(tags) >= 10
    assert [r for r in page if isinstance(r, dict) and TAG not in r] == clean
    assert isinstance(page[-1], dict) and TAG not in page[-1], "the cursor row stays good"
    assert sandbox.faults.injected_counts("wb") == dict.fromkeys(tags, 1)
    stats = sandbox.stats()[("wb", path, business.wb_accounts[0].name)]
    assert stats["malformed"] == len(tags) and stats["records"] == 2 * len(clean)


def test_malformed_kinds_can_be_chosen_and_reset(http, sandbox, business):
    sandbox.faults.malformed({"missing_srid", "barcode_int"}, path=ORDERS)
    page = wb(http, business).json()
    bad = {r[TAG]: r for r in page if isinstance(r, dict) and TAG in r}
    assert set(bad) == {"missing_srid", "barcode_int"}
    assert "srid" not in bad["missing_srid"] and isinstance(bad["barcode_int"]["barcode"], int)
    assert all(TAG not in r for r in wb(http, business, SALES).json())
    sandbox.faults.reset()
    assert all(TAG not in r for r in wb(http, business).json())
    with pytest.raises(ValueError, match="unknown malformed kind"):
        sandbox.faults.malformed({"no_such_kind"})
    assert len(KINDS) >= 20


def test_malformed_moysklad_orders(http, sandbox, business):
    sandbox.faults.malformed("all", api="moysklad")
    body = ms(http, business, limit=50, expand="positions.assortment").json()
    tags = sorted(r[TAG] if isinstance(r, dict) else r.split(":", 1)[1]
                  for r in body["rows"] if isinstance(r, str) or TAG in r)
    assert tags == sorted(kinds_for("ms.customerorder"))
    good = [r for r in body["rows"] if isinstance(r, dict) and TAG not in r]
    assert [r["id"] for r in good] == [o["id"] for o in business.ms_customer_orders[:50]]
    negative = next(r for r in body["rows"] if isinstance(r, dict)
                    and r.get(TAG) == "negative_quantity")
    assert negative["positions"]["rows"][0]["quantity"] < 0
    assert negative["id"] not in {o["id"] for o in business.ms_customer_orders}


def test_unauthorized_takes_out_one_account_only(http, sandbox, business):
    sandbox.faults.unauthorized(business.wb_accounts[1].token)
    assert wb(http, business, index=1).status_code == 401
    assert wb(http, business, index=0).status_code == 200
    assert sandbox.faults.snapshot()["unauthorized_tokens"] == 1
    assert business.wb_accounts[1].token not in json.dumps(sandbox.faults.snapshot())
    stats = sandbox.stats()[("wb", ORDERS, business.wb_accounts[1].name)]
    assert stats["statuses"] == {401: 1}
    sandbox.faults.reset()
    assert wb(http, business, index=1).status_code == 200


def test_faults_and_stats_over_http(http, sandbox, business):
    answer = http.post("/__sandbox/faults", json={"actions": [
        {"action": "fail_next", "n": 1, "status": 502, "api": "wb"},
        {"action": "unauthorized", "account": business.moysklad_accounts[0].name},
        {"action": "malformed", "kinds": ["unknown_barcode"], "api": "wb", "path": SALES},
    ]})
    assert answer.status_code == 200 and answer.json()["faults"]["unauthorized_tokens"] == 1
    assert wb(http, business).status_code == 502
    assert ms(http, business, limit=1).status_code == 401
    assert any(r.get(TAG) == "unknown_barcode" for r in wb(http, business, SALES).json())
    assert http.post("/__sandbox/faults", json={"action": "explode"}).status_code == 400
    assert http.post("/__sandbox/faults", json={"action": "slow"}).status_code == 400
    entries = http.get("/__sandbox/stats").json()["entries"]
    by_key = {(e["api"], e["path"], e["account"]): e for e in entries}
    sales = by_key[("wb", SALES, business.wb_accounts[0].name)]
    assert sales["requests"] == 1 and sales["malformed"] == 1 and sales["records"] > 0
    assert http.post("/__sandbox/faults", json={"action": "reset"}).status_code == 200
    assert ms(http, business, limit=1).status_code == 200
    assert http.delete("/__sandbox/stats").json() == {"entries": []}
