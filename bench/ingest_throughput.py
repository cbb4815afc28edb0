"""WB orders ingestion throughput: sandbox pages into PostgreSQL, against a row-by-row insert.

Run from the repository root (about 1.5 minutes on 2 shared vCPUs)::

    .venv/bin/python bench/ingest_throughput.py [--articles N] [--repeat K]

What it does, all in one process and one run, so the ratios compare like with like:

1. Starts its own embedded PostgreSQL (durable settings: fsync and synchronous_commit on) in a
   temporary folder on a free port, creates a database, runs the Alembic migrations.
2. Generates a business (``generate_business``; 200 articles x 90 days gives ~220k WB order rows,
   no re-keying needed), loads its master data (so every barcode is mapped, as in production),
   serves it from the sandbox with ``page_cap`` rows per page (default 50 000; WB's cap is
   80 000) and fetches every WB account's ``orders`` pages ONCE through the real client
   (``MarketplaceApi(...).wb(account).pages(...)``) over HTTP. That fetch is reported on its own
   ("HTTP fetch + JSON decode"); the sandbox server runs in a thread of this same process, so
   the figure includes the server's JSON encoding and gzip and is a floor, not the client alone.
3. On the already-fetched pages, K repetitions, each on freshly truncated ingestion tables
   (``wb_orders``, cursors, quarantine, unmatched, health) followed by a CHECKPOINT:

   A  pipeline: the real ``assets.ingest.wb.ingest_incremental(..., ORDERS)`` with a
      marketplace stub that replays the fetched pages; so per page exactly what the asset does.
      In the asset's thread, per chunk of 10 000 records: ``check_page`` (validation: the fast
      path, pydantic for any record it is not sure of) and ``prepare_chunk`` (rows ordered by
      key). In its writer thread, as the chunks come: one transaction per page of
      ``write_page`` (the stored versions of the page's keys, binary COPY of the new rows chunk
      by chunk, upsert of the rest, quarantine, unmatched barcodes, cursor move). Around the
      pages: the per-account cursor read and health record.
   V  ``check_page`` only (no database), to show where A's time goes. Once, not timed per
      repetition: ``validate_page`` (pydantic alone, what A used before) for reference.
   W  A's page writes alone: ``write_page`` of the already-checked pages (whole pages), one
      transaction per page, no validation and no overlap.
   B  bulk write only: ``bulk_upsert`` of the already-validated rows (tuples prebuilt), all of
      them staged (COPY into a temporary table, then INSERT ... ON CONFLICT), one transaction
      per page, same page boundaries as A.
   C  row-by-row: the first ``--row-by-row-rows`` (default 20 000) of the same validated rows,
      one ``INSERT ... ON CONFLICT (srid) DO UPDATE ... WHERE ... IS DISTINCT FROM ...``
      statement per row (psycopg 3 ``cursor.execute``, not ``executemany``), in one transaction.

It prints medians, per-repetition ratios A/C and B/C (median), the CPU seconds A used (this
process, PostgreSQL, and every other process on the machine, which shows how much of the machine
A had), and PASS/FAIL against the targets (A >= 100 000 rows/s, A >= 10x C). It never asserts.
If A misses 100k rows/s it also profiles one A pass with cProfile (writes inline, so that the
profiler sees them) and prints the top functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import logging
import os
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import psutil
import psycopg
import pydantic
import sqlalchemy as sa

from supplybrain_pipelines.assets.ingest import _pages as pages_module
from supplybrain_pipelines.assets.ingest import wb as wb_asset
from supplybrain_pipelines.assets.ingest._pages import write_page
from supplybrain_pipelines.assets.ingest._run import IngestConfig
from supplybrain_pipelines.assets.ingest.state import active_accounts
from supplybrain_pipelines.assets.ingest.wb import ORDERS, ingest_incremental
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.db.migrate import upgrade
from supplybrain_pipelines.devstack.embedded import EmbeddedPostgres, free_port
from supplybrain_pipelines.logic.records import validate_page
from supplybrain_pipelines.logic.records_fast import CheckedPage, check_page
from supplybrain_pipelines.resources.marketplace import MarketplaceApi, WbPage
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse, bulk_upsert
from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.seed import load_master_data, register_accounts
from supplybrain_pipelines.sandbox.server import SandboxServer

DB_NAME = "supplybrain_bench"
#: Every table the orders ingestion writes: emptied before each timed pass.
STATE_TABLES = (t.wb_orders, t.ingest_cursors, t.quarantine, t.unmatched_items,
                t.account_health)
TARGET_ROWS_PER_S = 100_000
TARGET_RATIO = 10.0
#: WB's documented epoch: ask for everything the sandbox has.
WB_EPOCH = "2019-06-20T00:00:00"


def _say(text: str = "") -> None:
    print(text, flush=True)


# -- the replayed marketplace: the real asset code reads already-fetched pages ------------------
class _ReplayClient:
    def __init__(self, pages: list[WbPage]) -> None:
        self._pages = pages

    def pages(self, endpoint: str, date_from: str, *, flag: int = 0,
              max_pages: int | None = None) -> Iterator[WbPage]:
        assert endpoint == "orders", endpoint
        yield from self._pages[:max_pages]


class _ReplayMarketplace:
    """Stands in for ``MarketplaceApi``: ``wb(account)`` hands out that account's fetched pages."""

    def __init__(self, pages_by_account: dict[int, list[WbPage]]) -> None:
        self._pages = pages_by_account

    def wb(self, account, *, logger=None) -> _ReplayClient:
        return _ReplayClient(self._pages.get(account.id, []))


