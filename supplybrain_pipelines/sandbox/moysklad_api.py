"""MoySklad JSON API 1.2 emulation, mounted under ``/api/remap/1.2``.

- ``GET /entity/customerorder``: ``limit`` 1..1000 (default 1000), ``offset``,
  ``filter=updated>=YYYY-MM-DD HH:MM:SS`` (also moment/created; ``= != < > <= >=``; ``;`` joins),
  ``expand=positions`` or ``positions.assortment``, ignored when limit > 100 as in MoySklad.
  Positions are a MetaArray: ``{"meta": …, "rows": […]}`` when expanded, else only ``meta``.
- ``GET /entity/customerorder/{id}/positions``: the positions of one order (paged;
  ``expand=assortment`` with limit <= 100).
- ``GET /entity/assortment``: products and variants (``barcodes``, ``article``/``code``,
  ``characteristics``, ``meta.type``), paged the same way.
- ``GET /report/stock/bystore/current`` and ``/report/stock/all/current``: unpaged arrays, weight 5.

Lists answer ``{"context", "meta": {"href", "size", "limit", "offset", "nextHref"?,
"previousHref"?}, "rows"}``; ``nextHref`` only while rows remain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.routing import Route

from supplybrain_pipelines.sandbox.malformed import inject
from supplybrain_pipelines.sandbox.model import MS_PREFIX, MS_PUBLIC_BASE, ms_time, parse_ms_time
from supplybrain_pipelines.sandbox.service import ApiError, SandboxState, Served, endpoint

EXPAND_LIMIT = 100
STOCK_WEIGHT = 5
_CONDITION = re.compile(r"^(?P<field>[A-Za-z]+)(?P<op>>=|<=|!=|=|>|<)(?P<value>.*)$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b,
}
_CONTEXT = {"employee": {"meta": {
    "href": f"{MS_PUBLIC_BASE}/context/employee", "metadataHref": f"{MS_PUBLIC_BASE}/entity/"
    "employee/metadata", "type": "employee", "mediaType": "application/json"}}}


def _int(query: Any, name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(400, f"Параметр '{name}' должен быть целым числом от {low} до {high}",
                       1015)
    return value


def _paging(request: Request) -> tuple[int, int]:
    query = request.query_params
    return _int(query, "limit", 1000, 1, 1000), _int(query, "offset", 0, 0, 10**9)


def _filter(text: str | None, fields: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    """A predicate for ``filter``; ``fields`` maps a field name to "time" | "text" | "bool"."""
    checks: list[Callable[[dict[str, Any]], bool]] = []
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        match = _CONDITION.match(part.strip())
        if match is None or match["field"] not in fields:
            raise ApiError(400, f"Неизвестное или неверное условие фильтрации: {part!r}", 1002)
        name, op, value = match["field"], match["op"], match["value"]
        kind = fields[name]
        if kind == "time":
            try:
                value = ms_time(parse_ms_time(value.strip()))
            except ValueError:
                raise ApiError(400, f"Неверный формат даты в фильтре: {value!r}", 1002) from None
        elif op not in ("=", "!="):
            raise ApiError(400, f"Оператор {op} недоступен для поля {name}", 1002)
        elif kind == "bool":
            value = value.strip().lower() == "true"
        checks.append(_condition(name, op, value))
    return lambda row: all(check(row) for check in checks)


def _condition(name: str, op: str, value: Any) -> Callable[[dict[str, Any]], bool]:
    compare = _OPS[op]
    if name == "type":
        return lambda row: compare(row["meta"]["type"], value)
    if name == "barcode":
        return lambda row: compare(value in [next(iter(b.values())) for b in
                                             row.get("barcodes", [])], True)
    return lambda row: row.get(name) is not None and compare(row[name], value)


def _href(request: Request, **override: Any) -> str:
    params = dict(request.query_params)
    params.update({k: str(v) for k, v in override.items()})
    path = request.url.path[len(MS_PREFIX):]
    return f"{MS_PUBLIC_BASE}{path}" + (f"?{urlencode(params, quote_via=quote)}" if params else "")


def _list(request: Request, kind: str, rows: list[Any], size: int, limit: int,
          offset: int) -> dict[str, Any]:
    meta: dict[str, Any] = {"href": _href(request), "type": kind, "mediaType": "application/json",
                            "size": size, "limit": limit, "offset": offset}
    if offset + limit < size:
        meta["nextHref"] = _href(request, limit=limit, offset=offset + limit)
    if offset > 0:
        meta["previousHref"] = _href(request, limit=limit, offset=max(0, offset - limit))
    return {"context": _CONTEXT, "meta": meta, "rows": rows}


def _expand(request: Request, limit: int) -> set[str]:
    if limit > EXPAND_LIMIT:
        return set()
    return {part.strip() for part in request.query_params.get("expand", "").split(",")}


class MoySkladApi:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        business = state.business
        self.by_href = {row["meta"]["href"]: row for row in business.ms_assortment}
        self.orders = {order["id"]: order for order in business.ms_customer_orders}

    def _position(self, position: dict[str, Any], expand_assortment: bool) -> dict[str, Any]:
        if not expand_assortment:
            return position
        target = self.by_href.get(position["assortment"]["meta"]["href"])
        return {**position, "assortment": target} if target else position

    def _shape(self, order: dict[str, Any], expand: set[str]) -> dict[str, Any]:
        positions = order["positions"]
        if "positions" in expand or "positions.assortment" in expand:
            deep = "positions.assortment" in expand
            shaped = {"meta": positions["meta"],
                      "rows": [self._position(p, deep) for p in positions["rows"]]}
        else:
            shaped = {"meta": positions["meta"]}
        return {**order, "positions": shaped}

    def customer_orders(self, request: Request, account: str) -> Served:
        limit, offset = _paging(request)
        keep = _filter(request.query_params.get("filter"),
                       {"updated": "time", "moment": "time", "created": "time"})
        matching = [o for o in self.state.business.ms_customer_orders if keep(o)]
        expand = _expand(request, limit)
        rows = [self._shape(o, expand) for o in matching[offset:offset + limit]]
        bad_kinds = self.state.faults.malformed_kinds("moysklad", request.url.path)
        served, injected = inject("ms.customerorder", rows, bad_kinds) if bad_kinds else (rows, [])
        positions = [p["id"] for o in rows for p in o["positions"].get("rows", [])]
        return Served(_list(request, "customerorder", served, len(matching), limit, offset),
                      len(rows), injected, [o["id"] for o in rows], positions)

    def order_positions(self, request: Request, account: str) -> Served:
        order = self.orders.get(request.path_params["order_id"])
        if order is None:
            raise ApiError(404, f"Объект с UUID '{request.path_params['order_id']}' не найден",
                           1021)
        limit, offset = _paging(request)
        deep = "assortment" in _expand(request, limit)
        all_rows = order["positions"]["rows"]
        rows = [self._position(p, deep) for p in all_rows[offset:offset + limit]]
        ids = [p["id"] for p in rows]
        return Served(_list(request, "customerorderposition", rows, len(all_rows), limit,
                            offset), len(rows), [], ids, ids)

    def assortment(self, request: Request, account: str) -> Served:
        limit, offset = _paging(request)
        keep = _filter(request.query_params.get("filter"),
                       {"updated": "time", "archived": "bool", "type": "text", "code": "text",
                        "article": "text", "barcode": "text"})
        matching = [row for row in self.state.business.ms_assortment if keep(row)]
        rows = matching[offset:offset + limit]
        return Served(_list(request, "assortment", rows, len(matching), limit, offset),
                      len(rows), [], [r["id"] for r in rows])

    def _stock_lines(self, request: Request) -> list[dict[str, Any]]:
        query = request.query_params
        stock_type = query.get("stockType", "stock")
        if stock_type not in ("stock", "freeStock", "quantity", "reserve", "inTransit"):
            raise ApiError(400, f"Неизвестный stockType {stock_type!r}", 1002)
        keep = _filter(query.get("filter"), {"assortmentId": "text", "storeId": "text"})
        zeros = query.get("include") == "zeroLines" or "changedSince" in query
        lines = []
        for line in self.state.business.ms_stock_lines:
            value = 0 if stock_type in ("reserve", "inTransit") else line["stock"]
            if keep(line) and (value != 0 or zeros):
                lines.append({**line, "stock": value})
        return lines

    def stock_by_store(self, request: Request, account: str) -> Served:
        lines = self._stock_lines(request)
        return Served(lines, len(lines), [], [(x["assortmentId"], x["storeId"]) for x in lines])

    def stock_all(self, request: Request, account: str) -> Served:
        totals: dict[str, float] = {}
        for line in self._stock_lines(request):
            totals[line["assortmentId"]] = totals.get(line["assortmentId"], 0) + line["stock"]
        lines = [{"assortmentId": k, "stock": v} for k, v in totals.items()]
        return Served(lines, len(lines), [], list(totals))


def routes(state: SandboxState) -> list[Route]:
    """Routes with full paths (prefix included), so stats and faults see the real path."""
    api = MoySkladApi(state)
    table = (
        ("/entity/customerorder", api.customer_orders, 1),
        ("/entity/customerorder/{order_id}/positions", api.order_positions, 1),
        ("/entity/assortment", api.assortment, 1),
        ("/report/stock/bystore/current", api.stock_by_store, STOCK_WEIGHT),
        ("/report/stock/all/current", api.stock_all, STOCK_WEIGHT),
    )
    return [Route(MS_PREFIX + path,
                  endpoint(state, "moysklad", MS_PREFIX + path, handler, weight=weight),
                  methods=["GET"])
            for path, handler, weight in table]
