"""Monitoring first (issue 13): schedule ticks through the real queue and daemon while slow
runs keep the queue full.

Run from the repository root (about 3-4 minutes with the defaults)::

    .venv/bin/python bench/monitoring_first.py [--ticks 3] [--queued 5] [--hold 20]

An embedded PostgreSQL (``track_commit_timestamp`` on) gets a migrated, empty application
database; a real code server, dagster-daemon and webserver (the run-queue test's harness) run on
the project's dagster.yaml (one run at a time). The location (``_monitoring/first_location.py``)
is the monitoring bench's (``monitoring_every_15m`` on a one-minute cron) plus ``slow_ingest``,
whose run sleeps ``--hold`` seconds. A feeder thread submits ``slow_ingest`` runs through the
GraphQL launch mutation so that ``--queued`` of them are always QUEUED, and one holds the slot.
For ``--ticks`` minute ticks it prints the time from the tick to the commit of the snapshot row
(``pg_xact_commit_timestamp``), the run's created/started/ended offsets, how many slow runs were
queued when the monitoring run started, and the max against the issue's 60 s. Without the
priority a monitoring run would start only after every slow run queued before it: about
(queued + 1) x hold seconds. It never asserts on timings.
"""

import argparse
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
from _monitoring.ticks import COMMITS, _say_tick, _tick_result, _wait_for_row
from _support.console import banner, say, verdict
from _support.postgres import connect, embedded_server, migrated_database

TARGET_SECONDS = 60.0
LOCATION_FILE = Path(__file__).resolve().with_name("_monitoring") / "first_location.py"


def keep_queue_full(client, instance, queued: int, hold: float, stop: threading.Event) -> None:
    """Submit ``slow_ingest`` runs whenever fewer than ``queued`` of them are QUEUED."""
    from supplybrain_pipelines_tests.run_queue.stack import LOCATION

    config = {"ops": {"hold_like_an_ingest_run": {"config": {"seconds": hold}}}}
    while not stop.is_set():
        waiting = instance.get_runs_count(dg.RunsFilter(
            job_name="slow_ingest", statuses=[dg.DagsterRunStatus.QUEUED]))
        for _ in range(queued - waiting):
            client.submit_job_execution("slow_ingest", repository_location_name=LOCATION,
                                        run_config=config)
        stop.wait(0.5)


def queued_slow_runs_at(instance: dg.DagsterInstance, moment: float) -> int:
    """``slow_ingest`` runs created before ``moment`` (epoch s) that had not started by then."""
    records = instance.get_run_records(filters=dg.RunsFilter(job_name="slow_ingest"))
    return sum(1 for r in records if r.create_timestamp.timestamp() < moment
               and (r.start_time is None or r.start_time > moment))


def schedule_ticks(instance: dg.DagsterInstance, since: datetime) -> list[str]:
    """Each schedule tick since ``since`` from the instance's storage: status and skip reason."""
    lines = []
    from dagster._core.scheduler.instigation import InstigatorType

    for state in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE):
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id,
                                   after=since.timestamp())
        for tick in sorted(ticks, key=lambda t: t.timestamp):
            reason = f": {tick.skip_reason}" if tick.skip_reason else ""
            lines.append(f"  {state.instigator_name} tick "
                         f"{datetime.fromtimestamp(tick.timestamp, UTC):%H:%M:%S} "
                         f"{tick.status.value}{reason}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=3, help="minute ticks to time")
    parser.add_argument("--queued", type=int, default=5, help="slow runs kept queued")
    parser.add_argument("--hold", type=float, default=20.0, help="seconds a slow run holds")
    args = parser.parse_args()

    import psycopg
    import sqlalchemy as sa
    from dagster_graphql import DagsterGraphQLClient
    from sqlalchemy import create_engine, text

    from supplybrain_pipelines.devstack.environment import prepare_dagster_home
    from supplybrain_pipelines_tests.run_queue.stack import dagster_stack

    started = time.perf_counter()
    say(banner("monitoring_first", dg, sa, psycopg))
    results: list[dict] = []
    with embedded_server("supplybrain-bench-first-") as (server, root):
        with connect(server.url(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
        server.stop()  # track_commit_timestamp needs a restart
        server.start()
        url = migrated_database(server, "supplybrain_bench")
        server.ensure_database("dagster_bench")
        home = prepare_dagster_home(root / "dagster_home")
        engine = create_engine(url)
        with dagster_stack(server.url("dagster_bench"), home, LOCATION_FILE,
                           attribute="first_definitions", app_url=url) as stack:
            os.environ.update({k: v for k, v in stack.env.items()
                               if k.startswith("DAGSTER_PG_")})
            instance = dg.DagsterInstance.from_config(str(home))
            client = DagsterGraphQLClient("127.0.0.1", port_number=stack.webserver_port)
            stop = threading.Event()
            feeder = threading.Thread(target=keep_queue_full, daemon=True,
                                      args=(client, instance, args.queued, args.hold, stop))
            feeder.start()
            ready = datetime.now(UTC)
            say(f"stack up at {ready:%H:%M:%S}; keeping {args.queued} slow_ingest runs "
                f"({args.hold:.0f} s each) queued behind the one in the slot")
            # the first whole minute after the queue has filled
            first = (ready + timedelta(seconds=10)).replace(second=0, microsecond=0) \
                + timedelta(minutes=1)
            try:
                for k in range(args.ticks):
                    window = first + timedelta(minutes=k)
                    row = _wait_for_row(engine, window)
                    result = _tick_result(instance, window, row)
                    if result.get("started") is not None:
                        result["queued_when_started"] = queued_slow_runs_at(
                            instance, window.timestamp() + result["started"])
                    results.append(result)
                    _say_tick(result)
                    say(f"    slow runs queued when the monitoring run started: "
                        f"{result.get('queued_when_started', '-')}")
            finally:
                stop.set()
                feeder.join(timeout=10)
                with engine.connect() as conn:
                    rows = conn.execute(text(COMMITS), {"since": first}).all()
                say(f"snapshot rows since the first timed tick: {len(rows)}")
                for line in schedule_ticks(instance, first - timedelta(minutes=1)):
                    say(line)
                instance.dispose()
                engine.dispose()
    latencies = [r["latency"] for r in results]
    ok = len(latencies) == args.ticks and None not in latencies \
        and max(latencies) <= TARGET_SECONDS
    worst = max((x for x in latencies if x is not None), default=float("nan"))
    say(f"target every tick commits its row within {TARGET_SECONDS:.0f} s with "
        f"{args.queued} slow runs queued: {verdict(ok)} (max {worst:.2f} s; without the "
        f"priority about {(args.queued + 1) * args.hold:.0f} s or more)")
    say(f"total wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
