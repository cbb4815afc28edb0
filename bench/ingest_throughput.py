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
      In the asset's thread, per page ``split_page`` (its keys and chunks), then per chunk of
      10 000 records ``check_page`` (validation: the fast path, pydantic for any record it is
      not sure of), up to one page ahead of the writer. In its writer thread (one for all
      accounts), as the chunks come: one transaction per page of ``write_page`` (the stored
      versions of the page's keys, one binary COPY of the page's new rows, fed chunk by chunk,
      each in key order, upsert of the rest, quarantine, unmatched barcodes, cursor move), and
      each account's health record behind its pages. Before the pages: the per-account cursor read.
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

The parts are in ``bench/_ingest/`` (fetched pages, replay, passes, meters, runs, report,
profiling) and ``bench/_support/`` (console output, the embedded PostgreSQL).
"""

from __future__ import annotations

import argparse
import sys
import time

import psycopg
import pydantic
import sqlalchemy as sa
from _ingest.data import fetch, prepare
from _ingest.profiling import profile_pipeline
from _ingest.report import report
from _ingest.runs import run_repetitions, time_pydantic, warm_up
from _support.console import banner, say
from _support.postgres import embedded_server, migrated_database

from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

DB_NAME = "supplybrain_bench"


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
    say(banner("ingest_throughput", psycopg, pydantic, sa, load=False))
    with embedded_server("supplybrain-bench-pg-") as (server, _root):
        engine: sa.Engine | None = None
        warehouse: PostgresWarehouse | None = None
        try:
            url_text = migrated_database(server, DB_NAME).render_as_string(hide_password=False)
            engine = sa.create_engine(url_text, poolclass=sa.pool.NullPool)
            warehouse = PostgresWarehouse(database_url=url_text)
            with engine.connect() as conn:
                pg_version = conn.execute(sa.text("SHOW server_version")).scalar_one()
            say(f"PostgreSQL {pg_version} (embedded, fsync on, synchronous_commit on) "
                f"on 127.0.0.1:{server.port}")

            # -- the business, served and fetched once; inputs of W, B and C (untimed) ------
            fetched = fetch(engine, seed=args.seed, articles=args.articles, days=args.days,
                            page_cap=args.page_cap)
            inputs = prepare(fetched, args.row_by_row_rows)
            pydantic_s = time_pydantic(fetched.pages_by_account)
            warm_up(engine, warehouse, fetched, inputs)

            # -- timed repetitions, then what they say -------------------------------------
            reps = run_repetitions(args.repeat, engine, warehouse, server, fetched, inputs)
            a_ok = report(reps, args.repeat, fetched.records, pydantic_s, fetched.seconds)
            if args.profile == "always" or (args.profile == "auto" and not a_ok):
                profile_pipeline(warehouse, engine, fetched.pages_by_account)
            say(f"total wall time {time.perf_counter() - started:.0f} s")
            return 0
        except sa.exc.DBAPIError as exc:  # the statement may be megabytes long: the cause only
            say(f"FAILED: {type(exc.orig).__name__}: {str(exc.orig)[:300]}")
            if "65535" in str(exc.orig):
                say("(a statement bound one parameter per row: a page of more than 65 535 rows "
                    "exceeds PostgreSQL's limit of bind parameters per statement)")
            return 1
        finally:
            if warehouse is not None and warehouse._engine is not None:
                warehouse._engine.dispose()
            if engine is not None:
                engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
