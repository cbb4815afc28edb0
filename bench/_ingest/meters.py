"""The ingestion bench's meters: the wall clock of a pass, of A's steps, and the CPU A used.

Owns :func:`timed` (one pass after a ``gc.collect``: rows and seconds), :class:`StepTimer`
(wall-clock timers around the real functions and methods the page loop calls and the
warehouse's connections, reported under :data:`STEP_ORDER`) and :class:`CpuMeter` (CPU
seconds of this process, of the PostgreSQL server and of every other process on the machine
during a pass).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from contextlib import contextmanager

import psutil

from supplybrain_pipelines.assets.ingest import _pages as pages_module
from supplybrain_pipelines.assets.ingest import wb as wb_asset
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

#: (module or class, name) that the page loop calls, and the step they are reported under.
#: Validation runs in the asset's thread, the rest in its writer thread at the same time.
STEPS = {
    (wb_asset, "check_page"): "validate (check_page)",
    (pages_module, "stored_versions"): "stored-version check (stale/new keys)",
    (pages_module.NewRowsCopy, "write"): "bulk write (COPY new + upsert rest)",
    (pages_module.NewRowsCopy, "close"): "bulk write (COPY new + upsert rest)",
    (pages_module, "bulk_upsert"): "bulk write (COPY new + upsert rest)",
    (pages_module, "quarantine"): "quarantine + unmatched + cursor",
    (pages_module, "unmatched_wb_barcodes"): "quarantine + unmatched + cursor",
    (pages_module, "note_unmatched"): "quarantine + unmatched + cursor",
    (pages_module, "advance_cursor"): "quarantine + unmatched + cursor",
}
STEP_ORDER = ["validate (check_page)", "stored-version check (stale/new keys)",
              "bulk write (COPY new + upsert rest)", "quarantine + unmatched + cursor", "connect"]


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    gc.collect()
    start = time.perf_counter()
    rows = fn()
    return rows, time.perf_counter() - start


class StepTimer:
    """Wraps the functions the page loop looks up in its modules, and the warehouse's
    connections, with wall-clock timers (a few microseconds per page: the real functions run
    unchanged). Use as a context manager around one pipeline pass. Steps in the writer thread
    overlap validation in the asset's thread, so the steps add up to more than A's time."""

    def __init__(self, warehouse: PostgresWarehouse) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STEP_ORDER, 0.0)
        self._warehouse = warehouse
        self._saved: dict[tuple, object] = {}

    def _wrap(self, fn, step: str):
        def timed_call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[step] += time.perf_counter() - start
        return timed_call

    @contextmanager
    def transaction(self):
        start = time.perf_counter()
        with self._warehouse.transaction() as conn:
            self.seconds["connect"] += time.perf_counter() - start
            yield conn

    @contextmanager
    def connection(self):
        start = time.perf_counter()
        with self._warehouse.connection() as conn:
            self.seconds["connect"] += time.perf_counter() - start
            yield conn

    def __enter__(self) -> StepTimer:
        for (module, name), step in STEPS.items():
            self._saved[module, name] = getattr(module, name)
            setattr(module, name, self._wrap(self._saved[module, name], step))
        return self

    def __exit__(self, *exc_info: object) -> None:
        for (module, name), fn in self._saved.items():
            setattr(module, name, fn)
        self._saved.clear()


class CpuMeter:
    """CPU seconds used during a pass: by this Python process (all threads), by the PostgreSQL
    server (postmaster, its live children and the backends that have exited), and by every
    other process on the machine. On a shared machine that shows how much CPU the pass had."""

    def __init__(self, postmaster_pid: int | None) -> None:
        self._server = psutil.Process(postmaster_pid) if postmaster_pid else None

    def _server_cpu(self) -> float:
        if self._server is None:
            return 0.0
        own = self._server.cpu_times()
        total = own.user + own.system + own.children_user + own.children_system
        for child in self._server.children(recursive=True):
            try:
                times = child.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    @staticmethod
    def _machine_cpu() -> float:
        times = psutil.cpu_times()
        return times.user + times.system + times.nice + getattr(times, "irq", 0.0) + \
            getattr(times, "softirq", 0.0) + getattr(times, "steal", 0.0)

    def __enter__(self) -> CpuMeter:
        gc.collect()
        self._start = (time.process_time(), self._server_cpu(), self._machine_cpu(),
                       time.perf_counter())
        return self

    def __exit__(self, *exc_info: object) -> None:
        python, machine = time.process_time(), self._machine_cpu()
        self.elapsed = time.perf_counter() - self._start[3]
        time.sleep(0.5)  # the postmaster counts a backend's CPU once it has reaped it
        self.python = python - self._start[0]
        self.server = self._server_cpu() - self._start[1]
        self.others = max(0.0, machine - self._start[2] - self.python - self.server)
