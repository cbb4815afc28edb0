"""MoySklad JSON API 1.2 emulation, mounted under ``/api/remap/1.2``.

- ``GET /entity/customerorder``: ``limit`` 1..1000 (default 1000), ``offset``,
  ``filter=updated>=YYYY-MM-DD HH:MM:SS`` (also moment/created/deleted; ``= != < > <= >=``;
  ``;`` joins), ``expand=positions`` or ``positions.assortment``, ignored when limit > 100 as
  in MoySklad. Positions are a MetaArray: ``{"meta": …, "rows": […]}`` when expanded, else
  only ``meta``. Orders in the recycle bin are left out unless ``filter=isDeleted=true`` (only
  them) or ``isDeleted=true;isDeleted=false`` (both); they carry ``deleted``, the moment of
  their last deletion. Every order has a ``state`` (a meta of its account's states).
- ``GET /entity/customerorder/metadata``: the account's ``states`` (MoySklad's standard ones).
- ``GET /entity/customerorder/{id}/positions``: the positions of one order (paged;
  ``expand=assortment`` with limit <= 100).
- ``GET /entity/assortment``: products and variants (``barcodes``, ``article``/``code``,
  ``characteristics``, ``meta.type``), paged the same way; ``filter=updated>=…`` reads only
  what changed.
- ``GET /report/stock/bystore/current`` and ``/report/stock/all/current``: unpaged arrays, weight 5.
- ``GET /context/employee``: the token's employee (``meta``, ``id``, ``name``, ``uid``).

Lists answer ``{"context", "meta": {"href", "size", "limit", "offset", "nextHref"?,
"previousHref"?}, "rows"}``; ``nextHref`` only while rows remain.

The business changes over time through :class:`MoySkladApi`'s change methods
(``MoySkladApi.of(server.state)``): an order moved to another state, put into the recycle
bin or restored, an assortment item edited. Each stamps ``updated`` (Moscow time, now) like
MoySklad; the generated :class:`Business` itself is never changed (tests share it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.routing import Route

from supplybrain_pipelines.sandbox.malformed import inject
from supplybrain_pipelines.sandbox.model import (
    MS_PREFIX,
    MS_PUBLIC_BASE,
    MSK,
    ms_time,
    parse_ms_time,
)
from supplybrain_pipelines.sandbox.moysklad_data import customer_order_states, state_ref
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


def _split_deleted(text: str | None) -> tuple[str, set[bool]]:
    """``filter`` without its ``isDeleted`` parts, and which bin states they ask for (default:
    only documents that are not in the recycle bin)."""
    rest, wanted = [], set()
    for part in (text or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "isDeleted":
            if value.strip().lower() not in ("true", "false"):
                raise ApiError(400, f"Неверное значение фильтра isDeleted: {value!r}", 1002)
            wanted.add(value.strip().lower() == "true")
        else:
            rest.append(part)
    return ";".join(rest), wanted or {False}


def _now_msk() -> str:
    return ms_time(datetime.now(MSK).replace(tzinfo=None))


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
        # Own copies (shallow: a change replaces a row, never edits the shared one).
        self.assortment_rows = list(business.ms_assortment)
        self.order_rows = list(business.ms_customer_orders)
        self.by_href = {row["meta"]["href"]: row for row in self.assortment_rows}
        self.orders = {order["id"]: order for order in self.order_rows}
        #: Ids of the orders in the recycle bin.
        self.in_bin: set[str] = set()
        self.account_id = business.moysklad_accounts[0].external_id
        state.cache[MoySkladApi] = self

    @staticmethod
    def of(state: SandboxState) -> MoySkladApi:
        """The MoySklad emulator of a running sandbox (to change its business)."""
        return state.cache[MoySkladApi]

    # -- changes over time ---------------------------------------------------------------------
    def _replace_order(self, order_id: str, **changes: Any) -> dict[str, Any]:
        if order_id not in self.orders:
            raise KeyError(f"no customer order {order_id!r} in the sandbox")
        order = {**self.orders[order_id], **changes}
        self.orders[order_id] = order
        self.order_rows = sorted((self.orders[o["id"]] for o in self.order_rows),
                                 key=lambda o: (o["updated"], o["id"]))
        return order

    def set_order_state(self, order_id: str, state_name: str) -> dict[str, Any]:
        """Move an order to one of the account's states (e.g. "Отменен"); ``updated`` = now."""
        return self._replace_order(order_id, state=state_ref(self.account_id, state_name),
                                   updated=_now_msk())

    def delete_order(self, order_id: str) -> dict[str, Any]:
        """Put an order into the recycle bin: it leaves the default lists and carries
        ``deleted`` (now)."""
        order = self._replace_order(order_id, deleted=_now_msk())
        self.in_bin.add(order_id)
        return order

    def restore_order(self, order_id: str) -> dict[str, Any]:
        """Take an order out of the recycle bin (``deleted`` keeps the last deletion);
        ``updated`` = now."""
        self.in_bin.discard(order_id)
        return self._replace_order(order_id, updated=_now_msk())

    def update_item(self, item_id: str, **fields: Any) -> dict[str, Any]:
        """Change fields of an assortment item (e.g. ``name``); ``updated`` = now."""
        index = next((i for i, row in enumerate(self.assortment_rows) if row["id"] == item_id),
                     None)
        if index is None:
            raise KeyError(f"no assortment item {item_id!r} in the sandbox")
        row = {**self.assortment_rows[index], **fields, "updated": _now_msk()}
        self.assortment_rows[index] = row
        self.by_href[row["meta"]["href"]] = row
        return row

    # -- endpoints -----------------------------------------------------------------------------

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
        rest, bin_states = _split_deleted(request.query_params.get("filter"))
        keep = _filter(rest, {"updated": "time", "moment": "time", "created": "time",
                              "deleted": "time"})
        matching = [o for o in self.order_rows
                    if (o["id"] in self.in_bin) in bin_states and keep(o)]
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
        matching = [row for row in self.assortment_rows if keep(row)]
        rows = matching[offset:offset + limit]
        return Served(_list(request, "assortment", rows, len(matching), limit, offset),
                      len(rows), [], [r["id"] for r in rows])

    def order_metadata(self, request: Request, account: str) -> Served:
        states = customer_order_states(self.account_id)
        payload = {"meta": {"href": f"{MS_PUBLIC_BASE}/entity/customerorder/metadata",
                            "mediaType": "application/json"},
                   "attributes": [], "states": states, "createShared": False}
        return Served(payload, len(states), [], [s["id"] for s in states])

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

    def context_employee(self, request: Request, account: str) -> Served:
        """The token's employee: what ``accounts add`` asks to check a token."""
        href = f"{MS_PUBLIC_BASE}/context/employee"
        return Served({"meta": {**_CONTEXT["employee"]["meta"], "href": href},
                       "id": f"sandbox-employee-{account}", "name": account, "uid": "admin@"
                       + account.lower().replace(" ", "-")})

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
        ("/entity/customerorder/metadata", api.order_metadata, 1),
        ("/entity/customerorder/{order_id}/positions", api.order_positions, 1),
        ("/entity/assortment", api.assortment, 1),
        ("/report/stock/bystore/current", api.stock_by_store, STOCK_WEIGHT),
        ("/report/stock/all/current", api.stock_all, STOCK_WEIGHT),
        ("/context/employee", api.context_employee, 1),
    )
    return [Route(MS_PREFIX + path,
                  endpoint(state, "moysklad", MS_PREFIX + path, handler, weight=weight),
                  methods=["GET"])
            for path, handler, weight in table]
