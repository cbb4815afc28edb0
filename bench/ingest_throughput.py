"""WB orders ingestion throughput: sandbox pages into PostgreSQL, against a row-by-row insert.

Run from the repository root (about 1.5-2.5 minutes on 2 shared vCPUs)::

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
      marketplace stub that replays the fetched pages; so per page exactly what the asset does:
      ``validate_page`` (pydantic) + one transaction of ``drop_stale``, ``bulk_upsert``,
      quarantine, unmatched barcodes and the cursor move (plus the per-account cursor read and
      health record around it).
   V  validate_page only (no database), to show where A's time goes.
   B  bulk write only: ``bulk_upsert`` of the already-validated rows (tuples prebuilt), one
      transaction per page, same page boundaries as A.
   C  row-by-row: the first ``--row-by-row-rows`` (default 20 000) of the same validated rows,
      one ``INSERT ... ON CONFLICT (srid) DO UPDATE ... WHERE ... IS DISTINCT FROM ...``
      statement per row (psycopg 3 ``cursor.execute``, not ``executemany``), in one transaction.

It prints medians, per-repetition ratios A/C and B/C (median), and PASS/FAIL against the targets
(A >= 100 000 rows/s, A >= 10x C). It never asserts. If A misses 100k rows/s it also profiles one
A pass with cProfile and prints the top functions by cumulative and by own time.
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
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pydantic
import sqlalchemy as sa

from supplybrain_pipelines.assets.ingest import wb as wb_asset
from supplybrain_pipelines.assets.ingest._run import IngestConfig
from supplybrain_pipelines.assets.ingest.state import active_accounts
from supplybrain_pipelines.assets.ingest.wb import ORDERS, ingest_incremental
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.db.migrate import upgrade
from supplybrain_pipelines.devstack.embedded import EmbeddedPostgres, free_port
from supplybrain_pipelines.logic.records import validate_page
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
#: Names in ``assets.ingest.wb`` that the page loop calls, and the step they are reported under.
STEPS = {
    "validate_page": "validate_page (pydantic)",
    "drop_stale": "drop_stale (stale-check query)",
    "bulk_upsert": "bulk_upsert (COPY + INSERT..ON CONFLICT)",
    "quarantine": "quarantine + unmatched + cursor",
    "_unmatched_barcodes": "quarantine + unmatched + cursor",
    "note_unmatched": "quarantine + unmatched + cursor",
    "advance_cursor": "quarantine + unmatched + cursor",
}
STEP_ORDER = ["validate_page (pydantic)", "drop_stale (stale-check query)",
              "bulk_upsert (COPY + INSERT..ON CONFLICT)", "quarantine + unmatched + cursor",
              "connect + begin", "commit", "other (to_row, loop, account set-up)"]


class StepTimer:
    """Wraps the functions ``ingest_incremental`` looks up in its module, and the warehouse's
    transactions, with wall-clock timers (a few microseconds per page: the real functions run
    unchanged). Use as a context manager around one pipeline pass."""

    def __init__(self, warehouse: PostgresWarehouse) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STEP_ORDER, 0.0)
        self._warehouse = warehouse
        self._saved: dict[str, object] = {}

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
            self.seconds["connect + begin"] += time.perf_counter() - start
            yield conn
            start = time.perf_counter()
        self.seconds["commit"] += time.perf_counter() - start

    def __enter__(self) -> StepTimer:
        for name, step in STEPS.items():
            self._saved[name] = getattr(wb_asset, name)
            setattr(wb_asset, name, self._wrap(self._saved[name], step))
        return self

    def __exit__(self, *exc_info: object) -> None:
        for name, fn in self._saved.items():
            setattr(wb_asset, name, fn)
        self._saved.clear()

    def finish(self, total_s: float) -> dict[str, float]:
        self.seconds["other (to_row, loop, account set-up)"] = total_s - sum(
            v for k, v in self.seconds.items() if not k.startswith("other"))
        return self.seconds


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


def validate_all(pages_by_account: dict[int, list[WbPage]]) -> dict[int, list[list]]:
    """V: ``validate_page`` of every page exactly as the asset calls it; the valid rows."""
    out: dict[int, list[list]] = {}
    for account_id, pages in pages_by_account.items():
        out[account_id] = []
        for page in pages:
            rows, rejected = validate_page(page.records, ORDERS.model,
                                           key=lambda r: getattr(r, ORDERS.key),
                                           version=lambda r: r.last_change)
            if rejected:
                raise RuntimeError(f"{len(rejected)} records rejected; the benchmark expects a "
                                   "clean business")
            out[account_id].append(rows)
    return out


def run_validate(pages_by_account: dict[int, list[WbPage]]) -> int:
    """V, timed: validate every page; returns records processed (as A counts them)."""
    validate_all(pages_by_account)
    return sum(len(p.records) for pages in pages_by_account.values() for p in pages)


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
    profiler.enable()
    run_pipeline(warehouse, subset)
    profiler.disable()
    for order, limit in (("cumulative", 15), ("tottime", 12)):
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf)
        stats.sort_stats(order).print_stats(limit)
        text = buf.getvalue()
        body = text[text.index("   ncalls"):] if "   ncalls" in text else text
        _say(f"--- cProfile of pipeline A on the first page of each account ({rows:,} rows), "
             f"top {limit} by {order} (the profiler inflates Python-heavy parts) ---")
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

        # -- validated rows for B and C (untimed) ---------------------------------------------
        validated = validate_all(pages_by_account)
        tuples_by_page = [[ORDERS.to_row(r, account_id) for r in rows]
                          for account_id, pages in validated.items() for rows in pages]
        seen: set[str] = set()
        rbr_rows: list[tuple] = []
        for rows in tuples_by_page:
            for row in rows:
                if row[0] not in seen and len(rbr_rows) < args.row_by_row_rows:
                    seen.add(row[0])
                    rbr_rows.append(row)
        del validated

        # -- warm-up (untimed): imports, statement caches, prepared statements ---------------
        first_id = next(iter(pages_by_account))
        first = pages_by_account[first_id][0]
        small = WbPage(first.records[:2000], first.date_from, None)
        reset(engine)
        run_pipeline(warehouse, {first_id: [small]})
        reset(engine)
        run_bulk(warehouse, [tuples_by_page[0][:2000]])
        reset(engine)
        run_row_by_row(warehouse, rbr_rows[:500])

        # -- timed repetitions -----------------------------------------------------------------
        results: dict[str, list[tuple[int, float]]] = {k: [] for k in "AVBC"}
        breakdowns: list[dict[str, float]] = []
        for rep in range(1, args.repeat + 1):
            reset(engine)
            with StepTimer(warehouse) as steps:
                results["A"].append(timed(lambda: run_pipeline(steps, pages_by_account)))
            breakdowns.append(steps.finish(results["A"][-1][1]))
            stored = count_orders(engine)
            if stored != distinct:
                raise RuntimeError(f"pipeline stored {stored} orders, expected {distinct}")
            results["V"].append(timed(lambda: run_validate(pages_by_account)))
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
            "A": "A pipeline (validate+stale+upsert+cursor)",
            "V": "  of which validate_page only (no DB)",
            "B": "B bulk write only (bulk_upsert)",
            "C": "C row-by-row INSERT..ON CONFLICT",
        }
        _say()
        _say(f"results: median of {args.repeat} repetitions "
             f"(machine: {os.cpu_count()} vCPU, shared)")
        header = f"{'path':<42} {'rows':>9} {'median s':>9} {'rows/s':>10}  {'min..max rows/s':>19}"
        _say(header)
        _say("-" * len(header))
        medians = {}
        for key in "AVBC":
            rows, secs, r, lo, hi = median_rate(key)
            medians[key] = r
            _say(f"{labels[key]:<42} {rows:>9,} {secs:>9.3f} {fmt_rate(r):>10}  "
                 f"{fmt_rate(lo):>9}..{fmt_rate(hi)}")
        _say(f"{'HTTP fetch + JSON decode (once)':<42} {fetched:>9,} {fetch_s:>9.3f} "
             f"{fmt_rate(fetched / fetch_s):>10}  {'(single run)':>19}")
        _say()
        _say(f"ratio A/C (median of per-repetition ratios): {statistics.median(ratio_ac):6.1f}x"
             f"   [{', '.join(f'{x:.1f}' for x in ratio_ac)}]")
        _say(f"ratio B/C (median of per-repetition ratios): {statistics.median(ratio_bc):6.1f}x"
             f"   [{', '.join(f'{x:.1f}' for x in ratio_bc)}]")
        _say()
        a_median_s = statistics.median(s for _, s in results["A"])
        _say("where A's time goes (wall clock per step, median over repetitions; "
             "timers around the real calls):")
        for step in STEP_ORDER:
            secs = statistics.median(b[step] for b in breakdowns)
            _say(f"  {step:<42} {secs:7.3f} s  {secs / a_median_s:5.0%}")
        _say(f"  (validate_page alone, outside the pipeline: {statistics.median(share_v):.0%} "
             "of A's time)")
        _say()
        a_ok = medians["A"] >= TARGET_ROWS_PER_S
        b_ok = medians["B"] >= TARGET_ROWS_PER_S
        _say(f"target A >= {TARGET_ROWS_PER_S:,} rows/s : {verdict(a_ok)} "
             f"({fmt_rate(medians['A'])} rows/s)")
        if not a_ok:
            _say(f"       B >= {TARGET_ROWS_PER_S:,} rows/s : {verdict(b_ok)} "
                 f"({fmt_rate(medians['B'])} rows/s; the database write alone)")
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
            _say("(drop_stale binds one parameter per key: a page of more than 65 535 rows "
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
