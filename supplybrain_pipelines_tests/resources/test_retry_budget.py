"""The run's retry-wait budget: a 429 asking for a long wait ends the retries instead of
parking the run; waits that fit are honoured (capped) and booked. Real HTTP against the
sandbox; the clients' sleep is recorded instead of slept, so nothing here waits."""

from __future__ import annotations

import pytest

from supplybrain_pipelines.resources.marketplace import (
    Account,
    ApiError,
    ErrorClass,
    MoySkladClient,
    RetryBudget,
    WbClient,
)
from supplybrain_pipelines.resources.marketplace.limits import MinIntervalLimiter
from supplybrain_pipelines.sandbox.server import SandboxServer

STOCK = "/report/stock/bystore/current"


def ms_client(sb: SandboxServer, budget: RetryBudget, slept: list[float],
              max_retry_after_s: float = 120.0) -> MoySkladClient:
    served = sb.business.moysklad_accounts[0]
    account = Account("moysklad", 7, served.name, served.token, sb.moysklad_base_url)
    return MoySkladClient(account, retry_budget=budget, max_retry_after_s=max_retry_after_s,
                          max_attempts=5, sleep=slept.append)


def test_budget_books_waits_per_key_until_the_next_one_does_not_fit():
    budget = RetryBudget(10)
    assert budget.take(("wb", 1), 4) and budget.take(("wb", 1), 6)
    assert not budget.take(("wb", 1), 0.5)  # 10 spent: nothing more fits
    assert budget.take(("moysklad", 1), 10)  # another key has its own
    assert budget.spent(("wb", 1)) == 10 and budget.spent(("moysklad", 1)) == 10
    unlimited = RetryBudget(None)
    assert unlimited.take("k", 1e9)
    with pytest.raises(ValueError, match=">= 0"):
        RetryBudget(-1)


def test_a_429_for_an_hour_fails_at_once_as_rate_limited(sb):
    # X-Lognex-Retry-After: 3600000 ms, capped at 120 s, is more than the budget of 60 s
    sb.faults.rate_limit_next(1, retry_after_s=3600, api="moysklad", path=STOCK)
    slept: list[float] = []
    budget = RetryBudget(60)
    with pytest.raises(ApiError) as raised:
        ms_client(sb, budget, slept).stock_by_store_current()
    error = raised.value
    assert error.error_class is ErrorClass.RATE_LIMITED and error.attempts == 1
    assert "waiting 120 s more would pass this run's retry-wait budget of 60 s" in str(error)
    assert slept == [] and budget.spent(("moysklad", 7)) == 0


def test_the_cap_applies_first_then_the_budget(sb):
    # three 429s asking 3600 s each: capped at 120 s, the budget of 300 s holds two of them
    sb.faults.rate_limit_next(3, retry_after_s=3600, api="moysklad", path=STOCK)
    slept: list[float] = []
    budget = RetryBudget(300)
    client = ms_client(sb, budget, slept)
    with pytest.raises(ApiError) as raised:
        client.stock_by_store_current()
    assert raised.value.error_class is ErrorClass.RATE_LIMITED
    assert raised.value.attempts == 3
    assert "retry-wait budget of 300 s" in str(raised.value)
    assert slept == [120.0, 120.0]
    assert budget.spent(("moysklad", 7)) == 240.0


def test_waits_that_fit_are_honoured_and_the_call_succeeds(sb):
    sb.faults.rate_limit_next(2, retry_after_s=1.5, api="moysklad", path=STOCK)
    slept: list[float] = []
    budget = RetryBudget(10)
    lines = ms_client(sb, budget, slept).stock_by_store_current()
    assert lines
    assert slept == [1.5, 1.5]  # X-Lognex-Retry-After: 1500 ms
    assert budget.spent(("moysklad", 7)) == 3.0


def test_the_budget_is_shared_by_the_clients_of_one_account_and_covers_wb(sb):
    budget = RetryBudget(100)
    slept: list[float] = []
    sb.faults.rate_limit_next(1, retry_after_s=60, api="moysklad", path=STOCK)
    ms_client(sb, budget, slept).stock_by_store_current()
    sb.faults.rate_limit_next(1, retry_after_s=60, api="moysklad", path=STOCK)
    with pytest.raises(ApiError, match="rate_limited"):
        ms_client(sb, budget, slept).stock_by_store_current()  # 60 + 60 > 100
    assert slept == [60.0]
    served = sb.business.wb_accounts[0]
    wb = WbClient(Account("wb", 7, served.name, served.token, sb.wb_base_url),
                  limiter=MinIntervalLimiter(0), retry_budget=budget, sleep=slept.append)
    sb.faults.rate_limit_next(1, retry_after_s=90, api="wb")
    assert next(wb.pages("stocks", "2019-01-01T00:00:00")).records  # ("wb", 7): own key
    assert slept == [60.0, 90.0]
