"""Planning evidence at scale: forecast_accuracy and policy_backtest at 50k SKU units × 180 days.

Run from the repository root (about 3-5 minutes on 2 shared vCPUs with the defaults)::

    .venv/bin/python bench/evidence_scale.py [--skus 50000] [--days 180] [--repeat 2]
            [--history-days 60]

What it does:

1. Starts its own embedded PostgreSQL (durable settings) in a temporary folder on a free port,
   creates one database and runs the Alembic migrations.
2. Generates the planning bench's data set (``bench/_planning/data.py``, set-based SQL, not
   timed): N SKU units = N/50 articles × 10 colours × 5 sizes, ``orders_daily`` for
   ``--days`` + 30 days (the backtest replays ``--days`` days and its first demand estimate
   looks 30 days back), ``--history-days`` days of ``stock_history``, settings, stock.
3. Not timed: one ``dg.materialize`` of demand, supply and planning_proposals for the as-of,
   so that the evidence assets have a planning run to evaluate.
4. Timed, in a FRESH child Python process per repetition: one ``dg.materialize`` of
   ``forecast_accuracy`` and ``policy_backtest`` together (``days`` = ``--days``, the other
   settings their defaults: 8 weekly origins, 14-day and lead-time horizons, weekly
   re-estimation) on an ephemeral instance with the in-process executor. End to end runs from
   creating the instance to ``materialize`` returning; per step, the run's STEP_START /
   STEP_SUCCESS timestamps give its wall time, and SQLAlchemy's cursor events its SQL time
   (reading the inputs, the COPY of the rows, the row count). The child reports its peak RSS
   (``getrusage(RUSAGE_SELF).ru_maxrss``: the pipeline's process, not PostgreSQL's backends)
   and the CPU seconds it used (user + system), which depend less on the machine's load than
   the wall time.
5. Prints the medians (min..max) and PASS/FAIL against the issue's targets: both assets
   together ≤ 30 s and ≤ 1 GiB. It never asserts on timings.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

from _planning.data import COLORS_PER_ARTICLE, SIZES, generate
from _support.console import banner, say, verdict
from _support.postgres import embedded_server, migrated_database

TARGET_SECONDS = 30.0
TARGET_RSS_MIB = 1024.0
LOOK_BACK_DAYS = 30


def child(url_text: str, days: int) -> None:
    """Runs in a fresh interpreter; the last stdout line is a JSON object."""
    started = time.perf_counter()
    import dagster as dg
    import sqlalchemy as sa

    from supplybrain_pipelines.assets.planning import forecast_accuracy, policy_backtest
    from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
    import_s = time.perf_counter() - started
    intervals: list[tuple[float, float]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("_bench_t0", []).append(time.time())

    def after(conn, cursor, statement, parameters, context, executemany):
        intervals.append((conn.info["_bench_t0"].pop(), time.time()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", before)
    sa.event.listen(sa.engine.Engine, "after_cursor_execute", after)
    start = time.perf_counter()
    at_start = resource.getrusage(resource.RUSAGE_SELF)
    cpu_at_start = at_start.ru_utime + at_start.ru_stime
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [forecast_accuracy, policy_backtest], instance=instance,
        resources={"warehouse": PostgresWarehouse(database_url=url_text)},
        run_config={"ops": {"policy_backtest": {"config": {"days": days}}}},
        raise_on_error=False)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    steps: dict[str, dict] = {}
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        step = steps.setdefault(event.step_key, {})
        if event.event_type_value == "STEP_START":
            step["start"] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            step["end"], step["status"] = entry.timestamp, event.event_type_value
    for step in steps.values():
        if "start" in step and "end" in step:
            step["seconds"] = step["end"] - step["start"]
            step["sql"] = sum(max(0.0, min(t1, step["end"]) - max(t0, step["start"]))
                              for t0, t1 in intervals)
    metadata = {}
    for name in ("forecast_accuracy", "policy_backtest"):
        for event in result.asset_materializations_for_node(name):
            metadata[name] = {k: v.value for k, v in event.metadata.items()
                              if isinstance(v.value, int | float)}
    print(json.dumps({"success": result.success, "import_s": import_s, "seconds": seconds,
                      "cpu_s": usage.ru_utime + usage.ru_stime - cpu_at_start,
                      "rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "steps": {k: {n: v for n, v in s.items() if n not in ("start", "end")}
                                for k, s in steps.items()},
                      "metadata": metadata}), flush=True)


def plan(url_text: str, as_of: str) -> float:
    """demand, supply and planning_proposals for ``as_of`` (not timed by the verdict)."""
    import dagster as dg

    from supplybrain_pipelines.assets.planning import demand, planning_proposals, supply
    from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

    started = time.perf_counter()
    result = dg.materialize(
        [demand, supply, planning_proposals], instance=dg.DagsterInstance.ephemeral(),
        resources={"warehouse": PostgresWarehouse(database_url=url_text)},
        run_config={"ops": {"demand": {"config": {"as_of": as_of}},
                            "supply": {"config": {"as_of": as_of}}}})
    if not result.success:
        raise SystemExit("the planning run the evidence needs failed")
    return time.perf_counter() - started


def _spread(values: list[float], fmt: str = "{:.1f}") -> str:
    median = statistics.median(values)
    return f"{fmt.format(median)} ({fmt.format(min(values))}..{fmt.format(max(values))})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=50_000, help="SKU units")
    parser.add_argument("--days", type=int, default=180, help="days the backtest replays")
    parser.add_argument("--history-days", type=int, default=60,
                        help="days of stock_history before the as-of date")
    parser.add_argument("--repeat", type=int, default=2, help="timed repetitions")
    parser.add_argument("--seed", type=float, default=0.42, help="setseed() value in [-1, 1]")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.days)
        return 0

    import dagster as dg
    import psycopg
    import sqlalchemy as sa

    started = time.perf_counter()
    as_of = datetime.now(UTC).date()
    say(banner("evidence_scale", dg, sa, psycopg))
    with embedded_server("supplybrain-bench-evidence-") as (server, _root):
        url = migrated_database(server, "supplybrain_bench_evidence").render_as_string(
            hide_password=False)
        order_days = args.days + LOOK_BACK_DAYS
        data = generate(url, args.skus, order_days, args.history_days, as_of, args.seed)
        say(f"data set: {data['articles']:,} articles x {COLORS_PER_ARTICLE} colours x "
            f"{len(SIZES)} sizes = {data['counts']['sku_unit']:,} SKU units "
            f"({data['active_skus']:,} active), {order_days} days of orders_daily "
            f"({data['counts'].get('orders_daily', 0):,} rows), {args.history_days} days of "
            f"stock_history; generated in {data['seconds']:.1f} s, "
            f"database {data['db_mib']:,.0f} MiB")
        say(f"planning run (demand, supply, proposals; not timed): "
            f"{plan(url, as_of.isoformat()):.1f} s")
        runs = []
        for repetition in range(args.repeat):
            out = subprocess.run([sys.executable, __file__, "--child", url,
                                  "--days", str(args.days)], capture_output=True, text=True)
            lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
            if out.returncode != 0 or not lines:
                say(f"run {repetition + 1} failed:\n{out.stderr[-3000:]}")
                return 1
            run = json.loads(lines[-1])
            runs.append(run)
            say(f"run {repetition + 1}: {run['seconds']:.1f} s end to end "
                f"({run['cpu_s']:.1f} CPU s in the pipeline's process, load "
                f"{os.getloadavg()[0]:.1f}), peak RSS "
                f"{run['rss_peak_mib']:.0f} MiB, success {run['success']}; " + ", ".join(
                    f"{k} {s.get('seconds', float('nan')):.1f} s (SQL {s.get('sql', 0):.1f} s)"
                    for k, s in run["steps"].items()))
        seconds = [r["seconds"] for r in runs]
        rss = [r["rss_peak_mib"] for r in runs]
        say()
        say(f"both assets, {data['active_skus']:,} SKU units x {args.days} days, "
            f"median (min..max) of {len(runs)}:")
        say(f"  end to end  {_spread(seconds)} s   target <= {TARGET_SECONDS:.0f} s  "
            f"{verdict(statistics.median(seconds) <= TARGET_SECONDS)}")
        say(f"  peak RSS    {_spread(rss, '{:.0f}')} MiB target <= {TARGET_RSS_MIB:.0f} MiB "
            f"{verdict(max(rss) <= TARGET_RSS_MIB)}")
        say(f"  CPU         {_spread([r['cpu_s'] for r in runs])} s of the pipeline's process "
            "(user + system; PostgreSQL's backends not counted)")
        say(f"  imports     {_spread([r['import_s'] for r in runs])} s (not in end to end)")
        for step in sorted(runs[0]["steps"]):
            say(f"  {step:<18} {_spread([r['steps'][step]['seconds'] for r in runs])} s, "
                f"SQL {_spread([r['steps'][step]['sql'] for r in runs])} s")
        say()
        say("catalogue figures of the last run:")
        for name, figures in runs[-1]["metadata"].items():
            say(f"  {name}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                          for k, v in sorted(figures.items())))
        say(f"total wall time {time.perf_counter() - started:.0f} s")
        return 0


if __name__ == "__main__":
    sys.exit(main())
