"""Wildberries statistics API client: orders, sales and stocks, paged by ``lastChangeDate``.

``GET {base}/api/v1/supplier/{endpoint}?dateFrom=…&flag=…`` with the raw token in
``Authorization``. With ``flag=0`` WB returns rows whose ``lastChangeDate >= dateFrom`` (up to
~80k per response); the next page starts at the FULL ``lastChangeDate`` of the last row, and an
empty list means done. With ``flag=1`` it returns one calendar day of orders in one response.

The client hands every record of a JSON-list page through unchanged: checking records is the
ingestion's job (quarantine). See ``reference/planning_and_marketplace_apis.md`` §1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, get_args

import httpx

from supplybrain_pipelines.resources.marketplace._base import BaseClient, header_seconds, parse_json
from supplybrain_pipelines.resources.marketplace.accounts import Account
from supplybrain_pipelines.resources.marketplace.errors import ApiError, ErrorClass
from supplybrain_pipelines.resources.marketplace.limits import MinIntervalLimiter

WbEndpoint = Literal["orders", "sales", "stocks"]
WB_ENDPOINTS: tuple[str, ...] = get_args(WbEndpoint)
#: Wait on a 429 that names no wait of its own.
WB_DEFAULT_RETRY_AFTER_S = 60.0
#: WB's documented limit: one statistics request per minute per method and account.
WB_DEFAULT_MIN_INTERVAL_S = 60.0


@dataclass(frozen=True)
class WbPage:
    """One response. ``date_from`` is the ``dateFrom`` it was asked with; ``next_cursor`` the
    ``lastChangeDate`` of its last record (the next page's ``dateFrom``), None if it has none."""

    records: list[Any]
    date_from: str
    next_cursor: str | None


def last_change_date(records: list[Any]) -> str | None:
    """The full ``lastChangeDate`` string of the last record that has one."""
    for record in reversed(records):
        value = record.get("lastChangeDate") if isinstance(record, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


class WbClient(BaseClient):
    """One WB account's statistics API. Not thread-safe per instance; the limiter and the
    ``httpx.Client`` may be shared between instances and threads."""

    api = "wb"

    def __init__(self, account: Account, *, limiter: MinIntervalLimiter | None = None,
                 **options: Any) -> None:
        """``options``: the retry, time-out, HTTP and logging settings of :class:`BaseClient`."""
        super().__init__(account, **options)
        self.limiter = limiter if limiter is not None else MinIntervalLimiter(
            WB_DEFAULT_MIN_INTERVAL_S)

    def pages(
        self,
        endpoint: WbEndpoint,
        date_from: str,
        *,
        flag: int = 0,
        max_pages: int | None = None,
    ) -> Iterator[WbPage]:
        """Yield the non-empty pages of ``endpoint`` from ``date_from`` (naive Moscow time, as
        WB expects it, passed through unchanged).

        Stops on an empty page, on a page whose cursor equals the one it was asked with (WB
        would serve it again), after ``max_pages`` pages, or after one request with
        ``flag=1``. Resume a stopped loop from the last page's ``next_cursor``.
        """
        if endpoint not in WB_ENDPOINTS:
            raise ValueError(f"WB endpoint must be one of {', '.join(WB_ENDPOINTS)}, "
                             f"not {endpoint!r}")
        if flag not in (0, 1):
            raise ValueError(f"flag must be 0 or 1, not {flag!r}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be >= 1, not {max_pages}")
        cursor, served = date_from, 0
        while True:
            records = self.page(endpoint, cursor, flag=flag)
            if not records:
                return
            next_cursor = last_change_date(records)
            served += 1
            self.log.debug("Account %s: wb/%s page %d from %s: %d records, next cursor %s.",
                           self.account.id, endpoint, served, cursor, len(records), next_cursor)
            yield WbPage(records=records, date_from=cursor, next_cursor=next_cursor)
            if flag == 1 or (max_pages is not None and served >= max_pages):
                return
            if next_cursor == cursor:  # only rows changed at the cursor itself: caught up
                return
            if next_cursor is None:
                self.log.warning("Account %s: wb/%s page from %s has no record with a "
                                 "lastChangeDate to page on; stopping the page loop there.",
                                 self.account.id, endpoint, cursor)
                return
            cursor = next_cursor

    def page(self, endpoint: WbEndpoint, date_from: str, *, flag: int = 0) -> list[Any]:
        """One request: the records WB serves for ``dateFrom=date_from``."""
        url = f"{self.base_url}/api/v1/supplier/{endpoint}"
        params = {"dateFrom": date_from, "flag": flag}
        return self.get(endpoint, url, params, lambda r: self._parse_page(endpoint, r))

    def ping(self) -> dict[str, Any]:
        """``GET {base}/ping``, WB's documented connection check: it answers
        ``{"TS": …, "Status": "OK"}`` when the token is accepted by this API host, 401 when
        not. One cheap request; ``accounts add`` calls it before writing an account."""
        return self.get("ping", f"{self.base_url}/ping", None, self._parse_ping)

    # -- BaseClient hooks --------------------------------------------------------------------
    def _reserve(self, endpoint: str, url: str) -> float:
        return self.limiter.reserve((self.account.id, endpoint))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": self.account.token, "Accept": "application/json"}

    def _parse_page(self, endpoint: str, response: httpx.Response) -> list[Any]:
        body = parse_json(self, endpoint, response)
        if not isinstance(body, list):
            raise self.error(ErrorClass.BAD_PAYLOAD, endpoint, response.status_code,
                             hint=f"the body is a JSON {type(body).__name__}, not a list")
        return body

    def _parse_ping(self, response: httpx.Response) -> dict[str, Any]:
        body = parse_json(self, "ping", response)
        if not (isinstance(body, dict) and body.get("Status") == "OK"):
            raise self.error(ErrorClass.BAD_PAYLOAD, "ping", response.status_code,
                             hint="the answer is not WB's {\"Status\": \"OK\"}; is the base "
                                  "URL a WB statistics API?")
        return body

    def _status_error(self, endpoint: str, response: httpx.Response) -> ApiError:
        status = response.status_code
        if status in (401, 403):
            return self.error(ErrorClass.UNAUTHORIZED, endpoint, status)
        if status == 429:
            wait = header_seconds(response.headers, "X-Ratelimit-Retry")
            if wait is None:
                wait = header_seconds(response.headers, "Retry-After")
            if wait is None:
                wait = WB_DEFAULT_RETRY_AFTER_S
            return self.error(ErrorClass.RATE_LIMITED, endpoint, status,
                              retry_after_s=self.capped(wait))
        if status >= 500:
            return self.error(ErrorClass.HTTP_5XX, endpoint, status)
        return self.error(ErrorClass.HTTP_4XX, endpoint, status)  # also 1xx/3xx: not followed
