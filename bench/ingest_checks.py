"""What the ingestion asset checks cost an ``ingest`` run: the SQL of each check after a backfill
and in a steady-state run, and the wall time of the run with and without its 19 check steps
under Dagster's default multiprocess executor (a step is a process of its own there).

Run from the repository root (a few minutes)::

    .venv/bin/python bench/ingest_checks.py [--articles 60] [--days 90] [--repeat 3]

An embedded PostgreSQL (durable settings), the sandbox serving a generated business, and a
temporary Dagster instance. First an in-process backfill run and an in-process steady-state
run, each with the checks: the duration of each check step (Dagster's step stats). Then
``--repeat`` pairs of multiprocess steady-state runs, one without and one with the checks, in
alternation: the median wall time of each and their difference. It prints numbers and never
asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import dagster as dg

from supplybrain_pipelines.assets.ingest import INGEST_ASSETS
from supplybrain_pipelines.assets.unified import orders_and_rollup, stock
from supplybrain_pipelines.checks import CHECKS
from supplybrain_pipelines.jobs import ingest_job
from supplybrain_pipelines.resources.marketplace import MarketplaceApi
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

URL_ENV = "SUPPLYBRAIN_BENCH_DATABASE_URL"
ENDPOINTS = ("wb_orders", "wb_sales", "wb_stocks", "moysklad_assortment",
             "moysklad_customer_orders", "moysklad_stock")


def _job(with_checks: bool) -> dg.JobDefinition:
    defs = dg.Definitions(
        assets=[*INGEST_ASSETS, orders_and_rollup, stock],
        asset_checks=CHECKS if with_checks else [], jobs=[ingest_job],
        resources={"warehouse": PostgresWarehouse(database_url=os.environ[URL_ENV]),
                   "marketplace": MarketplaceApi(wb_min_interval_seconds=0)})
    return defs.resolve_job_def("ingest")


def job_with_checks() -> dg.JobDefinition:
    return _job(True)


def job_without_checks() -> dg.JobDefinition:
    return _job(False)


def run_config(backfill_days: int) -> dict:
    config = {"backfill_days": backfill_days, "page_budget_seconds": None}
    return {"ops": {name: {"config": config} for name in ENDPOINTS}}


def check_steps(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Seconds of each step of the run that evaluates checks (``ingestion_checks``)."""
    names = ("ingestion_checks",)
    return {s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(run_id)
            if s.step_key.endswith(names) and s.end_time and s.start_time}


def in_process(instance, label: str, backfill_days: int) -> None:
    from _support.console import say

    started = time.perf_counter()
    result = job_with_checks().execute_in_process(instance=instance,
                                                  run_config=run_config(backfill_days))
    wall = time.perf_counter() - started
    steps = check_steps(instance, result.run_id)
    slowest = sorted(steps.items(), key=lambda kv: -kv[1])
    say(f"{label}: run {wall:6.2f} s in process ({'ok' if result.success else 'FAILED'}), "
        f"{len(steps)} check steps: "
        + ", ".join(f"{key} {seconds:.2f} s" for key, seconds in slowest))


def each_check(instance) -> None:
    """Each check's own time, evaluated once more after the steady-state run."""
    from _support.console import say

    from supplybrain_pipelines.checks.ingest import _evaluations

    warehouse = PostgresWarehouse(database_url=os.environ[URL_ENV])
    times = []
    for spec, evaluate in _evaluations(instance, warehouse):
        started = time.perf_counter()
        evaluate()
        times.append((time.perf_counter() - started, spec.key.to_user_string()))
    say(f"each check alone: {sum(t for t, _ in times):.2f} s together; slowest: "
        + ", ".join(f"{key} {seconds:.3f} s" for seconds, key in sorted(times)[::-1][:5]))


def multiprocess(instance, with_checks: bool, backfill_days: int) -> float:
    started = time.perf_counter()
    result = dg.execute_job(dg.reconstructable(job_with_checks if with_checks
                                               else job_without_checks),
                            instance=instance, run_config=run_config(backfill_days))
    if not result.success:
        raise SystemExit("a multiprocess run failed")
    return time.perf_counter() - started


def main() -> int:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import sqlalchemy as sa
    from _support.console import banner, say
    from _support.postgres import embedded_server, migrated_database

    from supplybrain_pipelines.sandbox.generator import generate_business
    from supplybrain_pipelines.sandbox.seed import load_master_data, register_accounts
    from supplybrain_pipelines.sandbox.server import SandboxServer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    say(banner("ingest_checks", dg, sa))
    business = generate_business(seed=7, days=args.days, articles=args.articles)
    backfill = args.days + 10
    with embedded_server("supplybrain-bench-checks-") as (server, _root), \
            SandboxServer(business, page_cap=50_000) as sandbox, \
            tempfile.TemporaryDirectory() as home:
        url = migrated_database(server, "supplybrain_bench")
        os.environ[URL_ENV] = url.render_as_string(hide_password=False)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            load_master_data(conn, business)
            register_accounts(conn, business, sandbox.url)
        instance = dg.DagsterInstance.local_temp(home)
        in_process(instance, "backfill    ", backfill)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM supplybrain.orders")).scalar()
        say(f"orders after the backfill: {rows} lines")
        in_process(instance, "steady state", backfill)
        each_check(instance)
        without, with_ = [], []
        for _ in range(args.repeat):
            without.append(multiprocess(instance, False, backfill))
            with_.append(multiprocess(instance, True, backfill))
        a, b = statistics.median(without), statistics.median(with_)
        say(f"multiprocess steady-state run, median of {args.repeat}: without checks "
            f"{a:6.2f} s, with the 19 checks (1 step) {b:6.2f} s: +{b - a:.2f} s ({b / a:.2f}x)")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
