"""What the WB and MoySklad clients share: one GET with classification, retries and logging.

Every attempt waits for the client's rate limiter first. A response or failure becomes an
:class:`ApiError` of one class; tenacity retries the retryable ones (429 after the wait the
server asked for, capped at ``max_retry_after_s``; 5xx, network errors and bad payloads with
exponential backoff and jitter) up to ``max_attempts`` and then raises the last one. Every wait
between retries is booked in the run's :class:`RetryBudget` first: a wait that does not fit ends
the retries at once (a 429 stays ``rate_limited``), so an API asking for long waits cannot park
a run. Nothing here ever formats the token, the headers or the URL into a message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    wait_exponential,
    wait_random,
)

from supplybrain_pipelines.resources.marketplace.accounts import Account
from supplybrain_pipelines.resources.marketplace.errors import ApiError, ErrorClass
from supplybrain_pipelines.resources.marketplace.limits import RetryBudget

T = TypeVar("T")
Params = Mapping[str, str | int] | None

_LOG = logging.getLogger("supplybrain_pipelines.resources.marketplace")
#: Limiter waits at least this long are logged (shorter ones would flood the log).
LOG_WAITS_FROM_S = 1.0


def header_seconds(headers: httpx.Headers, name: str, scale: float = 1.0) -> float | None:
    """A numeric header times ``scale`` (e.g. 0.001 for milliseconds); None if absent or bad."""
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw.strip()) * scale
    except ValueError:
        return None
    return max(value, 0.0) if value == value else None  # NaN is not a wait


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, ApiError) and exc.retryable


class BaseClient:
    """A GET with limiter, classification and bounded retries. Subclasses say how to wait
    for their limiter, which headers to send and how to classify a non-2xx response."""

    api: str = ""

    def __init__(
        self,
        account: Account,
        *,
        http: httpx.Client | None = None,
        timeout_s: float = 30.0,
        max_attempts: int = 5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_retry_after_s: float = 120.0,
        retry_budget: RetryBudget | None = None,
        logger: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if account.kind != self.api:
            raise ValueError(f"Account {account.id} is a {account.kind} account, "
                             f"not a {self.api} one.")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, not {max_attempts}")
        self.account = account
        self.base_url = account.effective_base_url
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self.retry_budget = retry_budget if retry_budget is not None else RetryBudget(None)
        self.log = logger or _LOG
        self._sleep = sleep
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout_s)
        # initial * 2**(attempt - 1), plus up to ``initial`` of jitter; capped in _wait.
        self._backoff = (wait_exponential(multiplier=backoff_initial_s, max=backoff_max_s)
                         + wait_random(0, backoff_initial_s))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account={self.account.id}, base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the HTTP client if this client created it (a shared one is the owner's)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- hooks -------------------------------------------------------------------------------
    def _reserve(self, endpoint: str, url: str) -> float:
        """Book a slot with the rate limiter; return the seconds to wait."""
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _status_error(self, endpoint: str, response: httpx.Response) -> ApiError:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------
    def error(self, error_class: ErrorClass, endpoint: str, status: int | None = None,
              hint: str | None = None, retry_after_s: float | None = None) -> ApiError:
        return ApiError(error_class, endpoint=f"{self.api}/{endpoint}",
                        account_id=self.account.id, status=status, hint=hint,
                        retry_after_s=retry_after_s)

    def capped(self, seconds: float) -> float:
        return min(seconds, self.max_retry_after_s)

    def get(self, endpoint: str, url: str, params: Params,
            parse: Callable[[httpx.Response], T]) -> T:
        """GET ``url`` until ``parse`` accepts a 2xx answer, retrying what may pass; raise the
        last :class:`ApiError` otherwise."""
        retrying = Retrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception(_is_retryable),
            before_sleep=self._log_retry,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, endpoint, url, params, parse)
        except ApiError as exc:
            raise exc.with_attempts(retrying.statistics.get("attempt_number", 1)) from None

    def _attempt(self, endpoint: str, url: str, params: Params,
                 parse: Callable[[httpx.Response], T]) -> T:
        delay = self._reserve(endpoint, url)
        if delay > 0:
            if delay >= LOG_WAITS_FROM_S:
                self.log.info("Account %s: %s/%s waits %.1f s for the client rate limit.",
                              self.account.id, self.api, endpoint, delay)
            self._sleep(delay)
        try:
            response = self._http.get(url, params=params, headers=self._headers(),
                                      timeout=self.timeout_s)
        except httpx.DecodingError:
            raise self.error(ErrorClass.BAD_PAYLOAD, endpoint,
                             hint="the response body could not be decoded") from None
        except httpx.TimeoutException as exc:
            raise self.error(ErrorClass.NETWORK, endpoint,
                             hint=f"no answer within {self.timeout_s:g} s "
                                  f"({type(exc).__name__})") from None
        except httpx.RequestError as exc:
            raise self.error(ErrorClass.NETWORK, endpoint,
                             hint=f"the request failed ({type(exc).__name__})") from None
        if 200 <= response.status_code < 300:
            return parse(response)
        raise self._status_error(endpoint, response)

    def _stop(self, state: RetryCallState) -> bool:
        """Stop after ``max_attempts``, or when the coming wait (tenacity works it out before
        asking) does not fit in what is left of the run's retry budget for this account."""
        if state.attempt_number >= self.max_attempts:
            return True
        wait = state.upcoming_sleep
        if self.retry_budget.take((self.api, self.account.id), wait):
            return False
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ApiError):
            exc.hint = (f"waiting {wait:.0f} s more would pass this run's retry-wait budget of "
                        f"{self.retry_budget.seconds:g} s for the account, so it is skipped for "
                        "this endpoint; the next run goes on from its cursor")
        return True

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ApiError) and exc.retry_after_s is not None:
            return exc.retry_after_s
        return min(self._backoff(state), self.backoff_max_s)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        if isinstance(exc, ApiError):
            status = f"HTTP {exc.status}" if exc.status is not None else "no HTTP status"
            self.log.warning(
                "Account %s: %s attempt %d of %d failed with %s (%s); retrying in %.1f s.",
                exc.account_id, exc.endpoint, state.attempt_number, self.max_attempts,
                exc.error_class.value, status, wait)


def parse_json(client: BaseClient, endpoint: str, response: httpx.Response) -> Any:
    """The response body as JSON, or a bad_payload ApiError (invalid or truncated JSON)."""
    try:
        return response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise client.error(ErrorClass.BAD_PAYLOAD, endpoint, response.status_code,
                           hint="the body is not valid JSON (truncated or malformed)") from None
