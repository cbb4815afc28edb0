"""MoySklad JSON API 1.2 client: customer orders with positions (and those in the recycle bin),
their states, the assortment (whole or changed since), stock by store.

Every request carries ``Authorization: Bearer <token>`` and ``Accept-Encoding: gzip`` (without
it MoySklad answers 415). Lists are pages of ``{"meta": {…, "nextHref"}, "rows": […]}`` and are
followed through ``meta.nextHref``. Requests are weighed against the 45-units-per-3-s budget:
5 units for ``/report/stock/*``, 1 otherwise. See ``reference/planning_and_marketplace_apis.md``
§2.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx

from supplybrain_pipelines.resources.marketplace._base import (
    BaseClient,
    Params,
    header_seconds,
    parse_json,
)
from supplybrain_pipelines.resources.marketplace.accounts import Account
from supplybrain_pipelines.resources.marketplace.errors import ApiError, ErrorClass
from supplybrain_pipelines.resources.marketplace.limits import WeightedWindowLimiter

#: Wait on a 429 that names no wait of its own.
MS_DEFAULT_RETRY_AFTER_S = 3.0
#: ``expand`` is ignored above 100 rows per page.
CUSTOMER_ORDERS_PAGE = 100
ASSORTMENT_PAGE = 1000
REPORT_WEIGHT = 5
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,3})?$")
_GZIP_HINT = ("MoySklad requires the header Accept-Encoding: gzip and the request was sent "
              "without it")


def request_weight(path_or_url: str) -> int:
    """Units a request costs: 5 for the stock reports, 1 for everything else."""
    return REPORT_WEIGHT if "/report/stock/" in httpx.URL(path_or_url).path + "/" else 1


def moysklad_moment(value: str | datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (Moscow time, as MoySklad filters expect) from a naive datetime
    or a string in that form (a ``T`` separator is accepted)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError("pass a naive Moscow datetime; MoySklad filters take no zone")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if not _MOMENT.match(value):
        raise ValueError(f"expected 'YYYY-MM-DD HH:MM:SS', got {value!r}")
    return value.replace("T", " ")


class MoySkladClient(BaseClient):
    """One MoySklad account (a user or solution token). Not thread-safe per instance; the
    limiter and the ``httpx.Client`` may be shared."""

    api = "moysklad"

    def __init__(self, account: Account, *, limiter: WeightedWindowLimiter | None = None,
                 **options: Any) -> None:
        """``options``: the retry, time-out, HTTP and logging settings of :class:`BaseClient`."""
        super().__init__(account, **options)
        self.limiter = limiter if limiter is not None else WeightedWindowLimiter()
        self._origin = httpx.URL(self.base_url)

    # -- public ------------------------------------------------------------------------------
    def customer_orders(self, updated_from: str | datetime) -> Iterator[list[dict[str, Any]]]:
        """Pages of customer orders updated at or after ``updated_from`` (Moscow time), oldest
        change first, with ``positions.assortment`` expanded."""
        params = {
            "filter": f"updated>={moysklad_moment(updated_from)}",
            "expand": "positions.assortment",
            "limit": CUSTOMER_ORDERS_PAGE,
            "order": "updated,asc",
        }
        return self.list_pages("customer_orders", "/entity/customerorder", params)

    def deleted_customer_orders(self, deleted_from: str | datetime
                                ) -> Iterator[list[dict[str, Any]]]:
        """Pages of the customer orders in the recycle bin that went there at or after
        ``deleted_from`` (``filter=isDeleted=true;deleted>=…``; the default lists leave them
        out). Without positions: a deleted order counts as cancelled whatever it holds."""
        params = {"filter": f"isDeleted=true;deleted>={moysklad_moment(deleted_from)}",
                  "limit": ASSORTMENT_PAGE}
        return self.list_pages("customer_orders_deleted", "/entity/customerorder", params)

    def customer_order_states(self) -> list[dict[str, Any]]:
        """The account's customer-order states (``states`` of
        ``/entity/customerorder/metadata``): ``[{"id", "name", "stateType", …}, …]``."""
        return self.get("customer_order_states", f"{self.base_url}/entity/customerorder/metadata",
                        None, self._parse_states)

    def assortment(self, updated_from: str | datetime | None = None
                   ) -> Iterator[list[dict[str, Any]]]:
        """Pages of the assortment: products, variants, bundles, services (with barcodes);
        with ``updated_from`` (Moscow time) only the items changed at or after it."""
        params: dict[str, str | int] = {"limit": ASSORTMENT_PAGE}
        if updated_from is not None:
            params["filter"] = f"updated>={moysklad_moment(updated_from)}"
        return self.list_pages("assortment", "/entity/assortment", params)

    def stock_by_store_current(self) -> list[dict[str, Any]]:
        """``[{"assortmentId", "storeId", "stock"}, …]``: current stock per item and store."""
        url = f"{self.base_url}/report/stock/bystore/current"
        return self.get("stock_by_store", url, None,
                        lambda r: self._parse_array("stock_by_store", r))

    def context_employee(self) -> dict[str, Any]:
        """``GET {base}/context/employee``: the employee the token belongs to, MoySklad's
        cheapest authenticated call (weight 1). ``accounts add`` calls it before writing."""
        return self.get("context_employee", f"{self.base_url}/context/employee", None,
                        self._parse_employee)

    def _parse_employee(self, response: httpx.Response) -> dict[str, Any]:
        body = parse_json(self, "context_employee", response)
        if not (isinstance(body, dict) and isinstance(body.get("meta"), dict)):
            raise self.error(ErrorClass.BAD_PAYLOAD, "context_employee", response.status_code,
                             hint="the answer has no 'meta'; is the base URL MoySklad's "
                                  "JSON API 1.2?")
        return body

    def list_pages(self, endpoint: str, path: str,
                   params: Params) -> Iterator[list[dict[str, Any]]]:
        """Follow a list from ``path`` through ``meta.nextHref``; yield each non-empty page's
        rows."""
        url: str = f"{self.base_url}{path}"
        page = 0
        while True:
            body = self.get(endpoint, url, params, lambda r: self._parse_list(endpoint, r))
            page += 1
            next_href = body["meta"].get("nextHref")
            self.log.debug("Account %s: moysklad/%s page %d: %d rows%s.", self.account.id,
                           endpoint, page, len(body["rows"]), "" if next_href else " (last)")
            if body["rows"]:
                yield body["rows"]
            if not next_href:
                return
            next_url = self._same_origin(endpoint, next_href)
            if next_url == url:
                raise self.error(ErrorClass.BAD_PAYLOAD, endpoint,
                                 hint="meta.nextHref points at the page it came with")
            url, params = next_url, None

    # -- helpers -----------------------------------------------------------------------------
    def _same_origin(self, endpoint: str, href: Any) -> str:
        """``href`` if it points at our own API: the token is never sent to another host."""
        try:
            target = httpx.URL(href) if isinstance(href, str) else None
        except httpx.InvalidURL:
            target = None
        if target is None or (target.scheme, target.host, target.port) != (
                self._origin.scheme, self._origin.host, self._origin.port):
            raise self.error(ErrorClass.BAD_PAYLOAD, endpoint,
                             hint="meta.nextHref does not point at the account's API host, "
                                  "so it was not followed")
        return str(target)

    def _parse_list(self, endpoint: str, response: httpx.Response) -> dict[str, Any]:
        body = parse_json(self, endpoint, response)
        if not (isinstance(body, dict) and isinstance(body.get("rows"), list)
                and isinstance(body.get("meta"), dict)):
            raise self.error(ErrorClass.BAD_PAYLOAD, endpoint, response.status_code,
                             hint="the list response lacks 'meta' or a 'rows' list")
        return body

    def _parse_states(self, response: httpx.Response) -> list[dict[str, Any]]:
        body = parse_json(self, "customer_order_states", response)
        states = body.get("states", []) if isinstance(body, dict) else None
        if not isinstance(states, list):
            raise self.error(ErrorClass.BAD_PAYLOAD, "customer_order_states",
                             response.status_code,
                             hint="the metadata has no 'states' list")
        return [s for s in states if isinstance(s, dict)]

    def _parse_array(self, endpoint: str, response: httpx.Response) -> list[Any]:
        body = parse_json(self, endpoint, response)
        if not isinstance(body, list):
            raise self.error(ErrorClass.BAD_PAYLOAD, endpoint, response.status_code,
                             hint=f"the body is a JSON {type(body).__name__}, not a list")
        return body

    # -- BaseClient hooks --------------------------------------------------------------------
    def _reserve(self, endpoint: str, url: str) -> float:
        return self.limiter.reserve(self.account.id, request_weight(url))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.account.token}", "Accept-Encoding": "gzip",
                "Accept": "application/json;charset=utf-8"}

    def _status_error(self, endpoint: str, response: httpx.Response) -> ApiError:
        status = response.status_code
        if status in (401, 403):
            return self.error(ErrorClass.UNAUTHORIZED, endpoint, status)
        if status == 429:
            wait = header_seconds(response.headers, "X-Lognex-Retry-After", 0.001)
            if wait is None:
                wait = header_seconds(response.headers, "X-Lognex-Retry-TimeInterval", 0.001)
            if wait is None:
                wait = MS_DEFAULT_RETRY_AFTER_S
            return self.error(ErrorClass.RATE_LIMITED, endpoint, status,
                              retry_after_s=self.capped(wait))
        if status == 415:
            return self.error(ErrorClass.HTTP_4XX, endpoint, status, hint=_GZIP_HINT)
        if status >= 500:
            return self.error(ErrorClass.HTTP_5XX, endpoint, status)
        return self.error(ErrorClass.HTTP_4XX, endpoint, status)