_QUIET = logging.getLogger("bench.ingest_throughput")
_QUIET.setLevel(logging.WARNING)
_CONTEXT = SimpleNamespace(log=_QUIET, run=SimpleNamespace(run_id="bench-ingest-throughput"))


# -- where A's time goes: wall-clock timers around the real functions the asset calls ----------
#: (module, name) that the page loop calls, and the step they are reported under. Validation runs
#: in the asset's thread, the rest in its writer thread at the same time.
STEPS = {
    (wb_asset, "check_page"): "validate (check_page)",
    (pages_module, "stored_versions"): "stored-version check (stale/new keys)",
    (pages_module, "bulk_upsert"): "bulk write (COPY new + upsert rest)",
    (pages_module, "quarantine"): "quarantine + unmatched + cursor",
    (pages_module, "unmatched_wb_barcodes"): "quarantine + unmatched + cursor",
    (pages_module, "note_unmatched"): "quarantine + unmatched + cursor",
    (pages_module, "advance_cursor"): "quarantine + unmatched + cursor",
}
STEP_ORDER = ["validate (check_page)", "stored-version check (stale/new keys)",
              "bulk write (COPY new + upsert rest)", "quarantine + unmatched + cursor", "connect"]


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


class _InlineWriter:
    """``PageWriter`` without the thread, for the profile: cProfile sees one thread only. A
    page's write runs when the next page is submitted (or at the end): by then all of its chunks
    are there."""

    def __init__(self, connect) -> None:
        self._connect = connect
        self._pending = None

    def __enter__(self) -> _InlineWriter:
        self._opened = ExitStack()
        self._conn = self._opened.enter_context(self._connect())
        return self

    def _run_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            write, then = pending
            with self._conn.begin():
                result = write(self._conn)
            then(result)

    def __exit__(self, *exc_info: object) -> None:
        try:
            if exc_info[0] is None:
                self._run_pending()
        finally:
            self._opened.close()

    def submit(self, write, then) -> None:
        self._run_pending()
        self._pending = (write, then)


# -- the measured passes -----------------------------------------------------------------------
def run_pipeline(warehouse, pages_by_account: dict[int, list[WbPage]]) -> int:
    """A: what the ``wb_orders`` asset does, page by page; returns records processed.
    ``warehouse`` is a :class:`PostgresWarehouse` or a :class:`StepTimer` in front of one."""
    outcomes = ingest_incremental(_CONTEXT, IngestConfig(), warehouse,
                                  _ReplayMarketplace(pages_by_account), ORDERS)
    skipped = [o for o in outcomes if o.skipped]
    if skipped:
        raise RuntimeError(f"accounts skipped in the pipeline pass: {skipped}")
    return sum(len(p.records) for pages in pages_by_account.values() for p in pages)


def check_all(pages_by_account: dict[int, list[WbPage]]) -> dict[int, list[CheckedPage]]:
    """V: ``check_page`` of every page exactly as the asset calls it."""
    out: dict[int, list[CheckedPage]] = {}
    for account_id, pages in pages_by_account.items():
        out[account_id] = []
        for page in pages:
            checked = check_page(page.records, ORDERS.model, (account_id,))
            if checked.rejected:
                raise RuntimeError(f"{len(checked.rejected)} records rejected; the benchmark "
                                   "expects a clean business")
            out[account_id].append(checked)
    return out


