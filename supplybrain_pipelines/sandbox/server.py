"""The sandbox HTTP server: WB statistics + MoySklad 1.2 emulators on loopback.

``with SandboxServer(business) as sandbox:`` starts uvicorn in a background thread on a free
port of 127.0.0.1, waits until it answers, and stops it (joining the thread) on exit.
``serve_forever()`` runs the same app in the foreground for the command line.

Control endpoints (for tests in another process): ``GET /__sandbox/health``,
``GET|DELETE /__sandbox/stats``, ``GET|POST /__sandbox/faults``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import socket
import threading
import time
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from supplybrain_pipelines.sandbox import moysklad_api, wb_api
from supplybrain_pipelines.sandbox.faults import Faults
from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.model import MS_PREFIX, Business
from supplybrain_pipelines.sandbox.service import AccessLog, SandboxConfig, SandboxState

LOG = logging.getLogger("supplybrain_pipelines.sandbox")


def _control_routes(state: SandboxState) -> list[Route]:
    async def health(request: Request) -> JSONResponse:
        names = [a.name for a in state.business.accounts]
        return JSONResponse({"ok": True, "accounts": names, "seed": state.business.seed,
                             "as_of": state.business.as_of.isoformat()})

    async def stats(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            state.stats.reset()
        entries = [{"api": api, "path": path, "account": account, **values}
                   for (api, path, account), values in sorted(state.stats.snapshot().items())]
        return JSONResponse({"entries": entries})

    async def faults(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                body = json.loads(await request.body() or b"{}")
                actions = body.get("actions", [body]) if isinstance(body, dict) else body
                for action in actions:
                    action = dict(action)
                    if "account" in action:  # name an account instead of sending its token
                        action["token"] = state.token_of(action.pop("account"))
                    state.faults.apply(action)
            except (ValueError, TypeError, AttributeError) as exc:
                return JSONResponse({"ok": False, "error": str(exc)}, 400)
        return JSONResponse({"ok": True, "faults": state.faults.snapshot()})

    return [
        Route("/__sandbox/health", health, methods=["GET"]),
        Route("/__sandbox/stats", stats, methods=["GET", "DELETE"]),
        Route("/__sandbox/faults", faults, methods=["GET", "POST"]),
    ]


def build_app(state: SandboxState) -> Starlette:
    """The ASGI app: both APIs, the control routes, gzip on request, our access log."""
    return Starlette(
        routes=[*wb_api.routes(state), *moysklad_api.routes(state), *_control_routes(state)],
        middleware=[Middleware(AccessLog), Middleware(GZipMiddleware, minimum_size=0)],
    )


def _check_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the sandbox listens on loopback only (127.0.0.1 or ::1), not {host!r}")


def _uvicorn_config(app: Starlette, **extra: Any) -> uvicorn.Config:
    # log_config=None: leave the process's logging alone; access_log=False: ours logs instead
    # (method, path, status), uvicorn's would print query strings.
    return uvicorn.Config(app, log_config=None, log_level="warning", access_log=False,
                          lifespan="off", timeout_graceful_shutdown=2, **extra)


class SandboxServer:
    """The sandbox on a real loopback port, in a background thread."""

    def __init__(self, business: Business | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, page_cap: int = 1000, wb_min_interval_s: float = 0.0,
                 ms_units_per_window: int = 45, ms_window_s: float = 3.0,
                 start_timeout_s: float = 15.0) -> None:
        _check_loopback(host)
        if page_cap < 1:
            raise ValueError("page_cap must be at least 1")
        self.business = business if business is not None else generate_business()
        self.faults = Faults()
        config = SandboxConfig(page_cap, wb_min_interval_s, ms_units_per_window, ms_window_s)
        self.state = SandboxState(self.business, config, self.faults)
        self.app = build_app(self.state)
        self.host, self.port = host, port
        self._start_timeout_s = start_timeout_s
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def wb_base_url(self) -> str:
        return self.url

    @property
    def moysklad_base_url(self) -> str:
        return self.url + MS_PREFIX

    def stats(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        """(api, path, account) -> requests, statuses, records, malformed, truncated, distinct,
        distinct_positions. ``path`` is the route path, e.g. ``/api/v1/supplier/orders``."""
        return self.state.stats.snapshot()

    def reset_stats(self) -> None:
        self.state.stats.reset()

    def start(self) -> SandboxServer:
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._socket = sock
        self.faults.stopping.clear()
        self._server = uvicorn.Server(_uvicorn_config(self.app))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        self._wait_until_ready()
        LOG.info("sandbox listening on %s", self.url)
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self._start_timeout_s
        while time.monotonic() < deadline:
            if self._thread is None or not self._thread.is_alive():
                break
            if self._server is not None and self._server.started:
                try:
                    if httpx.get(self.url + "/__sandbox/health", timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"the sandbox server did not answer on {self.url} within "
                           f"{self._start_timeout_s:.0f} s")

    def stop(self) -> None:
        self.faults.stopping.set()  # cut hanging and slow answers short
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            if self._thread.is_alive():
                raise RuntimeError("the sandbox server thread did not stop within 15 s")
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve_forever(business: Business | None = None, *, host: str = "127.0.0.1",
                  port: int = 8765, page_cap: int = 1000, wb_min_interval_s: float = 0.0,
                  ms_units_per_window: int = 45, ms_window_s: float = 3.0) -> None:
    """Run the sandbox in the foreground until Ctrl-C (one access-log line per request)."""
    _check_loopback(host)
    business = business if business is not None else generate_business()
    state = SandboxState(business, SandboxConfig(page_cap, wb_min_interval_s,
                                                 ms_units_per_window, ms_window_s), Faults())
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    shown = f"[{host}]" if ":" in host else host
    LOG.info("sandbox on http://%s:%d (MoySklad under %s); seed %d, as_of %s; accounts: %s",
             shown, port, MS_PREFIX, business.seed, business.as_of,
             ", ".join(a.name for a in business.accounts))
    # uvicorn re-raises the Ctrl-C it handled once it has shut down: that is a normal stop.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(_uvicorn_config(build_app(state), host=host, port=port)).run()
    LOG.info("sandbox stopped")
