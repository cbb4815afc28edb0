"""WB statistics API emulation: ``GET /api/v1/supplier/orders|sales|stocks``.

- ``dateFrom`` (required): RFC3339 date or date-time, seconds or fractions; without a zone it is
  Moscow time, ``Z`` or ``±hh:mm`` converts. Missing or unparseable: 400 problem+json.
- ``flag=0`` (default): rows with ``lastChangeDate >= dateFrom``, ascending, at most
  ``page_cap`` rows. The next page starts at the last row's lastChangeDate, so that row comes
  again (dedupe by key); a client is done when a page is empty, shorter than the cap, or moves
  its cursor no further.
- ``flag=1``: every row whose ``date`` (stocks: lastChangeDate) falls on dateFrom's Moscow
  calendar day; no cap.
- Token in ``Authorization`` (raw or ``Bearer``); each account sees only its own rows.
- ``GET /ping``: WB's connection check, ``{"TS": <Moscow time>, "Status": "OK"}`` for a known
  token (401 otherwise, like every endpoint).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from supplybrain_pipelines.sandbox.malformed import inject, record_key
from supplybrain_pipelines.sandbox.model import MSK, parse_wb_time
from supplybrain_pipelines.sandbox.service import ApiError, SandboxState, Served, endpoint

PATHS = {name: f"/api/v1/supplier/{name}" for name in ("orders", "sales", "stocks")}
PING_PATH = "/ping"
_DATE_FROM = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:T(?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<frac>\d{1,9}))?)?"
    r"(?P<zone>Z|[+\- ]\d{2}:\d{2})?)?$"
)


def parse_date_from(text: str | None) -> datetime:
    """``dateFrom`` as a naive Moscow datetime; :class:`ApiError` (400) when missing or bad."""
    if not text:
        raise ApiError(400, "dateFrom is required (RFC3339 date or date-time, e.g. 2026-05-01 "
                            "or 2026-05-01T10:00:00)")
    match = _DATE_FROM.match(text.strip())
    try:
        if match is None:
            raise ValueError(text)
        moment = datetime.fromisoformat(match["date"])
        if match["h"] is not None:
            micro = int((match["frac"] or "0")[:6].ljust(6, "0"))
            moment = moment.replace(hour=int(match["h"]), minute=int(match["m"]),
                                    second=int(match["s"] or 0), microsecond=micro)
        zone = match["zone"]
        if zone:
            if zone == "Z":
                tz = UTC
            else:  # a "+" that arrived unencoded in the query string reads as a space
                sign = -1 if zone[0] == "-" else 1
                tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
            moment = moment.replace(tzinfo=tz).astimezone(MSK).replace(tzinfo=None)
    except ValueError:
        raise ApiError(400, f"dateFrom {text!r} is not an RFC3339 date or date-time") from None
    return moment


class WbIndex:
    """The rows of one (account, method), searchable by change time and by day."""

    def __init__(self, rows: list[dict[str, Any]], day_field: str) -> None:
        self.rows = rows
        self.changed = [parse_wb_time(r["lastChangeDate"]) for r in rows]
        self.by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
        for row in sorted(rows, key=lambda r: r[day_field]):
            self.by_day[parse_wb_time(row[day_field]).date()].append(row)

    def since(self, moment: datetime, cap: int) -> list[dict[str, Any]]:
        start = bisect_left(self.changed, moment)
        return self.rows[start:start + cap]

    def on_day(self, day: date) -> list[dict[str, Any]]:
        return list(self.by_day.get(day, ()))


def _index(state: SandboxState, method: str, account: str) -> WbIndex:
    key = ("wb", method, account)
    if key not in state.cache:
        source = {"orders": state.business.wb_orders_by_account,
                  "sales": state.business.wb_sales_by_account,
                  "stocks": state.business.wb_stocks_by_account}[method]
        day_field = "lastChangeDate" if method == "stocks" else "date"
        state.cache[key] = WbIndex(source.get(account, []), day_field)
    return state.cache[key]


def _handler(state: SandboxState, method: str):
    kind = f"wb.{method}"

    def handle(request: Request, account: str) -> Served:
        query = request.query_params
        moment = parse_date_from(query.get("dateFrom"))
        flag = query.get("flag", "0")
        if flag not in ("0", "1"):
            raise ApiError(400, f"flag must be 0 or 1, not {flag!r}")
        index = _index(state, method, account)
        if flag == "0":
            rows = index.since(moment, state.config.page_cap)
        else:
            rows = index.on_day(moment.date())
        bad_kinds = state.faults.malformed_kinds("wb", request.url.path)
        payload, injected = inject(kind, rows, bad_kinds) if bad_kinds else (rows, [])
        return Served(payload, len(rows), injected, [record_key(kind, r) for r in rows])

    return handle


def _ping(request: Request, account: str) -> Served:
    now = datetime.now(MSK).replace(microsecond=0)
    return Served({"TS": now.isoformat(), "Status": "OK"})


def routes(state: SandboxState) -> list[Route]:
    for method in PATHS:  # build the indexes now, not inside the first timed request
        for account in state.tokens["wb"].values():
            _index(state, method, account)
    return [*(Route(path, endpoint(state, "wb", path, _handler(state, method)), methods=["GET"])
              for method, path in PATHS.items()),
            Route(PING_PATH, endpoint(state, "wb", PING_PATH, _ping), methods=["GET"])]
