"""One webhook POST with retries (httpx + tenacity), phrased without the URL.

Within one call, 5xx, 429 (after its Retry-After, capped) and network errors are retried with
exponential backoff up to ``max_attempts``; any other non-2xx answer is final for the call. The
outbox (``resources/notifier.py``) decides what happens between calls. Every POST carries the
header ``Idempotency-Key: <event key>``, the same on every retry and every later round.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from supplybrain_pipelines.resources.marketplace._base import header_seconds
from supplybrain_pipelines.resources.webhook_url import RedactUrl, url_secrets

#: Longest wait between two attempts, whatever the backoff or a Retry-After header says.
MAX_WAIT_SECONDS = 30.0

_LOG = logging.getLogger("supplybrain_pipelines.resources.notifier")


class PostError(Exception):
    """One failed POST, already phrased without the URL."""

    def __init__(self, message: str, *, retryable: bool, retry_after_s: float | None = None,
                 http_status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.http_status = http_status


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, PostError) and exc.retryable


@contextmanager
def webhook_client(url: str, timeout_seconds: float) -> Iterator[httpx.Client]:
    """One HTTP client for a delivery call (its connection is reused from event to event),
    with the URL masked in the ``httpx`` logger meanwhile (it logs every request's URL)."""
    redact, httpx_log = RedactUrl(url_secrets(url)), logging.getLogger("httpx")
    httpx_log.addFilter(redact)
    try:
        with httpx.Client(timeout=timeout_seconds, follow_redirects=False, headers={
                "Content-Type": "application/json",
                "User-Agent": "supplybrain-notifier"}) as client:
            yield client
    finally:
        httpx_log.removeFilter(redact)


def _post_once(client: httpx.Client, url: str, payload: Any, event_key: str,
               timeout_seconds: float) -> None:
    try:
        response = client.post(url, json=payload, headers={"Idempotency-Key": event_key})
    except httpx.TimeoutException as exc:
        raise PostError(f"no answer within {timeout_seconds:g} s ({type(exc).__name__})",
                        retryable=True) from None
    except httpx.TransportError as exc:
        raise PostError(f"the request failed ({type(exc).__name__}: {exc})",
                        retryable=True) from None
    code = response.status_code
    if 200 <= code < 300:
        return
    body = " ".join(response.text[:300].split())
    message = f"HTTP {code}" + (f": {body}" if body else "")
    if code == 429:
        raise PostError(message, retryable=True, http_status=code,
                        retry_after_s=header_seconds(response.headers, "Retry-After"))
    raise PostError(message, retryable=code >= 500, http_status=code)


def post_with_retries(client: httpx.Client, url: str, payload: Any, event_key: str, *,
                      max_attempts: int, backoff_seconds: float, timeout_seconds: float,
                      describe: Callable[[str], str]) -> tuple[int, str | None, int | None]:
    """POST ``payload`` to ``url``; (attempts made, None or the last error, its HTTP status
    or None when there was no answer). ``describe`` masks secrets in logged errors."""
    attempts = 0

    def attempt() -> None:
        nonlocal attempts
        attempts += 1
        _post_once(client, url, payload, event_key, timeout_seconds)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, PostError) and exc.retry_after_s is not None:
            return min(exc.retry_after_s, MAX_WAIT_SECONDS)
        return wait_exponential(multiplier=max(backoff_seconds, 0.0), max=MAX_WAIT_SECONDS)(state)

    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        pause = state.next_action.sleep if state.next_action else 0.0
        _LOG.warning("Webhook attempt %d of %d failed (%s); retrying in %.2f s.",
                     state.attempt_number, max_attempts, describe(str(exc)), pause)

    retrying = Retrying(stop=stop_after_attempt(max(1, max_attempts)), wait=wait,
                        retry=retry_if_exception(_retryable), before_sleep=log_retry,
                        sleep=time.sleep, reraise=True)
    try:
        retrying(attempt)
    except PostError as exc:
        return attempts, str(exc), exc.http_status
    return attempts, None, None
