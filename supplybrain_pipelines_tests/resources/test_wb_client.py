"""WbClient against the real marketplace sandbox over HTTP, and MinIntervalLimiter on a fake
clock.

The sandbox (``supplybrain_pipelines.sandbox``) serves WB statistics with paging, tokens, rate
limits and switchable faults. A few answers it never gives (a JSON object instead of a list, a
429 without WB's header) come from :class:`StubServer`, a scripted loopback server; nothing of
our own code is mocked.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator

import dagster as dg
import pytest

from supplybrain_pipelines.resources.marketplace import (
    Account,
    ApiError,
    ErrorClass,
    MarketplaceApi,
    MinIntervalLimiter,
    WbClient,
)
from supplybrain_pipelines.sandbox.server import SandboxServer
from supplybrain_pipelines_tests.http_stub import LoopbackServer, QuietHandler

EARLY = "2019-06-20"  # before every generated row: a full read
ORDERS = "/api/v1/supplier/orders"


# ---------------------------------------------------------------------------------------------
# Helpers shared with test_moysklad_client
# ---------------------------------------------------------------------------------------------


def statuses(sb: SandboxServer, api: str, path: str) -> Counter[int]:
    """HTTP statuses the sandbox answered on ``path``, over all accounts (faults that fire
    before the token check are booked under account ``"-"``)."""
    total: Counter[int] = Counter()
    for (entry_api, entry_path, _account), entry in sb.stats().items():
        if entry_api == api and entry_path.endswith(path):
            total.update(entry["statuses"])
    return total


def assert_token_hidden(token: str, *, errors: list[BaseException] = (),
                        records: list[logging.LogRecord] = ()) -> None:
    """The token appears in no error (message, repr, formatted traceback) and no log record."""
    assert len(token) >= 16, "too short to be a meaningful probe"
    for error in errors:
        texts = [str(error), repr(error), *map(str, error.args),
                 "".join(traceback.format_exception(error))]
        assert not any(token in text for text in texts), f"token in {type(error).__name__}"
    for record in records:
        text = f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        assert token not in text, f"token in a log record of {record.name}"


class StubServer(LoopbackServer):
    """A scripted HTTP server on 127.0.0.1 for answers the sandbox never gives.

    ``answers`` are ``(status, headers, body)`` tuples served in order (the last one repeats);
    ``requests`` records ``(path_with_query, headers)`` of every request.
    """

    def __init__(self, answers: list[tuple[int, dict[str, str], bytes]]) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, dict[str, str]]] = []
        stub = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                stub.requests.append((self.path, dict(self.headers)))
                status, headers, body = (stub.answers.pop(0) if len(stub.answers) > 1
                                         else stub.answers[0])
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


def json_answer(payload: object, status: int = 200,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **(headers or {})}, \
        json.dumps(payload).encode()


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(page_cap=1000) as server:
        yield server


@pytest.fixture
def own_sandbox() -> Iterator[SandboxServer]:
    """A sandbox of the test's own, for hangs: a request whose client timed out still goes on
    inside the sandbox after its hang, and would use up faults and stats of later tests."""
    with SandboxServer(page_cap=1000) as server:
        yield server


@pytest.fixture
def marketplace() -> Iterator[MarketplaceApi]:
    """The resource as tests use it: no WB spacing (the sandbox allows it), quick backoff."""
    api = MarketplaceApi(wb_min_interval_seconds=0, backoff_initial_seconds=0.05,
                         backoff_max_seconds=0.5, timeout_seconds=5, max_attempts=4,
                         max_retry_after_seconds=5)
    yield api
    api.close()


def wb_account(sb: SandboxServer, index: int = 0) -> Account:
    served = sb.business.wb_accounts[index]
    return Account("wb", 101 + index, served.name, served.token, sb.wb_base_url)


# ---------------------------------------------------------------------------------------------
# MinIntervalLimiter on a fake clock
# ---------------------------------------------------------------------------------------------


class FakeClock:
    """A clock that only moves when something sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_min_interval_spaces_requests_of_one_key() -> None:
    clock = FakeClock()
    limiter = MinIntervalLimiter(60.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(4):
        limiter.acquire((1, "orders"))
        starts.append(clock.now)
    assert [b - a for a, b in itertools.pairwise(starts)] == [60.0, 60.0, 60.0]
    assert clock.sleeps == [60.0, 60.0, 60.0]  # the first request did not wait


def test_min_interval_keys_are_independent_and_elapsed_time_counts() -> None:
    clock = FakeClock()
    limiter = MinIntervalLimiter(60.0, clock=clock, sleep=clock.sleep)
    assert limiter.acquire((1, "orders")) == 0
    assert limiter.acquire((1, "sales")) == 0  # another method of the same account
    assert limiter.acquire((2, "orders")) == 0  # another account
    clock.now += 45
    assert limiter.acquire((1, "orders")) == pytest.approx(15.0)
    clock.now += 600
    assert limiter.acquire((1, "orders")) == 0


def test_min_interval_zero_never_waits() -> None:
    clock = FakeClock()
    limiter = MinIntervalLimiter(0, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire("k") for _ in range(5)] == [0] * 5
    assert clock.sleeps == []
    with pytest.raises(ValueError):
        MinIntervalLimiter(-1)


def test_min_interval_reserve_books_without_sleeping_and_adds_the_margin() -> None:
    clock = FakeClock()
    limiter = MinIntervalLimiter(10.0, clock=clock, sleep=clock.sleep)
    assert [limiter.reserve("k") for _ in range(3)] == [0, 10.0, 20.0]
    assert clock.sleeps == []
    limiter = MinIntervalLimiter(10.0, margin_s=0.5, clock=clock, sleep=clock.sleep)
    assert [limiter.reserve("k") for _ in range(3)] == [0, 10.5, 21.0]


def test_min_interval_is_thread_safe() -> None:
    """Sixteen threads book one key at the same instant (a frozen clock): every booking gets
    its own slot, one interval apart, none lost to a race."""
    clock = FakeClock()
    limiter = MinIntervalLimiter(0.5, clock=clock, sleep=clock.sleep)
    barrier = threading.Barrier(16)
    delays: list[float] = []

    def worker() -> None:
        barrier.wait()
        delay = limiter.reserve("shared")
        delays.append(delay)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(delays) == [0.5 * i for i in range(16)]


# ---------------------------------------------------------------------------------------------
# Paging and cursor
# ---------------------------------------------------------------------------------------------


def test_paging_reaches_every_served_order_exactly_once(sb: SandboxServer,
                                                        marketplace: MarketplaceApi) -> None:
    account = wb_account(sb)
    pages = list(marketplace.wb(account).pages("orders", EARLY))

    served = sb.business.wb_orders_by_account[account.name]
    by_srid = {}
    for page in pages:
        for record in page.records:
            by_srid[record["srid"]] = record
    assert len(pages) >= 5  # 5,907 orders at 1,000 a page
    assert set(by_srid) == {row["srid"] for row in served}
    assert all(by_srid[row["srid"]] == row for row in served)  # records pass through unchanged
    # Only the page boundaries repeat (WB's cursor is inclusive): one row per boundary.
    assert sum(len(p.records) for p in pages) == len(served) + len(pages) - 1
    stats = sb.stats()[("wb", ORDERS, account.name)]
    assert stats["requests"] == len(pages)
    assert stats["statuses"] == {200: len(pages)}
    assert stats["distinct"] == len(served)


def test_cursor_is_the_full_last_change_date_of_the_last_record(
        sb: SandboxServer, marketplace: MarketplaceApi) -> None:
    account = wb_account(sb, 1)
    pages = list(marketplace.wb(account).pages("orders", EARLY))
    assert pages[0].date_from == EARLY
    for page in pages:
        assert page.next_cursor == page.records[-1]["lastChangeDate"]
    for previous, page in itertools.pairwise(pages):
        assert page.date_from == previous.next_cursor
    served = sb.business.wb_orders_by_account[account.name]
    assert pages[-1].next_cursor == served[-1]["lastChangeDate"]
    assert len(pages[-1].next_cursor) == len("2026-08-01T00:00:00")  # full string, to seconds


def test_date_from_is_passed_as_given_and_reading_resumes_from_a_cursor(
        sb: SandboxServer, marketplace: MarketplaceApi) -> None:
    account = wb_account(sb)
    client = marketplace.wb(account)
    first = list(client.pages("orders", EARLY, max_pages=2))
    assert len(first) == 2
    assert sum(s["requests"] for s in sb.stats().values()) == 2
    rest = list(client.pages("orders", first[-1].next_cursor))
    served = sb.business.wb_orders_by_account[account.name]
    srids = {r["srid"] for page in first + rest for r in page.records}
    assert srids == {row["srid"] for row in served}
    # A naive Moscow time string goes to WB as it is: the rows start exactly there.
    middle = served[len(served) // 2]["lastChangeDate"]
    page = next(client.pages("orders", middle))
    assert page.date_from == middle
    assert page.records[0]["lastChangeDate"] == middle


def test_flag_1_reads_one_day_in_one_request(sb: SandboxServer,
                                             marketplace: MarketplaceApi) -> None:
    account = wb_account(sb, 1)
    day = sb.business.wb_orders_by_account[account.name][-500]["date"][:10]
    pages = list(marketplace.wb(account).pages("orders", f"{day}T00:00:00", flag=1))
    expected = {r["srid"] for r in sb.business.wb_orders_by_account[account.name]
                if r["date"].startswith(day)}
    assert len(pages) == 1
    assert {r["srid"] for r in pages[0].records} == expected
    assert sum(s["requests"] for s in sb.stats().values()) == 1


def test_sales_and_stocks_endpoints(sb: SandboxServer, marketplace: MarketplaceApi) -> None:
    account = wb_account(sb)
    client = marketplace.wb(account)
    sales = [r for page in client.pages("sales", EARLY) for r in page.records]
    stocks = [r for page in client.pages("stocks", EARLY) for r in page.records]
    assert {r["saleID"] for r in sales} == {
        r["saleID"] for r in sb.business.wb_sales_by_account[account.name]}
    assert len(stocks) >= len(sb.business.wb_stocks_by_account[account.name])
    with pytest.raises(ValueError, match="orders, sales, stocks"):
        next(client.pages("incomes", EARLY))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Limits and retries
# ---------------------------------------------------------------------------------------------


def test_429_waits_the_header_time_then_succeeds(sb: SandboxServer, marketplace: MarketplaceApi,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    sb.faults.rate_limit_next(1, retry_after_s=1, api="wb")
    started = time.monotonic()
    pages = list(marketplace.wb(wb_account(sb)).pages("orders", EARLY, max_pages=1))
    elapsed = time.monotonic() - started
    assert len(pages) == 1 and pages[0].records
    assert elapsed >= 1.0  # X-Ratelimit-Retry: 1
    assert statuses(sb, "wb", ORDERS) == {429: 1, 200: 1}
    waits = [r.getMessage() for r in caplog.records if "rate_limited" in r.getMessage()]
    assert len(waits) == 1
    assert "Account 101: wb/orders attempt 1 of 4" in waits[0]
    assert "retrying in 1.0 s" in waits[0]


def test_429_from_the_servers_own_limit_and_the_client_limiter_that_avoids_it() -> None:
    """The sandbox allows one request per second per method: without spacing the client meets
    429s and waits them out; with the limiter at the same interval it never meets one."""
    with SandboxServer(page_cap=2000, wb_min_interval_s=1.0) as sb:
        account = wb_account(sb)
        for interval, expected_429 in ((0.0, 2), (1.0, 0)):
            sb.reset_stats()
            api = MarketplaceApi(wb_min_interval_seconds=interval, max_retry_after_seconds=5)
            try:
                time.sleep(1.0)  # the server's window from the previous round
                started = time.monotonic()
                pages = list(api.wb(account).pages("orders", EARLY, max_pages=3))
                elapsed = time.monotonic() - started
            finally:
                api.close()
            assert len(pages) == 3
            assert elapsed >= 2.0
            assert statuses(sb, "wb", ORDERS) == Counter({200: 3, 429: expected_429}) - Counter()


def test_5xx_twice_then_success(sb: SandboxServer, marketplace: MarketplaceApi) -> None:
    sb.faults.fail_next(2, status=503, api="wb")
    pages = list(marketplace.wb(wb_account(sb)).pages("orders", EARLY, max_pages=1))
    assert len(pages[0].records) == 1000
    assert statuses(sb, "wb", ORDERS) == {503: 2, 200: 1}


def test_5xx_beyond_max_attempts_raises_http_5xx(sb: SandboxServer,
                                                 marketplace: MarketplaceApi) -> None:
    sb.faults.fail_next(10, status=502, api="wb")
    with pytest.raises(ApiError) as caught:
        next(marketplace.wb(wb_account(sb)).pages("orders", EARLY))
    error = caught.value
    assert (error.error_class, error.status, error.attempts) == (ErrorClass.HTTP_5XX, 502, 4)
    assert error.retryable
    assert "Account 101" in str(error) and "wb/orders" in str(error)
    assert "http_5xx" in str(error) and "HTTP 502" in str(error)
    assert statuses(sb, "wb", ORDERS) == {502: 4}


def test_truncated_json_is_retried(sb: SandboxServer, marketplace: MarketplaceApi) -> None:
    sb.faults.truncate_next(1, api="wb")
    pages = list(marketplace.wb(wb_account(sb)).pages("orders", EARLY, max_pages=1))
    assert len(pages[0].records) == 1000
    stats = sb.stats()[("wb", ORDERS, wb_account(sb).name)]
    assert stats["truncated"] == 1 and stats["requests"] == 2

    sb.faults.truncate_next(10, api="wb")
    with pytest.raises(ApiError) as caught:
        next(marketplace.wb(wb_account(sb)).pages("orders", EARLY))
    assert caught.value.error_class is ErrorClass.BAD_PAYLOAD
    assert caught.value.status == 200 and caught.value.attempts == 4


def test_hang_longer_than_the_timeout_is_retried_then_raised_as_network(
        own_sandbox: SandboxServer) -> None:
    sb = own_sandbox
    account = wb_account(sb)
    api = MarketplaceApi(wb_min_interval_seconds=0, timeout_seconds=0.5, max_attempts=3,
                         backoff_initial_seconds=0.05)
    try:
        sb.faults.hang_next(1, seconds=3.0, api="wb")
        started = time.monotonic()
        pages = list(api.wb(account).pages("orders", EARLY, max_pages=1))
        assert len(pages) == 1 and time.monotonic() - started >= 0.5

        sb.faults.hang_next(3, seconds=3.0, api="wb")
        started = time.monotonic()
        with pytest.raises(ApiError) as caught:
            next(api.wb(account).pages("orders", EARLY))
        assert time.monotonic() - started < 3.0  # time-outs, not the hangs, ended the attempts
    finally:
        api.close()
    error = caught.value
    assert (error.error_class, error.status, error.attempts) == (ErrorClass.NETWORK, None, 3)
    assert "no answer within 0.5 s" in str(error)


def test_401_raises_unauthorized_at_once_and_other_accounts_go_on(
        sb: SandboxServer, marketplace: MarketplaceApi) -> None:
    revoked, other = wb_account(sb, 0), wb_account(sb, 1)
    sb.faults.unauthorized(revoked.token)
    with pytest.raises(ApiError) as caught:
        next(marketplace.wb(revoked).pages("orders", EARLY))
    error = caught.value
    assert (error.error_class, error.status, error.attempts) == (ErrorClass.UNAUTHORIZED, 401, 1)
    assert not error.retryable
    assert error.account_id == revoked.id and error.endpoint == "wb/orders"
    assert statuses(sb, "wb", ORDERS) == {401: 1}  # one request, no retry
    assert list(marketplace.wb(other).pages("orders", EARLY, max_pages=1))
    assert statuses(sb, "wb", ORDERS) == {401: 1, 200: 1}


def test_other_4xx_is_not_retried(sb: SandboxServer, marketplace: MarketplaceApi) -> None:
    with pytest.raises(ApiError) as caught:
        next(marketplace.wb(wb_account(sb)).pages("orders", "not-a-date"))
    assert (caught.value.error_class, caught.value.status) == (ErrorClass.HTTP_4XX, 400)
    assert statuses(sb, "wb", ORDERS) == {400: 1}


def test_answers_the_sandbox_never_gives() -> None:
    """A JSON object instead of a list is a bad payload (retried); a 429 without
    X-Ratelimit-Retry falls back to Retry-After, and a missing one to 60 s, capped."""
    answers = [json_answer({"rows": []}), json_answer({"rows": []})]
    with StubServer(answers) as stub:
        client = WbClient(Account("wb", 7, "stub", "s" * 32, stub.url), max_attempts=2,
                          limiter=MinIntervalLimiter(0), backoff_initial_s=0.01)
        with client, pytest.raises(ApiError) as caught:
            client.page("orders", EARLY)
        assert caught.value.error_class is ErrorClass.BAD_PAYLOAD
        assert "JSON dict, not a list" in str(caught.value)
        assert len(stub.requests) == 2
        path, headers = stub.requests[0]
        assert path == "/api/v1/supplier/orders?dateFrom=2019-06-20&flag=0"
        assert headers["Authorization"] == "s" * 32  # the raw token, no "Bearer"

    waits: list[float] = []
    answers = [json_answer({}, 429, {"Retry-After": "7"}), json_answer({}, 429),
               json_answer([{"srid": "a", "lastChangeDate": "2026-08-01T00:00:00"}])]
    with StubServer(answers) as stub:
        client = WbClient(Account("wb", 7, "stub", "s" * 32, stub.url), max_attempts=3,
                          limiter=MinIntervalLimiter(0), max_retry_after_s=30,
                          sleep=waits.append)
        with client:
            assert client.page("orders", EARLY) == [
                {"srid": "a", "lastChangeDate": "2026-08-01T00:00:00"}]
    assert waits == [7.0, 30.0]  # Retry-After, then 60 s capped at 30


def test_wb_limiter_spaces_requests_of_one_account_and_method(sb: SandboxServer) -> None:
    api = MarketplaceApi(wb_min_interval_seconds=0.5)
    try:
        account = wb_account(sb)
        started = time.monotonic()
        list(api.wb(account).pages("orders", EARLY, max_pages=2))
        list(api.wb(account).pages("sales", EARLY, max_pages=1))  # another method: no wait
        list(api.wb(wb_account(sb, 1)).pages("orders", EARLY, max_pages=1))  # another account
        elapsed = time.monotonic() - started
    finally:
        api.close()
    assert 0.5 <= elapsed < 1.0  # one wait (0.5 s + 5 % margin), not three


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------


def test_token_never_appears_in_errors_or_logs(own_sandbox: SandboxServer,
                                               caplog: pytest.LogCaptureFixture) -> None:
    sb = own_sandbox
    caplog.set_level(logging.DEBUG)
    account = wb_account(sb)
    api = MarketplaceApi(wb_min_interval_seconds=0, backoff_initial_seconds=0.01,
                         timeout_seconds=0.5, max_attempts=3)
    errors: list[BaseException] = []
    try:
        client = api.wb(account)
        sb.faults.rate_limit_next(1, retry_after_s=1, api="wb")
        sb.faults.fail_next(1, api="wb")
        assert list(client.pages("orders", EARLY, max_pages=1))
        for arm in (lambda: sb.faults.hang_next(3, 10.0, api="wb"),
                    lambda: sb.faults.truncate_next(3, api="wb"),
                    lambda: sb.faults.unauthorized(account.token)):
            arm()
            with pytest.raises(ApiError) as caught:
                next(client.pages("orders", EARLY))
            errors.append(caught.value)
    finally:
        api.close()
    assert [e.error_class for e in errors] == ["network", "bad_payload", "unauthorized"]
    assert caplog.records  # retries, waits and the sandbox's access log were captured
    assert account.token not in repr(account) and account.token not in repr(client)
    assert_token_hidden(account.token, errors=errors, records=caplog.records)


def test_resource_in_a_dagster_run_keeps_the_token_out_of_the_event_log(
        sb: SandboxServer) -> None:
    main, revoked = wb_account(sb, 0), wb_account(sb, 1)
    sb.faults.unauthorized(revoked.token)
    sb.faults.rate_limit_next(1, retry_after_s=1, api="wb")

    @dg.asset
    def wb_probe(context, marketplace: MarketplaceApi) -> dg.MaterializeResult:
        rows = sum(len(p.records)
                   for p in marketplace.wb(main, logger=context.log).pages("orders", EARLY,
                                                                           max_pages=1))
        try:
            next(marketplace.wb(revoked, logger=context.log).pages("orders", EARLY))
            skipped = "none"
        except ApiError as error:
            context.log.warning(str(error))
            skipped = f"{error.account_id}: {error.error_class}"
        return dg.MaterializeResult(metadata={"rows": rows, "skipped": skipped})

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([wb_probe], instance=instance, resources={
        "marketplace": MarketplaceApi(wb_min_interval_seconds=0, max_attempts=3)})
    assert result.success
    metadata = result.asset_materializations_for_node("wb_probe")[0].metadata
    assert metadata["rows"].value == 1000
    assert metadata["skipped"].value == "102: unauthorized"
    logs = instance.all_logs(result.run_id)
    messages = [entry.user_message for entry in logs]
    assert any("rate_limited" in m and "retrying in 1.0 s" in m for m in messages)
    assert any("unauthorized (HTTP 401)" in m for m in messages)
    for token in (main.token, revoked.token):
        assert not any(token in repr(entry) for entry in logs)
