"""``MarketplaceApi``: the Dagster resource that hands out WB and MoySklad clients.

All clients of one resource instance share one ``httpx.Client`` (connection pooling) and one
limiter of each kind, so that two assets in the same run that call the same account and method
still keep WB's one request per minute and MoySklad's 45 units per 3 s. The HTTP client is
closed after the run. Tokens come from the accounts (the database), never from this config.

A run's waits between retries are bounded twice: one 429 wait at ``max_retry_after_seconds``
(a longer ``Retry-After``/``X-Ratelimit-Retry``/``X-Lognex-Retry-After`` is cut to it), and all
of one account's retry waits together at ``retry_budget_seconds``. Past the budget the call
fails at once (a 429 as ``rate_limited``): the account is skipped for that endpoint in this
run, its cursor keeps what is left, and the next run goes on.
"""

from __future__ import annotations

import logging
import threading

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from supplybrain_pipelines.resources.marketplace.accounts import Account
from supplybrain_pipelines.resources.marketplace.limits import (
    MinIntervalLimiter,
    RetryBudget,
    WeightedWindowLimiter,
)
from supplybrain_pipelines.resources.marketplace.moysklad import MoySkladClient
from supplybrain_pipelines.resources.marketplace.wb import WbClient

_SETUP_LOCK = threading.Lock()
# Safety margins on top of the configured limits. The server counts from when a request
# arrives and we from when we book it (connection set-up, scheduling), and a 429 costs more
# than the margin: WB counts 4xx extra, MoySklad blocks users who collect many 429s.
#: Added to the WB interval: 5 % of it, at most 1 s (60 s -> 61 s).
WB_INTERVAL_MARGIN = 0.05
WB_INTERVAL_MARGIN_MAX_S = 1.0
#: Added to the MoySklad window (3 s -> 3.1 s).
MOYSKLAD_WINDOW_MARGIN_S = 0.1


class MarketplaceApi(dg.ConfigurableResource):
    """WB statistics and MoySklad 1.2 clients with shared rate limits and bounded retries."""

    wb_min_interval_seconds: float = Field(
        default=60.0, ge=0,
        description="Seconds between two WB requests of one account and method (WB allows one "
                    "per minute; 0 for the local sandbox).")
    moysklad_units_per_window: int = Field(
        default=45, ge=1, description="MoySklad request units allowed per window.")
    moysklad_window_seconds: float = Field(
        default=3.0, ge=0, description="Length of the MoySklad rate window in seconds.")
    timeout_seconds: float = Field(
        default=30.0, gt=0, description="Connect/read/write time-out of one request.")
    max_attempts: int = Field(
        default=5, ge=1, description="Requests per call before a retryable error is raised.")
    backoff_initial_seconds: float = Field(
        default=0.5, ge=0, description="First backoff between retries of 5xx/network errors; "
                                       "it doubles per attempt, plus up to as much jitter.")
    backoff_max_seconds: float = Field(
        default=30.0, ge=0, description="Longest backoff between retries of 5xx/network errors.")
    max_retry_after_seconds: float = Field(
        default=120.0, ge=0, description="Longest wait honoured from a 429 retry header.")
    retry_budget_seconds: float = Field(
        default=300.0, ge=0,
        description="Seconds one account may spend waiting between retries (429 waits and "
                    "backoffs, all endpoints) in one run, or in one step process of it; past "
                    "it the call fails (a 429 as rate_limited) and the next run goes on.")

    _http: httpx.Client | None = PrivateAttr(default=None)
    _wb_limiter: MinIntervalLimiter | None = PrivateAttr(default=None)
    _ms_limiter: WeightedWindowLimiter | None = PrivateAttr(default=None)
    _retry_budget: RetryBudget | None = PrivateAttr(default=None)

    def _shared(self) -> tuple[httpx.Client, MinIntervalLimiter, WeightedWindowLimiter]:
        with _SETUP_LOCK:
            if self._http is None or self._http.is_closed:
                # No redirects: a redirect must not carry the Authorization header elsewhere.
                self._http = httpx.Client(timeout=self.timeout_seconds, follow_redirects=False)
            if self._wb_limiter is None:
                interval = self.wb_min_interval_seconds
                self._wb_limiter = MinIntervalLimiter(
                    interval, margin_s=min(interval * WB_INTERVAL_MARGIN, WB_INTERVAL_MARGIN_MAX_S))
            if self._ms_limiter is None:
                self._ms_limiter = WeightedWindowLimiter(
                    self.moysklad_units_per_window, self.moysklad_window_seconds,
                    margin_s=MOYSKLAD_WINDOW_MARGIN_S if self.moysklad_window_seconds else 0.0)
            if self._retry_budget is None:
                self._retry_budget = RetryBudget(self.retry_budget_seconds)
            return self._http, self._wb_limiter, self._ms_limiter

    def _retry_options(self) -> dict:
        """The retry settings every client of this resource gets (the budget is shared)."""
        self._shared()
        return {"timeout_s": self.timeout_seconds, "max_attempts": self.max_attempts,
                "backoff_initial_s": self.backoff_initial_seconds,
                "backoff_max_s": self.backoff_max_seconds,
                "max_retry_after_s": self.max_retry_after_seconds,
                "retry_budget": self._retry_budget}

    def wb(self, account: Account, *, logger: logging.Logger | None = None) -> WbClient:
        """A client for one WB account (``account.kind == "wb"``)."""
        http, limiter, _ = self._shared()
        return WbClient(account, limiter=limiter, http=http, **self._retry_options(),
                        logger=logger or dg.get_dagster_logger("marketplace"))

    def moysklad(self, account: Account, *,
                 logger: logging.Logger | None = None) -> MoySkladClient:
        """A client for one MoySklad account (``account.kind == "moysklad"``)."""
        http, _, limiter = self._shared()
        return MoySkladClient(account, limiter=limiter, http=http, **self._retry_options(),
                              logger=logger or dg.get_dagster_logger("marketplace"))

    def close(self) -> None:
        """Close the shared HTTP client (a later call opens a new one) and start a new retry
        budget (the next run's)."""
        with _SETUP_LOCK:
            if self._http is not None:
                self._http.close()
                self._http = None
            self._retry_budget = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()
