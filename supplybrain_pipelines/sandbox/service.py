"""What every sandbox endpoint shares: accounts and tokens, rate limits, faults, stats, errors
and the access log.

An API handler is a plain function ``(request, account) -> Served``; :func:`endpoint` wraps it
in the pipeline a request goes through: gzip requirement (MoySklad) → slow/hang faults →
forced 5xx → forced 429 → token check (401) → the API's own rate limit (429) → the handler
(400 on bad parameters) → truncation fault → stats. The access log prints method, path and
status only: never a query string or a header, so never a token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from supplybrain_pipelines.sandbox.faults import Faults
from supplybrain_pipelines.sandbox.model import MS_PREFIX, MS_PUBLIC_BASE, Business

ACCESS_LOG = logging.getLogger("supplybrain_pipelines.sandbox.access")


@dataclass(frozen=True)
class SandboxConfig:
    page_cap: int = 1000
    wb_min_interval_s: float = 0.0
    ms_units_per_window: int = 45
    ms_window_s: float = 3.0


@dataclass
class Served:
    """A handler's answer: the JSON payload and what to count in the stats."""

    payload: Any
    records: int = 0  # good rows served
    malformed: list[str] = field(default_factory=list)  # kinds of bad rows mixed in
    keys: Iterable[Any] = ()  # natural keys of the good rows
    positions: Iterable[Any] = ()  # MoySklad position ids served with them


class ApiError(Exception):
    """A client error (bad parameters) that the API answers with its own error body."""

    def __init__(self, status: int, detail: str, code: int = 1002) -> None:
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code


class Stats:
    """Requests and records served per (api, path, account)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._entries: dict[tuple[str, str, str], dict[str, Any]] = {}

    def record(self, api: str, path: str, account: str, status: int,
               served: Served | None = None, truncated: bool = False) -> None:
        with self._lock:
            entry = self._entries.setdefault((api, path, account), {
                "requests": 0, "statuses": defaultdict(int), "records": 0, "malformed": 0,
                "truncated": 0, "keys": set(), "positions": set()})
            entry["requests"] += 1
            entry["statuses"][status] += 1
            if truncated:
                entry["truncated"] += 1
            elif served is not None:
                entry["records"] += served.records
                entry["malformed"] += len(served.malformed)
                entry["keys"].update(served.keys)
                entry["positions"].update(served.positions)

    def snapshot(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        """(api, path, account) -> requests, statuses, records (good rows served, repeats
        included), malformed, truncated, distinct (distinct keys of good rows),
        distinct_positions."""
        with self._lock:
            return {key: {"requests": e["requests"], "statuses": dict(e["statuses"]),
                          "records": e["records"], "malformed": e["malformed"],
                          "truncated": e["truncated"], "distinct": len(e["keys"]),
                          "distinct_positions": len(e["positions"])}
                    for key, e in self._entries.items()}


class WbLimiter:
    """WB: at most one request per ``interval`` seconds per (token, method)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def check(self, token: str, method: str) -> float | None:
        """None if allowed (and counted), else the seconds to wait."""
        if self.interval <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            last = self._last.get((token, method))
            if last is not None and now - last < self.interval:
                return self.interval - (now - last)
            self._last[(token, method)] = now
        return None


class MsLimiter:
    """MoySklad: ``units`` per sliding ``window`` seconds per token; requests have weights."""

    def __init__(self, units: int, window: float) -> None:
        self.units, self.window = units, window
        self._used: dict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, token: str, weight: int) -> tuple[int | None, int]:
        """(None, remaining units) if allowed and counted, else (ms to wait, 0)."""
        now = time.monotonic()
        with self._lock:
            used = self._used[token]
            while used and used[0][0] <= now - self.window:
                used.popleft()
            total = sum(w for _, w in used)
            if total + weight <= self.units:
                used.append((now, weight))
                return None, self.units - total - weight
            freed = 0
            for moment, w in used:
                freed += w
                if total - freed + weight <= self.units:
                    return max(1, math.ceil((moment + self.window - now) * 1000)), 0
            return math.ceil(self.window * 1000), 0


class SandboxState:
    """The business being served and everything the endpoints share."""

    def __init__(self, business: Business, config: SandboxConfig, faults: Faults) -> None:
        self.business, self.config, self.faults = business, config, faults
        self.stats = Stats()
        self.tokens = {
            "wb": {a.token: a.name for a in business.wb_accounts},
            "moysklad": {a.token: a.name for a in business.moysklad_accounts},
        }
        self.wb_limiter = WbLimiter(config.wb_min_interval_s)
        self.ms_limiter = MsLimiter(config.ms_units_per_window, config.ms_window_s)
        self.cache: dict[Any, Any] = {}

    def token_of(self, account_name: str) -> str:
        for tokens in self.tokens.values():
            for token, name in tokens.items():
                if name == account_name:
                    return token
        raise ValueError(f"no sandbox account is named {account_name!r}")


