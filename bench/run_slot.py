"""What reading the run slot's occupancy costs the snapshot, as Dagster's run history grows
(issue 15).

Run from the repository root (about a minute on 2 shared vCPUs with the defaults)::

    .venv/bin/python bench/run_slot.py [--runs 2000 20000 80000] [--repeat 11]

An embedded PostgreSQL (durable settings) holds a Dagster instance on the project's
``deploy/dagster.yaml``. For each size in ``--runs`` (cumulative), that many finished runs are
written into its run storage as the queue would leave them: created, started 0-120 s later,
ended 1-9 min after that, spread evenly over the 400 days before the measured window (a
15-minute schedule and an ingest every 15 minutes make about 200 runs a day, so 20 000 is
100 days of them), in bulk through Dagster's own ``runs`` table definition; the hour before the
window has 8 more runs of 5 minutes (busy share 2/3 plus what the random ones add). Then
``measure_run_slot(instance, window)`` (``assets/monitoring/run_slot.py``: the two run-record
queries and the overlap maths) is timed, best of ``--repeat``, and the busy share it found is
printed beside it. It never asserts on timings.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
from _support.console import banner, say
from _support.postgres import embedded_server
from dagster._core.storage.runs.schema import RunsTable
from dagster_shared.serdes import serialize_value

from supplybrain_pipelines.assets.monitoring.run_slot import measure_run_slot
from supplybrain_pipelines.config import dagster_storage_env
from supplybrain_pipelines.devstack.environment import INSTANCE_CONFIG

WINDOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HISTORY = timedelta(days=400)


def _row(created: datetime, started: datetime, ended: datetime) -> dict:
    """A finished run's row of Dagster's ``runs`` table, as its events leave it."""
    run = dg.DagsterRun(job_name="ingest", status=dg.DagsterRunStatus.SUCCESS)
    naive = {name: moment.astimezone(UTC).replace(tzinfo=None)
             for name, moment in (("create_timestamp", created), ("update_timestamp", ended))}
    return {"run_id": run.run_id, "pipeline_name": run.job_name, "status": run.status.value,
            "run_body": serialize_value(run), **naive, "start_time": started.timestamp(),
            "end_time": ended.timestamp()}


def add_runs(instance: dg.DagsterInstance, count: int, rng: random.Random) -> None:
    """``count`` finished runs over the history, written in bulk through Dagster's own table
    definition (one ``add_run`` and two events per run would take ~0.1 s each here)."""
    rows = []
    for _ in range(count):
        created = WINDOW - HISTORY * rng.random()
        started = created + timedelta(seconds=rng.uniform(0, 120))
        rows.append(_row(created, started, started + timedelta(seconds=rng.uniform(60, 540))))
    with instance.run_storage.connect() as conn:
        for at in range(0, len(rows), 5000):
            conn.execute(RunsTable.insert(), rows[at:at + 5000])


def add_last_hour(instance: dg.DagsterInstance) -> None:
    """The hour before the window: 8 runs of 5 minutes, each queued 30 s: busy 2/3."""
    rows = []
    for k in range(8):
        created = WINDOW - timedelta(hours=1) + timedelta(minutes=7 * k)
        started = created + timedelta(seconds=30)
        rows.append(_row(created, started, started + timedelta(minutes=5)))
    with instance.run_storage.connect() as conn:
        conn.execute(RunsTable.insert(), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[2000, 20000, 80000])
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    say(banner("bench/run_slot.py", dg))
    rng = random.Random(15)
    with embedded_server("run_slot_") as (server, root):
        server.ensure_database("dagster")
        os.environ.update(dagster_storage_env(server.url("dagster"), "dagster"))
        home = Path(tempfile.mkdtemp(prefix="run_slot_home_", dir=root))
        shutil.copy(INSTANCE_CONFIG, home / "dagster.yaml")
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            add_last_hour(instance)
            written = 0
            say(f"{'runs in storage':>16} {'write s':>8} {'measure ms (best)':>18} "
                f"{'median ms':>10} {'busy share':>11} {'runs counted':>13}")
            for size in sorted(args.runs):
                began = time.perf_counter()
                add_runs(instance, size - written, rng)
                wrote = time.perf_counter() - began
                written = size
                samples, details = [], {}
                for _ in range(args.repeat):
                    began = time.perf_counter()
                    details, _metrics = measure_run_slot(instance, WINDOW)
                    samples.append(time.perf_counter() - began)
                samples.sort()
                say(f"{size:>16,} {wrote:>8.1f} {samples[0] * 1000:>18.1f} "
                    f"{samples[len(samples) // 2] * 1000:>10.1f} {details['busy_share']:>11} "
                    f"{details['runs_counted']:>13}")
        finally:
            instance.dispose()


if __name__ == "__main__":
    main()