def run_validate(pages_by_account: dict[int, list[WbPage]]) -> int:
    """V, timed: check every page; returns records processed (as A counts them)."""
    check_all(pages_by_account)
    return sum(len(p.records) for pages in pages_by_account.values() for p in pages)


def run_pydantic(pages_by_account: dict[int, list[WbPage]]) -> int:
    """Reference: ``validate_page`` (the pydantic model for every record), as A did before."""
    for pages in pages_by_account.values():
        for page in pages:
            validate_page(page.records, ORDERS.model.model, key=lambda r: r.srid,
                          version=lambda r: r.last_change)
    return sum(len(p.records) for pages in pages_by_account.values() for p in pages)


def run_writes(warehouse: PostgresWarehouse, accounts: dict[int, object],
               checked: dict[int, list[CheckedPage]]) -> int:
    """W: A's page transactions alone, on already-checked pages."""
    for account_id, pages in checked.items():
        for page in pages:
            with warehouse.transaction() as conn:
                write_page(conn, ORDERS, accounts[account_id], page, _CONTEXT.run.run_id)
    return sum(len(p.rows) + len(p.rejected) for pages in checked.values() for p in pages)


def run_bulk(warehouse: PostgresWarehouse, tuples_by_page: list[list[tuple]]) -> int:
    """B: ``bulk_upsert`` of prebuilt row tuples, one transaction per page."""
    for rows in tuples_by_page:
        with warehouse.transaction() as conn:
            bulk_upsert(conn, t.wb_orders, ORDERS.columns, rows, [ORDERS.key])
    return sum(len(rows) for rows in tuples_by_page)


def _row_by_row_sql() -> str:
    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    cols = ORDERS.columns
    update = [c for c in cols if c != ORDERS.key]
    return (f"INSERT INTO {q(t.wb_orders.schema)}.{q(t.wb_orders.name)} AS t "
            f"({', '.join(q(c) for c in cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
            f"ON CONFLICT ({q(ORDERS.key)}) DO UPDATE SET "
            f"{', '.join(f'{q(c)} = EXCLUDED.{q(c)}' for c in update)} "
            f"WHERE ROW({', '.join(f't.{q(c)}' for c in update)}) IS DISTINCT FROM "
            f"ROW({', '.join(f'EXCLUDED.{q(c)}' for c in update)})")


ROW_BY_ROW_SQL = _row_by_row_sql()


def run_row_by_row(warehouse: PostgresWarehouse, rows: list[tuple]) -> int:
    """C: one INSERT ... ON CONFLICT statement per row, one transaction (psycopg's default
    prepare_threshold applies: the statement is prepared server-side after 5 executions)."""
    with warehouse.transaction() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            for row in rows:
                cur.execute(ROW_BY_ROW_SQL, row)
    return len(rows)


# -- helpers -----------------------------------------------------------------------------------
def reset(engine: sa.Engine) -> None:
    names = ", ".join(f"{tb.schema}.{tb.name}" for tb in STATE_TABLES)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names}"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("CHECKPOINT"))


def count_orders(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(t.wb_orders)).scalar_one()


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    gc.collect()
    start = time.perf_counter()
    rows = fn()
    return rows, time.perf_counter() - start


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


def fmt_rate(rows_per_s: float) -> str:
    return f"{rows_per_s:,.0f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def profile_pipeline(warehouse: PostgresWarehouse, engine: sa.Engine,
                     pages_by_account: dict[int, list[WbPage]]) -> None:
    reset(engine)
    subset = {account_id: pages[:1] for account_id, pages in pages_by_account.items()}
    rows = sum(len(p.records) for pages in subset.values() for p in pages)
    profiler = cProfile.Profile()
    gc.collect()
    saved = wb_asset.PageWriter
    wb_asset.PageWriter = _InlineWriter  # writes inline, so that the profiler sees them
    try:
        profiler.enable()
        run_pipeline(warehouse, subset)
        profiler.disable()
    finally:
        wb_asset.PageWriter = saved
    for order, limit in (("cumulative", 15), ("tottime", 12)):
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf)
        stats.sort_stats(order).print_stats(limit)
        text = buf.getvalue()
        body = text[text.index("   ncalls"):] if "   ncalls" in text else text
        _say(f"--- cProfile of pipeline A on the first page of each account ({rows:,} rows), "
             f"writes inline (no overlap), top {limit} by {order} (the profiler inflates "
             "Python-heavy parts) ---")
        for line in body.rstrip().splitlines():
            _say(line.replace(str(Path.cwd()) + "/", "").replace(sys.prefix + "/", ""))
        _say()