def wb_problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    phrase = HTTPStatus(status).phrase
    body = {"title": phrase.lower(), "detail": detail, "code": f"sandbox-{status}",
            "requestId": uuid.uuid4().hex, "origin": "s2s-api-auth-stat", "status": status,
            "statusText": phrase, "timestamp": datetime.now(UTC).isoformat(timespec="seconds")}
    return JSONResponse(body, status, headers, media_type="application/problem+json")


def ms_error(status: int, message: str, code: int, headers: dict[str, str] | None = None
             ) -> Response:
    body = {"errors": [{"error": message, "code": code,
                        "moreInfo": f"https://dev.moysklad.ru/doc/api/remap/1.2/#error_{code}"}]}
    return JSONResponse(body, status, headers)


def error(api: str, status: int, detail: str, code: int = 1000,
          headers: dict[str, str] | None = None) -> Response:
    if api == "wb":
        return wb_problem(status, detail, headers)
    return ms_error(status, detail, code, headers)


def token_from(request: Request, api: str) -> str | None:
    header = request.headers.get("authorization", "").strip()
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return (header or None) if api == "wb" else None  # WB takes the raw token too


async def pause(seconds: float, stopping: threading.Event) -> None:
    """Sleep without blocking the loop, cut short when the server stops."""
    end = time.monotonic() + seconds
    while not stopping.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.05))


def _retry_headers(api: str, seconds: float, remaining_ms: int | None = None) -> dict[str, str]:
    if api == "wb":
        wait = str(max(1, math.ceil(seconds)))
        return {"X-Ratelimit-Retry": wait, "X-Ratelimit-Reset": wait,
                "X-Ratelimit-Remaining": "0"}
    wait_ms = remaining_ms if remaining_ms is not None else max(1, math.ceil(seconds * 1000))
    return {"X-Lognex-Retry-After": str(wait_ms), "X-RateLimit-Remaining": "0"}


def _body(api: str, request: Request, payload: Any) -> bytes:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    if api == "moysklad":
        text = text.replace(MS_PUBLIC_BASE, f"{request.url.scheme}://{request.url.netloc}"
                            f"{MS_PREFIX}")
    # a lone surrogate (a malformed record) has no UTF-8 form: it goes as JSON's \udXXX escape
    return text.encode("utf-8", "backslashreplace")


Handler = Callable[[Request, str], Served]


def endpoint(state: SandboxState, api: str, label: str, handler: Handler, *,
             weight: int = 1) -> Callable[[Request], Any]:
    """The request pipeline around ``handler``; ``label`` names the path in the stats."""
    faults = state.faults

    async def run(request: Request) -> Response:
        path = request.url.path
        account = "-"

        def done(response: Response, served: Served | None = None,
                 truncated: bool = False) -> Response:
            state.stats.record(api, label, account, response.status_code, served, truncated)
            return response

        if api == "moysklad" and "gzip" not in request.headers.get("accept-encoding", ""):
            return done(Response(status_code=415))
        delay = faults.delay(api, path)
        if delay:
            await pause(delay, faults.stopping)
        hang = faults.take("hang", api, path)
        if hang is not None:
            await pause(hang.seconds, faults.stopping)
        fail = faults.take("fail", api, path)
        if fail is not None:
            return done(error(api, fail.status, "sandbox fault: injected server error"))
        forced = faults.take("rate_limit", api, path)
        if forced is not None:
            return done(error(api, 429, "sandbox fault: too many requests", 1049,
                              _retry_headers(api, forced.retry_after_s)))
        token = token_from(request, api)
        account = state.tokens[api].get(token or "", "-")
        if account == "-" or faults.is_revoked(token):
            return done(error(api, 401, "unauthorized: the token is missing, unknown or "
                              "revoked", 1056))
        extra: dict[str, str] = {}
        if api == "wb":
            wait = state.wb_limiter.check(token, label)
            if wait is not None:
                return done(error(api, 429, "too many requests", 0, _retry_headers(api, wait)))
        else:
            wait_ms, remaining = state.ms_limiter.check(token, weight)
            limit = str(state.config.ms_units_per_window)
            if wait_ms is not None:
                headers = _retry_headers(api, 0, wait_ms)
                headers.update({"X-RateLimit-Limit": limit,
                                "X-Lognex-Retry-TimeInterval": str(int(state.config.ms_window_s
                                                                       * 1000))})
                return done(error(api, 429, "Превышено ограничение на количество запросов",
                                  1049, headers))
            extra = {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": str(remaining)}
        try:
            served = handler(request, account)
        except ApiError as exc:
            return done(error(api, exc.status, exc.detail, exc.code))
        if served.malformed:
            faults.record_injected(api, path, served.malformed)
        body = _body(api, request, served.payload)
        media = "application/json;charset=utf-8" if api == "moysklad" else "application/json"
        if faults.take("truncate", api, path) is not None:
            return done(Response(body[: len(body) // 2], 200, extra, media), served, True)
        return done(Response(body, 200, extra, media), served)

    return run


class AccessLog:
    """ASGI middleware: one line per request with method, path and status (nothing else)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 0}

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            ACCESS_LOG.info("%s %s %s", scope["method"], scope["path"], status["code"])
