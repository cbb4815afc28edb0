"""Monitoring snapshot at scale, and a schedule tick through the real queue and daemon (issue 5).

Run from the repository root (about 5-6 minutes on 2 shared vCPUs with the defaults)::

    .venv/bin/python bench/monitoring_snapshot.py [--orders 10000000] [--days 400] [--repeat 11]
            [--ticks 3] [--no-half] [--explain auto|always|never]

One run prints both targets of issue 5:

1. **Snapshot cost.** An embedded PostgreSQL 18 (durable settings) gets a freshly migrated
   database. ``--orders`` rows go into ``supplybrain.orders`` with ``INSERT … SELECT
   generate_series`` (not timed): ``--days`` days of history up to now with a growing rate (the
   last day has 4/3 of the average), two WB accounts and a MoySklad one, WB singles and bundles
   on skewed barcodes, 1.5 % unmatched, 8 % cancelled. The current tables the snapshot reads are
   filled too: accounts and their ``account_health``, 120 articles with planning settings,
   ``bundle_risk`` for 360 (article, bundle type), ``planning_proposals`` for 6 000 SKU units × 8
   runs, ``stock`` (about 21 000 rows), ``quarantine`` (3 000 rows over the history) and
   ``unmatched_items``. Then ``VACUUM ANALYZE``. Timed, best of ``--repeat``, interleaved and on
   one connection (no prepared statements: every tick runs in a fresh process):
   (a) ``compute_snapshot(conn, window_start, now)``, the full set-based snapshot;
   (b) the bare aggregate over the order rows the snapshot reads (the 8 days before the window);
   (c) for context, the same aggregate over every row.
   It prints a/b (target ≤ 1.5), a/c, the time of each ``queries.read_*`` inside the snapshot
   and, when a/b misses (or ``--explain always``), EXPLAIN ANALYZE of the order queries.
   Unless ``--no-half``, the newest half of the rows is loaded and measured first, then the
   table is truncated and all rows loaded (so the heap is in time order, as ingestion leaves
   it): the same window is timed with 5M and with 10M rows of history.
2. **Tick latency.** A real code server, dagster-daemon and webserver (the run-queue test's
   harness, ``supplybrain_pipelines_tests/run_queue/stack.py``) on the project's dagster.yaml
   (QueuedRunCoordinator, max_concurrent_runs 1), with Dagster's storage in a second database of
   the same server and the application on the 10M-row database. The code location
   (``tick_definitions`` in ``_monitoring/tick_location.py``) is the project's (assets, checks,
   jobs, resources) with one schedule: ``guarded_schedule`` + ``monitoring_job`` +
   ``_tick_window`` on a cron of every minute, RUNNING. The one change:
   ``snapshot.is_window_start`` accepts any whole minute there, since the asset refuses windows
   that are not on a quarter hour. For ``--ticks`` ticks it prints the time from the scheduled
   tick to the commit of the snapshot row (``pg_xact_commit_timestamp`` of the row, with
   ``track_commit_timestamp`` on), split into scheduler, queue + launch, and run, and the max
   against the 15 s target.

Every server is started and stopped by this script (loopback only) and its temporary folder
removed. It never asserts on timings.

The parts are in ``bench/_monitoring/`` (data, snapshot timing, ticks and their code
location) and ``bench/_support/`` (console output, the embedded PostgreSQL).
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime

import dagster as dg
from _monitoring.data import load_current, load_orders
from _monitoring.ticks import run_ticks
from _monitoring.timing import measure, report_parts, report_plans
from _support.console import banner, say, verdict
from _support.postgres import connect, embedded_server, migrated_database

TARGET_RATIO = 1.5
TARGET_TICK_SECONDS = 15.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000_000, help="rows in orders")
    parser.add_argument("--days", type=int, default=400, help="days of order history")
    parser.add_argument("--repeat", type=int, default=11, help="repetitions of (a) and (b)")
    parser.add_argument("--full-repeat", type=int, default=3,
                        help="repetitions of (c), the aggregate over every row")
    parser.add_argument("--ticks", type=int, default=3, help="schedule ticks to time (0: none)")
    parser.add_argument("--no-half", action="store_true",
                        help="skip the measurement with the newest half of the rows")
    parser.add_argument("--explain", choices=("auto", "always", "never"), default="auto",
                        help="EXPLAIN ANALYZE the order queries (auto: when a/b misses)")
    args = parser.parse_args()

    import psycopg
    import sqlalchemy as sa
    from sqlalchemy import create_engine

    started = time.perf_counter()
    say(banner("monitoring_snapshot", dg, sa, psycopg))
    with embedded_server("supplybrain-bench-monitoring-") as (server, root):
        with connect(server.url(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
        server.stop()  # track_commit_timestamp needs a restart
        server.start()
        url = migrated_database(server, "supplybrain_bench")
        engine = create_engine(url, connect_args={"prepare_threshold": None})
        try:
            results = snapshot_part(args, server.port, engine)
            ticks: list[dict] = []
            if args.ticks > 0:
                say(f"schedule ticks (cron every minute, {args.ticks} ticks), through the "
                    "queue and the daemon:")
                ticks = run_ticks(server, url, root, args.ticks)
                say()
            report_results(args, results, ticks)
            say(f"total wall time {time.perf_counter() - started:.0f} s")
            return 0
        finally:
            engine.dispose()


def snapshot_part(args: argparse.Namespace, port: int, engine) -> dict[str, dict]:
    """Load the data, time the snapshot with the newest half of the rows (unless
    ``--no-half``) and with all of them; the results per size ("half", "full")."""
    from sqlalchemy import text

    from supplybrain_pipelines.logic.monitoring.windows import floor_window

    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
    now = datetime.now(UTC)
    window_start = floor_window(now)
    say(f"PostgreSQL {version} (embedded, fsync and synchronous_commit on, default "
        f"shared_buffers) on 127.0.0.1:{port}; now {now:%H:%M:%S}, window_start "
        f"{window_start:%H:%M}")
    say()
    say("data (set-based SQL, not timed):")
    with engine.begin() as conn:
        counts = load_current(conn, now)
    say("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    def vacuum() -> float:
        t0 = time.perf_counter()
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text("VACUUM ANALYZE"))
            conn.execute(text("CHECKPOINT"))
        return time.perf_counter() - t0

    n = args.orders
    results = {}
    if not args.no_half:
        with engine.begin() as conn:
            seconds = load_orders(conn, n // 2 + 1, n, n, now, args.days, True)
        say(f"  orders: the newest {n - n // 2:,} rows in {seconds:.1f} s (indexes "
            f"rebuilt), VACUUM ANALYZE {vacuum():.1f} s")
        results["half"] = measure(engine, "newest half", window_start, now, args.repeat,
                                  args.full_repeat)
        with engine.begin() as conn:  # reload all, so the heap is in time order again
            conn.execute(text("TRUNCATE supplybrain.orders"))
    with engine.begin() as conn:
        seconds = load_orders(conn, 1, n, n, now, args.days, True)
    with engine.connect() as conn:
        size = conn.execute(text(
            "SELECT pg_total_relation_size('supplybrain.orders')")).scalar_one()
    say(f"  orders: all {n:,} rows{' (truncated first)' if 'half' in results else ''} in "
        f"{seconds:.1f} s (indexes rebuilt), VACUUM ANALYZE {vacuum():.1f} s; table with "
        f"indexes {size / 2**20:,.0f} MiB")
    results["full"] = measure(engine, "all rows", window_start, now, args.repeat,
                              args.full_repeat)
    best = results["full"]["best"]
    report_parts(engine, window_start, now, args.repeat)
    if args.explain == "always" or (args.explain == "auto"
                                    and best["a"] / best["b"] > TARGET_RATIO):
        report_plans(engine, window_start, now)
    say()
    return results


def report_results(args: argparse.Namespace, results: dict[str, dict],
                   ticks: list[dict]) -> None:
    """The closing lines: growth from half to all rows, a/c, and the two targets."""
    best = results["full"]["best"]
    ratio_ab, ratio_ac = best["a"] / best["b"], best["a"] / best["c"]
    say(f"results ({os.cpu_count()} vCPU, shared; load {os.getloadavg()[0]:.1f}):")
    if "half" in results:
        h, f = results["half"], results["full"]
        say(f"  history {h['rows']:,} -> {f['rows']:,} rows (the window "
            f"{h['window_rows']:,} -> {f['window_rows']:,} rows): snapshot "
            f"{h['best']['a'] * 1000:.1f} -> "
            f"{best['a'] * 1000:.1f} ms ({best['a'] / h['best']['a']:.2f}x), a/b "
            f"{h['best']['a'] / h['best']['b']:.2f} -> {ratio_ab:.2f}, bare aggregate over "
            f"all rows {h['best']['c'] * 1000:.0f} -> {best['c'] * 1000:.0f} ms "
            f"({best['c'] / h['best']['c']:.2f}x)")
    say(f"  a/c = {ratio_ac:.3f} (snapshot / aggregate over all {results['full']['rows']:,}"
        " rows)")
    say(f"target at {results['full']['rows']:,} orders, snapshot <= {TARGET_RATIO}x the bare "
        f"aggregate over the same rows: {verdict(ratio_ab <= TARGET_RATIO)} "
        f"(a/b = {ratio_ab:.2f}x: {best['a'] * 1000:.1f} ms / {best['b'] * 1000:.1f} ms)")
    if args.ticks > 0:
        latencies = [r["latency"] for r in ticks]
        missing = len(latencies) < args.ticks or None in latencies
        worst = max((x for x in latencies if x is not None), default=float("nan"))
        shown = ", ".join("missed" if x is None else f"{x:.2f}" for x in latencies)
        ok = not missing and worst <= TARGET_TICK_SECONDS
        say(f"target a tick commits its snapshot row within {TARGET_TICK_SECONDS:.0f} s: "
            f"{verdict(ok)} (max {worst:.2f} s; per tick [{shown}] s)")


if __name__ == "__main__":
    sys.exit(main())
