"""MoySkladClient against the real marketplace sandbox over HTTP, and WeightedWindowLimiter on
a fake clock.

Answers the sandbox never gives (a list without ``rows``, a ``nextHref`` to another host, a 429
without MoySklad's header) come from the scripted loopback ``StubServer`` of the WB tests.
"""

from __future__ import annotations

import itertools
import logging
import random
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from supplybrain_pipelines.resources.marketplace import (
    Account,
    ApiError,
    ErrorClass,
    MarketplaceApi,
    MoySkladClient,
    WeightedWindowLimiter,
    request_weight,
)
from supplybrain_pipelines.resources.marketplace.moysklad import moysklad_moment
from supplybrain_pipelines.sandbox.server import SandboxServer
from supplybrain_pipelines_tests.resources.test_wb_client import (
    FakeClock,
    StubServer,
    assert_token_hidden,
    json_answer,
    statuses,
)

CUSTOMER_ORDERS = "/entity/customerorder"
STOCK = "/report/stock/bystore/current"
EARLY = "2019-01-01 00:00:00"


@pytest.fixture
def own_sandbox() -> Iterator[SandboxServer]:
    """A sandbox of the test's own: its rate window holds no units of earlier tests."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def marketplace() -> Iterator[MarketplaceApi]:
    api = MarketplaceApi(backoff_initial_seconds=0.05, backoff_max_seconds=0.5,
                         timeout_seconds=5, max_attempts=4, max_retry_after_seconds=5)
    yield api
    api.close()


def ms_account(sb: SandboxServer) -> Account:
    served = sb.business.moysklad_accounts[0]
    return Account("moysklad", 201, served.name, served.token, sb.moysklad_base_url)


def max_units_in_any_window(events: list[tuple[float, int]], window_s: float) -> int:
    """The most units booked in any half-open window ``(t - window_s, t]``, i.e. bookings at
    ``s`` with ``s <= t < s + window_s`` (the limiter's own arithmetic, so floats agree)."""
    return max(sum(w for s, w in events if s <= t < s + window_s) for t, _ in events)


# ---------------------------------------------------------------------------------------------
# WeightedWindowLimiter on a fake clock
# ---------------------------------------------------------------------------------------------


def test_window_admits_45_units_then_waits_for_the_window() -> None:
    clock = FakeClock()
    limiter = WeightedWindowLimiter(45, 3.0, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire("u") for _ in range(45)] == [0] * 45
    assert limiter.acquire("u") == pytest.approx(3.0)
    assert clock.sleeps == [pytest.approx(3.0)]


def test_window_weight_5_allows_9_per_window() -> None:
    clock = FakeClock()
    limiter = WeightedWindowLimiter(45, 3.0, clock=clock, sleep=clock.sleep)
    events = []
    for _ in range(27):
        limiter.acquire("u", 5)
        events.append((clock.now, 5))
    starts = [t - 1000.0 for t, _ in events]
    assert starts == [0.0] * 9 + [3.0] * 9 + [6.0] * 9
    assert max_units_in_any_window(events, 3.0) == 45


def test_window_mixed_weights_never_exceed_the_budget_and_do_not_wait_needlessly() -> None:
    clock = FakeClock()
    limiter = WeightedWindowLimiter(45, 3.0, clock=clock, sleep=clock.sleep)
    rng = random.Random(7)
    events = []
    for _ in range(400):
        clock.now += rng.choice([0.0, 0.0, 0.01, 0.05, 0.2])
        weight = rng.choice([1, 1, 1, 5])
        waited = limiter.acquire("u", weight)
        events.append((clock.now, weight))
        if waited > 0:
            # It waited only as long as needed: one tick earlier the request would not fit.
            earlier = clock.now - 1e-6
            used = sum(w for s, w in events[:-1] if earlier - 3.0 < s <= earlier)
            assert used + weight > 45
    assert max_units_in_any_window(events, 3.0) <= 45


def test_window_keys_are_independent_and_weights_are_checked() -> None:
    clock = FakeClock()
    limiter = WeightedWindowLimiter(10, 1.0, clock=clock, sleep=clock.sleep)
    assert limiter.acquire("a", 10) == 0
    assert limiter.acquire("b", 10) == 0
    assert limiter.reserve("a", 1) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        limiter.acquire("a", 11)
    with pytest.raises(ValueError):
        limiter.acquire("a", 0)


def test_window_is_thread_safe() -> None:
    """Twelve threads book three times each at the same instant (a frozen clock): no window
    holds more than its units and no booking is lost to a race."""
    clock = FakeClock(0.0)
    limiter = WeightedWindowLimiter(10, 0.3, clock=clock, sleep=clock.sleep)
    barrier = threading.Barrier(12)
    events: list[tuple[float, int]] = []

    def worker(weight: int) -> None:
        barrier.wait()
        for _ in range(3):
            events.append((limiter.reserve("u", weight), weight))

    threads = [threading.Thread(target=worker, args=(1 + i % 3,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(events) == 36
    assert max_units_in_any_window(events, 0.3) <= 10
    # 72 units at 10 per 0.3 s: the last booking is at least 7 windows out, at most 8.
    assert 7 * 0.3 - 1e-9 <= max(t for t, _ in events) <= 8 * 0.3 + 1e-9


def test_window_margin_holds_units_longer() -> None:
    clock = FakeClock()
    limiter = WeightedWindowLimiter(45, 3.0, margin_s=0.1, clock=clock, sleep=clock.sleep)
    assert [limiter.reserve("u", 5) for _ in range(10)] == [0] * 9 + [pytest.approx(3.1)]


# ---------------------------------------------------------------------------------------------
# Lists, paging, the three endpoints
# ---------------------------------------------------------------------------------------------


def test_customer_orders_follow_next_href_with_positions_expanded(
        sb: SandboxServer, marketplace: MarketplaceApi) -> None:
    account = ms_account(sb)
    pages = list(marketplace.moysklad(account).customer_orders(EARLY))
    served = sb.business.ms_customer_orders
    ids = [order["id"] for page in pages for order in page]
    assert [len(page) for page in pages] == [100] * (len(served) // 100) + (
        [len(served) % 100] if len(served) % 100 else [])
    assert len(ids) == len(set(ids)) and set(ids) == {order["id"] for order in served}
    positions = [p for page in pages for order in page for p in order["positions"]["rows"]]
    assert positions
    # expand=positions.assortment (honoured at limit=100): the item, not only its meta
    assert all("barcodes" in p["assortment"] or "name" in p["assortment"] for p in positions)
    stats = sb.stats()[("moysklad", "/api/remap/1.2" + CUSTOMER_ORDERS, account.name)]
    assert stats["requests"] == len(pages) and stats["statuses"] == {200: len(pages)}
    assert stats["distinct_positions"] == len(positions)


def test_customer_orders_filter_on_updated(sb: SandboxServer,
                                           marketplace: MarketplaceApi) -> None:
    client = marketplace.moysklad(ms_account(sb))
    served = sorted(sb.business.ms_customer_orders, key=lambda o: o["updated"])
    since = served[len(served) // 2]["updated"]  # "YYYY-MM-DD HH:MM:SS.mmm"
    got = {o["id"] for page in client.customer_orders(since) for o in page}
    assert got == {o["id"] for o in served if o["updated"] >= since}
    whole_second = datetime.strptime(since[:19], "%Y-%m-%d %H:%M:%S")
    got = {o["id"] for page in client.customer_orders(whole_second) for o in page}
    assert got == {o["id"] for o in served if o["updated"] >= since[:19]}
    assert moysklad_moment("2026-08-01T10:00:00") == "2026-08-01 10:00:00"
    with pytest.raises(ValueError, match="YYYY-MM-DD HH:MM:SS"):
        moysklad_moment("01.08.2026")


def test_assortment_and_stock_by_store(sb: SandboxServer, marketplace: MarketplaceApi) -> None:
    client = marketplace.moysklad(ms_account(sb))
    items = [row for page in client.assortment() for row in page]
    assert sorted(r["id"] for r in items) == sorted(r["id"] for r in sb.business.ms_assortment)
    assert any(r.get("barcodes") for r in items)
    stock = client.stock_by_store_current()
    key = lambda line: (line["assortmentId"], line["storeId"])  # noqa: E731
    assert sorted(stock, key=key) == sorted(sb.business.ms_stock_by_store, key=key)
    assert request_weight(sb.moysklad_base_url + STOCK) == 5
    assert request_weight(sb.moysklad_base_url + CUSTOMER_ORDERS) == 1


# ---------------------------------------------------------------------------------------------
# gzip, limits and retries
# ---------------------------------------------------------------------------------------------


def test_gzip_is_always_asked_for_and_its_absence_is_a_clear_4xx(
        sb: SandboxServer, marketplace: MarketplaceApi) -> None:
    account = ms_account(sb)
    list(marketplace.moysklad(account).assortment())
    marketplace.moysklad(account).stock_by_store_current()
    assert 415 not in statuses(sb, "moysklad", "")

    def without_gzip(request: httpx.Request) -> None:  # a deliberately broken request
        request.headers["Accept-Encoding"] = "identity"

    with httpx.Client(event_hooks={"request": [without_gzip]}) as http:
        client = MoySkladClient(account, http=http, max_attempts=3)
        with pytest.raises(ApiError) as caught:
            client.stock_by_store_current()
    error = caught.value
    assert (error.error_class, error.status, error.attempts) == (ErrorClass.HTTP_4XX, 415, 1)
    assert "Accept-Encoding: gzip" in str(error) and "moysklad/stock_by_store" in str(error)
    assert statuses(sb, "moysklad", STOCK) == {200: 1, 415: 1}


def test_429_waits_x_lognex_retry_after(sb: SandboxServer, marketplace: MarketplaceApi) -> None:
    sb.faults.rate_limit_next(1, retry_after_s=1.2, api="moysklad")
    started = time.monotonic()
    stock = marketplace.moysklad(ms_account(sb)).stock_by_store_current()
    assert stock and time.monotonic() - started >= 1.2  # X-Lognex-Retry-After: 1200 (ms)
    assert statuses(sb, "moysklad", STOCK) == {429: 1, 200: 1}


def test_weighted_limiter_keeps_45_units_per_3_seconds(own_sandbox: SandboxServer) -> None:
    """A burst of 19 stock reports (weight 5) from two clients of one resource: the limiter
    books at most 9 in any 3 s, and the sandbox, which counts 45 units per 3 s itself, never
    answers 429.

    The send times are the limiter's own bookings (when each request was allowed to go), not
    log-record times: those are written after the response, and under load late responses
    bunch together, which made this test fail without the limiter being wrong."""
    sb = own_sandbox
    api = MarketplaceApi()  # the production limits
    account = ms_account(sb)
    clients = [api.moysklad(account), api.moysklad(account)]
    limiter = clients[0].limiter
    assert clients[1].limiter is limiter  # one budget per resource, shared by its clients
    booked: list[tuple[float, int]] = []
    reserve = limiter.reserve

    def recording_reserve(key: object, weight: int = 1) -> float:
        delay = reserve(key, weight)
        booked.append(limiter._booked[key][-1])  # (start, weight), as the limiter booked it
        return delay

    limiter.reserve = recording_reserve  # type: ignore[method-assign]
    try:
        started = time.monotonic()
        for client in itertools.islice(itertools.cycle(clients), 19):
            client.stock_by_store_current()
        elapsed = time.monotonic() - started
    finally:
        api.close()
    assert [weight for _, weight in booked] == [5] * 19
    assert max_units_in_any_window(booked, 3.0) == 45  # 9 requests, and no more
    assert elapsed >= 6.0  # 9 + 9 + 1
    assert statuses(sb, "moysklad", STOCK) == {200: 19}


def test_the_servers_own_429_is_waited_out(own_sandbox: SandboxServer) -> None:
    """With the client's budget set too high the sandbox answers 429 with X-Lognex-Retry-After
    (and X-Lognex-Retry-TimeInterval); the client waits that long and finishes."""
    sb = own_sandbox
    api = MarketplaceApi(moysklad_units_per_window=1000, max_retry_after_seconds=5)
    try:
        client = api.moysklad(ms_account(sb))
        started = time.monotonic()
        for _ in range(11):
            client.stock_by_store_current()
        elapsed = time.monotonic() - started
    finally:
        api.close()
    counted = statuses(sb, "moysklad", STOCK)
    assert counted[200] == 11 and counted[429] >= 1
    assert elapsed >= 2.5


def test_5xx_and_truncated_json_are_retried(sb: SandboxServer,
                                            marketplace: MarketplaceApi) -> None:
    account = ms_account(sb)
    sb.faults.fail_next(2, status=500, api="moysklad")
    assert marketplace.moysklad(account).stock_by_store_current()
    assert statuses(sb, "moysklad", STOCK) == {500: 2, 200: 1}

    sb.faults.truncate_next(1, api="moysklad", path=CUSTOMER_ORDERS)
    pages = list(marketplace.moysklad(account).customer_orders(EARLY))
    assert sum(map(len, pages)) == len(sb.business.ms_customer_orders)
    assert statuses(sb, "moysklad", CUSTOMER_ORDERS) == {200: len(pages) + 1}

    sb.faults.fail_next(10, status=503, api="moysklad")
    with pytest.raises(ApiError) as caught:
        marketplace.moysklad(account).stock_by_store_current()
    assert (caught.value.error_class, caught.value.status, caught.value.attempts) == (
        ErrorClass.HTTP_5XX, 503, 4)


def test_401_raises_unauthorized_at_once(sb: SandboxServer,
                                         marketplace: MarketplaceApi) -> None:
    account = ms_account(sb)
    sb.faults.unauthorized(account.token)
    with pytest.raises(ApiError) as caught:
        next(marketplace.moysklad(account).customer_orders(EARLY))
    error = caught.value
    assert (error.error_class, error.status, error.attempts) == (ErrorClass.UNAUTHORIZED, 401, 1)
    assert error.endpoint == "moysklad/customer_orders" and error.account_id == 201
    assert statuses(sb, "moysklad", CUSTOMER_ORDERS) == {401: 1}


def test_answers_the_sandbox_never_gives() -> None:
    token = "m" * 40
    bad_list = json_answer({"meta": {"size": 1}, "rows": "not a list"})
    with StubServer([bad_list]) as stub:
        client = MoySkladClient(Account("moysklad", 9, "stub", token, stub.url),
                                max_attempts=2, backoff_initial_s=0.01)
        with client, pytest.raises(ApiError) as caught:
            next(client.assortment())
    assert caught.value.error_class is ErrorClass.BAD_PAYLOAD and caught.value.attempts == 2
    assert "lacks 'meta' or a 'rows' list" in str(caught.value)
    path, headers = stub.requests[0]
    assert path == "/entity/assortment?limit=1000"
    assert headers["Authorization"] == f"Bearer {token}"
    assert headers["Accept-Encoding"] == "gzip"

    foreign = json_answer({"meta": {"nextHref": "http://127.0.0.2:9/entity/assortment?offset=1"},
                           "rows": [{"id": "a"}]})
    with StubServer([foreign]) as stub:
        client = MoySkladClient(Account("moysklad", 9, "stub", token, stub.url))
        pages = client.assortment()
        assert next(pages) == [{"id": "a"}]
        with client, pytest.raises(ApiError, match="nextHref does not point at the account"):
            next(pages)
    assert len(stub.requests) == 1  # the token never went to the other host

    waits: list[float] = []
    answers = [json_answer({}, 429, {"X-Lognex-Retry-TimeInterval": "1500"}),
               json_answer({}, 429), json_answer([{"assortmentId": "a", "stock": 1}])]
    with StubServer(answers) as stub:
        client = MoySkladClient(Account("moysklad", 9, "stub", token, stub.url),
                                max_attempts=3, sleep=waits.append)
        with client:
            assert client.stock_by_store_current() == [{"assortmentId": "a", "stock": 1}]
    assert waits == [1.5, 3.0]  # the fallback header (ms), then the default 3 s


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------


def test_token_never_appears_in_errors_or_logs(sb: SandboxServer,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    account = ms_account(sb)
    api = MarketplaceApi(backoff_initial_seconds=0.01, max_attempts=2)
    errors: list[BaseException] = []
    try:
        client = api.moysklad(account)
        sb.faults.rate_limit_next(1, retry_after_s=0.2, api="moysklad")
        assert client.stock_by_store_current()
        for arm in (lambda: sb.faults.fail_next(2, status=502, api="moysklad"),
                    lambda: sb.faults.truncate_next(2, api="moysklad"),
                    lambda: sb.faults.unauthorized(account.token)):
            arm()
            with pytest.raises(ApiError) as caught:
                next(client.customer_orders(EARLY))
            errors.append(caught.value)
    finally:
        api.close()
    assert [e.error_class for e in errors] == ["http_5xx", "bad_payload", "unauthorized"]
    assert any(re.search(r"rate_limited \(HTTP 429\); retrying in 0\.2 s", r.getMessage())
               for r in caplog.records)
    assert account.token not in repr(account) and account.token not in repr(client)
    assert_token_hidden(account.token, errors=errors, records=caplog.records)