# -- main --------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200,
                        help="articles of the generated business (200 -> ~220k WB order rows)")
    parser.add_argument("--days", type=int, default=90, help="days of order history")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (median)")
    parser.add_argument("--page-cap", type=int, default=50_000,
                        help="rows per sandbox page (WB's real cap is 80 000)")
    parser.add_argument("--row-by-row-rows", type=int, default=20_000,
                        help="rows timed for the row-by-row path C")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto",
                        help="cProfile one pipeline pass (auto: when A < 100k rows/s)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    started = time.perf_counter()
    _say(f"ingest_throughput  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  "
         f"python {platform.python_version()}  psycopg {psycopg.__version__}  "
         f"pydantic {pydantic.__version__}  sqlalchemy {sa.__version__}  "
         f"cpus {os.cpu_count()}")
    root = Path(tempfile.mkdtemp(prefix="supplybrain-bench-pg-"))
    server = EmbeddedPostgres(root / "data", free_port(), fast_unsafe=False)
    engine: sa.Engine | None = None
    warehouse: PostgresWarehouse | None = None
    try:
        server.start()
        server.ensure_database(DB_NAME)
        url = server.url(DB_NAME)
        upgrade(url)
        url_text = url.render_as_string(hide_password=False)
        engine = sa.create_engine(url_text, poolclass=sa.pool.NullPool)
        warehouse = PostgresWarehouse(database_url=url_text)
        with engine.connect() as conn:
            pg_version = conn.execute(sa.text("SHOW server_version")).scalar_one()
        _say(f"PostgreSQL {pg_version} (embedded, fsync on, synchronous_commit on) "
             f"on 127.0.0.1:{server.port}")

        # -- the business, served and fetched once ------------------------------------------
        gen_start = time.perf_counter()
        business = generate_business(seed=args.seed, as_of=datetime.now(UTC).date(),
                                     days=args.days, articles=args.articles)
        generated = sum(len(v) for v in business.wb_orders_by_account.values())
        _say(f"business: seed {args.seed}, {args.articles} articles x {args.days} days -> "
             f"{generated:,} WB order rows over {len(business.wb_accounts)} accounts "
             f"(generated in {time.perf_counter() - gen_start:.1f} s)")
        pages_by_account: dict[int, list[WbPage]] = {}
        with SandboxServer(business, page_cap=args.page_cap) as sandbox:
            with engine.begin() as conn:
                load_master_data(conn, business)
                register_accounts(conn, business, sandbox.url)
                accounts = active_accounts(conn, "wb")
            api = MarketplaceApi(wb_min_interval_seconds=0)
            gc.collect()
            fetch_start = time.perf_counter()
            for account in accounts:
                client = api.wb(account, logger=_QUIET)
                pages_by_account[account.id] = list(client.pages("orders", WB_EPOCH))
            fetch_s = time.perf_counter() - fetch_start
            api.close()
        del business
        fetched = sum(len(p.records) for ps in pages_by_account.values() for p in ps)
        n_pages = sum(len(ps) for ps in pages_by_account.values())
        distinct = len({r["srid"] for ps in pages_by_account.values() for p in ps
                        for r in p.records})
        _say(f"fetched {fetched:,} records in {n_pages} pages (page_cap {args.page_cap:,}; "
             f"{distinct:,} distinct srids: each page repeats the rows at its start cursor) "
             f"in {fetch_s:.2f} s")
        if distinct < 200_000:
            _say(f"NOTE: fewer than 200k rows ({distinct:,}); raise --articles or --days")

        # -- checked pages for W, row tuples for B and C (untimed) ----------------------------
        checked = check_all(pages_by_account)
        account_by_id = {account.id: account for account in accounts}
        tuples_by_page = [page.rows for pages in checked.values() for page in pages]
        seen: set[str] = set()
        rbr_rows: list[tuple] = []
        for rows in tuples_by_page:
            for row in rows:
                if row[0] not in seen and len(rbr_rows) < args.row_by_row_rows:
                    seen.add(row[0])
                    rbr_rows.append(row)
        gc.collect()
        pydantic_s = timed(lambda: run_pydantic(pages_by_account))[1]

        # -- warm-up (untimed): imports, statement caches, prepared statements ---------------
        first_id = next(iter(pages_by_account))
        first = pages_by_account[first_id][0]
        small = WbPage(first.records[:2000], first.date_from, None)
        reset(engine)
        run_pipeline(warehouse, {first_id: [small]})
        reset(engine)
        run_bulk(warehouse, [tuples_by_page[0][:2000]])
        reset(engine)
        run_writes(warehouse, account_by_id, {first_id: [check_page(small.records, ORDERS.model,
                                                                    (first_id,))]})
        reset(engine)
        run_row_by_row(warehouse, rbr_rows[:500])

        # -- timed repetitions -----------------------------------------------------------------
        results: dict[str, list[tuple[int, float]]] = {k: [] for k in "AVWBC"}
        breakdowns: list[dict[str, float]] = []
        cpu_a: list[CpuMeter] = []
        for rep in range(1, args.repeat + 1):
            reset(engine)
            with StepTimer(warehouse) as steps, CpuMeter(server.pid()) as cpu:
                results["A"].append(timed(lambda: run_pipeline(steps, pages_by_account)))
            breakdowns.append(steps.seconds)
            cpu_a.append(cpu)
            stored = count_orders(engine)
            if stored != distinct:
                raise RuntimeError(f"pipeline stored {stored} orders, expected {distinct}")
            results["V"].append(timed(lambda: run_validate(pages_by_account)))
            reset(engine)
            results["W"].append(timed(lambda: run_writes(warehouse, account_by_id, checked)))
            if count_orders(engine) != distinct:
                raise RuntimeError("page writes stored a different number of orders")
            reset(engine)
            results["B"].append(timed(lambda: run_bulk(warehouse, tuples_by_page)))
            if count_orders(engine) != distinct:
                raise RuntimeError("bulk write stored a different number of orders")
            reset(engine)
            results["C"].append(timed(lambda: run_row_by_row(warehouse, rbr_rows)))
            if count_orders(engine) != len(rbr_rows):
                raise RuntimeError("row-by-row stored a different number of orders")
            line = "  ".join(f"{k} {n / s:>9,.0f}/s" for k, ((n, s)) in
                             ((k, v[-1]) for k, v in results.items()))
            _say(f"rep {rep}/{args.repeat}: {line}")

        def rate(key: str, i: int) -> float:
            n, s = results[key][i]
            return n / s

        def median_rate(key: str) -> tuple[int, float, float, float, float]:
            rows = results[key][0][0]
            secs = statistics.median(s for _, s in results[key])
            rates = [rate(key, i) for i in range(args.repeat)]
            return rows, secs, rows / secs, min(rates), max(rates)

        ratio_ac = [rate("A", i) / rate("C", i) for i in range(args.repeat)]
        ratio_bc = [rate("B", i) / rate("C", i) for i in range(args.repeat)]
        share_v = [results["V"][i][1] / results["A"][i][1] for i in range(args.repeat)]
        labels = {
            "A": "A pipeline (validate+stale+write+cursor)",
            "V": "  its validation alone (check_page, no DB)",
            "W": "  its page writes alone (write_page)",
            "B": "B bulk_upsert, all rows staged",
            "C": "C row-by-row INSERT..ON CONFLICT",
        }
        _say()
        _say(f"results: median of {args.repeat} repetitions "
             f"(machine: {os.cpu_count()} vCPU, shared)")
        header = f"{'path':<42} {'rows':>9} {'median s':>9} {'rows/s':>10}  {'min..max rows/s':>19}"
        _say(header)
        _say("-" * len(header))
        medians = {}
        for key in "AVWBC":
            rows, secs, r, lo, hi = median_rate(key)
            medians[key] = r
            _say(f"{labels[key]:<42} {rows:>9,} {secs:>9.3f} {fmt_rate(r):>10}  "
                 f"{fmt_rate(lo):>9}..{fmt_rate(hi)}")
        _say(f"{'validate_page, pydantic only (once)':<42} {fetched:>9,} {pydantic_s:>9.3f} "
             f"{fmt_rate(fetched / pydantic_s):>10}  {'(single run)':>19}")
        _say(f"{'HTTP fetch + JSON decode (once)':<42} {fetched:>9,} {fetch_s:>9.3f} "
             f"{fmt_rate(fetched / fetch_s):>10}  {'(single run)':>19}")
        _say()
        _say(f"ratio A/C (median of per-repetition ratios): {statistics.median(ratio_ac):6.1f}x"
             f"   [{', '.join(f'{x:.1f}' for x in ratio_ac)}]")
        _say(f"ratio B/C (median of per-repetition ratios): {statistics.median(ratio_bc):6.1f}x"
             f"   [{', '.join(f'{x:.1f}' for x in ratio_bc)}]")
        _say()
        a_median_s = statistics.median(s for _, s in results["A"])
        _say("where A's time goes (wall clock per step, median over repetitions; timers around "
             "the real calls; steps in the asset's thread and in its writer thread run at the "
             "same time):")
        for step in STEP_ORDER:
            secs = statistics.median(b[step] for b in breakdowns)
            _say(f"  {step:<42} {secs:7.3f} s  {secs / a_median_s:5.0%}")
        overlap = [sum(b.values()) - results["A"][i][1] for i, b in enumerate(breakdowns)]
        _say(f"  {'steps overlapping (sum of steps - A)':<42} {statistics.median(overlap):7.3f} s")
        _say(f"  (check_page alone, outside the pipeline: {statistics.median(share_v):.0%} "
             "of A's time)")
        _say()
        py_cpu = statistics.median(c.python for c in cpu_a)
        pg_cpu = statistics.median(c.server for c in cpu_a)
        other_cpu = statistics.median(c.others for c in cpu_a)
        elapsed = statistics.median(c.elapsed for c in cpu_a)
        cores = os.cpu_count() or 1
        _say(f"CPU during A (median s): this Python process {py_cpu:.2f}, PostgreSQL "
             f"{pg_cpu:.2f}, other processes on the machine {other_cpu:.2f}, of "
             f"{cores} x {elapsed:.2f} = {cores * elapsed:.2f} available")
        a_rows = results["A"][0][0]
        bound = a_rows / max(py_cpu, pg_cpu, (py_cpu + pg_cpu) / cores)
        _say(f"  A's own CPU per row: {(py_cpu + pg_cpu) / a_rows * 1e6:.1f} us (Python "
             f"{py_cpu / a_rows * 1e6:.1f} + PostgreSQL {pg_cpu / a_rows * 1e6:.1f}); with the "
             f"{cores} cores to itself, A could reach about {fmt_rate(bound)} rows/s")
        _say()
        a_ok = medians["A"] >= TARGET_ROWS_PER_S
        w_ok = medians["W"] >= TARGET_ROWS_PER_S
        _say(f"target A >= {TARGET_ROWS_PER_S:,} rows/s : {verdict(a_ok)} "
             f"({fmt_rate(medians['A'])} rows/s)")
        if not a_ok:
            _say(f"       W >= {TARGET_ROWS_PER_S:,} rows/s : {verdict(w_ok)} "
                 f"({fmt_rate(medians['W'])} rows/s; A's database writes alone)")
        _say(f"target A/C >= {TARGET_RATIO:.0f}x          : "
             f"{verdict(statistics.median(ratio_ac) >= TARGET_RATIO)}")
        _say(f"       B/C >= {TARGET_RATIO:.0f}x          : "
             f"{verdict(statistics.median(ratio_bc) >= TARGET_RATIO)}")
        _say()

        if args.profile == "always" or (args.profile == "auto" and not a_ok):
            profile_pipeline(warehouse, engine, pages_by_account)
        _say(f"total wall time {time.perf_counter() - started:.0f} s")
        return 0
    except sa.exc.DBAPIError as exc:  # the statement may be megabytes long: show the cause only
        _say(f"FAILED: {type(exc.orig).__name__}: {str(exc.orig)[:300]}")
        if "65535" in str(exc.orig):
            _say("(a statement bound one parameter per row: a page of more than 65 535 rows "
                 "exceeds PostgreSQL's limit of bind parameters per statement)")
        return 1
    finally:
        if warehouse is not None and warehouse._engine is not None:
            warehouse._engine.dispose()
        if engine is not None:
            engine.dispose()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
