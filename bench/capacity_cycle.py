"""How long the runs of a 15-minute cycle hold the run slot, through the real queue (issue 15).

    .venv/bin/python bench/capacity_cycle.py [--accounts 2,10,50] [--repeat 2]

A code server, dagster-daemon and webserver (the run-queue test's harness,
``supplybrain_pipelines_tests/run_queue/stack.py``) on the project's dagster.yaml: one run at a
time, the QueuedRunCoordinator, runs as subprocesses of the code server with Dagster's
multiprocess executor (a process per step). An embedded PostgreSQL with durable settings and the
marketplace sandbox on loopback, WB's one-request-a-minute interval off (as ``make dev`` sets it
for the sandbox), so the times hold our side only: no marketplace latency.

The bench launches each run through the GraphQL API (so through the queue) and reads from the
run record when it was created, started and ended; "slot" is created → ended. For each number of
WB accounts (the sandbox's 2, then copies of them with the same tokens; plus its MoySklad
account): one untimed ``ingest`` run (a new account's first sync), then ``--repeat`` timed ones
(incremental: the steady state of a cycle). Then ``planning`` and ``observe_sources``. It prints
the times and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from datetime import UTC
from pathlib import Path

from _support.console import banner, say
from _support.postgres import embedded_server, migrated_database

LOCATION_FILE = Path(__file__).resolve().parent / "_capacity" / "location.py"
RUN_TIMEOUT_S = 900.0


def _launch_and_wait(client, instance, job: str) -> dict:
    from supplybrain_pipelines_tests.run_queue.stack import LOCATION

    run_id = client.submit_job_execution(job, repository_location_name=LOCATION,
                                         repository_name="__repository__")
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        record = instance.get_run_record_by_id(run_id)
        if record is not None and record.end_time is not None:
            created_at = record.create_timestamp
            if created_at.tzinfo is None:  # Dagster stores it as naive UTC
                created_at = created_at.replace(tzinfo=UTC)
            created = created_at.timestamp()
            steps = sorted(((s.end_time or 0) - (s.start_time or 0), s.step_key)
                           for s in instance.get_run_step_stats(run_id))
            return {"status": record.dagster_run.status.value,
                    "slot": record.end_time - created,
                    "queued": (record.start_time or record.end_time) - created,
                    "running": record.end_time - (record.start_time or record.end_time),
                    "steps": len(steps), "step_sum": sum(d for d, _ in steps),
                    "slowest": steps[-3:][::-1]}
        time.sleep(0.5)
    raise TimeoutError(f"{job} run {run_id} did not end within {RUN_TIMEOUT_S:.0f} s")


def _say(label: str, runs: list[dict]) -> None:
    slots = [r["slot"] for r in runs]
    detail = ", ".join(f"{r['slot']:.1f} s ({r['status']}; created→started {r['queued']:.1f} s)"
                       for r in runs)
    say(f"  {label:<34} median {statistics.median(slots):6.1f} s   [{detail}]")
    for r in runs:
        slowest = ", ".join(f"{key} {d:.1f} s" for d, key in r["slowest"])
        say(f"  {'':<34} {r['steps']} steps, {r['step_sum']:.1f} s in steps; slowest: {slowest}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", default="2,10,50",
                        help="WB account counts, ascending (the sandbox has 2)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--articles", type=int, default=6)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    counts = [int(c) for c in args.accounts.split(",")]

    import dagster as dg
    import sqlalchemy as sa
    from dagster_graphql import DagsterGraphQLClient

    from supplybrain_pipelines.config import WB_MIN_INTERVAL_ENV
    from supplybrain_pipelines.db import tables as t
    from supplybrain_pipelines.devstack.environment import prepare_dagster_home
    from supplybrain_pipelines.sandbox.generator import generate_business
    from supplybrain_pipelines.sandbox.seed import load_master_data, register_accounts
    from supplybrain_pipelines.sandbox.server import SandboxServer
    from supplybrain_pipelines.token_crypto import encrypt_token
    from supplybrain_pipelines_tests.run_queue.stack import dagster_stack

    say(banner("capacity_cycle"))
    # a SIGTERM (e.g. `timeout`) unwinds the context managers, which stop the servers
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ[WB_MIN_INTERVAL_ENV] = "0"
    business = generate_business(seed=3, articles=args.articles, days=args.days)
    with embedded_server("capacity-cycle-") as (server, root), \
            SandboxServer(business) as sandbox:
        app_url = migrated_database(server, "capacity_app")
        server.ensure_database("capacity_dagster")
        engine = sa.create_engine(app_url)
        with engine.begin() as conn:
            load_master_data(conn, business)
            register_accounts(conn, business, sandbox.url)
        home = prepare_dagster_home(root / "dagster_home")
        started = time.monotonic()
        with dagster_stack(server.url("capacity_dagster"), home, LOCATION_FILE,
                           attribute="capacity_definitions", app_url=app_url) as stack:
            say(f"stack up in {time.monotonic() - started:.1f} s; business: {args.articles} "
                f"articles, {args.days} days, sandbox {sandbox.url}")
            os.environ.update({k: v for k, v in stack.env.items()
                               if k.startswith("DAGSTER_PG_")})
            instance = dg.DagsterInstance.from_config(str(home))
            client = DagsterGraphQLClient("127.0.0.1", port_number=stack.webserver_port)
            try:
                wb = len(business.wb_accounts)
                for count in counts:
                    with engine.begin() as conn:
                        for n in range(wb, count):
                            source = business.wb_accounts[n % len(business.wb_accounts)]
                            conn.execute(sa.insert(t.wb_integration_accounts).values(
                                name=f"copy {n}", api_token_encrypted=encrypt_token(source.token),
                                base_url=sandbox.url))
                    wb = max(wb, count)
                    first = _launch_and_wait(client, instance, "ingest")
                    say(f"{wb} WB accounts + 1 MoySklad:")
                    _say("ingest, first sync of the new ones", [first])
                    _say("ingest, incremental", [_launch_and_wait(client, instance, "ingest")
                                                 for _ in range(args.repeat)])
                for job in ("planning", "observe_sources"):
                    _say(job, [_launch_and_wait(client, instance, job)
                               for _ in range(args.repeat)])
            finally:
                instance.dispose()
                engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
