"""Monitoring first, proven with real processes: while one run holds the slot and five more
wait in the queue, a run of a job with the monitoring job's tags, submitted last, is the next to
start. The same harness with a job without them starts it last, which shows the check can fail.

The order is read from the run records (``start_time`` as the run worker recorded it), not from
how long anything took.
"""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest
from dagster_graphql import DagsterGraphQLClient

from supplybrain_pipelines_tests.conftest import write_instance_config
from supplybrain_pipelines_tests.run_queue.stack import LOCATION, dagster_stack

HARNESS = Path(__file__).with_name("harness_definitions.py")
QUEUED_BEHIND = 5
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED}


def _hold(seconds: float) -> dict:
    return {"ops": {"hold_the_slot": {"config": {"seconds": seconds}}}}


def _wait_for(instance: dg.DagsterInstance, run_ids: list[str], statuses: set, what: str):
    deadline = time.monotonic() + 120
    while True:
        records = instance.get_run_records(filters=dg.RunsFilter(run_ids=run_ids))
        if len(records) == len(run_ids) and all(r.dagster_run.status in statuses
                                                for r in records):
            return records
        assert time.monotonic() < deadline, f"{what}: {[r.dagster_run.status for r in records]}"
        time.sleep(0.1)


def start_order(make_database, tmp_path: Path, monkeypatch, probe_job: str):
    """One run holds the slot, QUEUED_BEHIND runs queue behind it, then one ``probe_job`` run.

    Returns the run ids in the order they started ("holder", "queued-N", "probe"), the ids of
    the runs that were still QUEUED once the probe was queued, and the probe run's tags."""
    home = write_instance_config(tmp_path / "dagster_home")
    with dagster_stack(make_database(), home, HARNESS) as stack:
        for key, value in stack.env.items():
            if key.startswith("DAGSTER_PG_"):
                monkeypatch.setenv(key, value)
        instance = dg.DagsterInstance.from_config(str(home))
        client = DagsterGraphQLClient("127.0.0.1", port_number=stack.webserver_port)

        def submit(job: str, seconds: float) -> str:
            return client.submit_job_execution(job, repository_location_name=LOCATION,
                                               run_config=_hold(seconds))

        names = {submit("hold_slot", 10): "holder"}
        _wait_for(instance, list(names), {dg.DagsterRunStatus.STARTED}, "holder not started")
        names.update({submit("hold_slot", 0.2): f"queued-{i}" for i in range(QUEUED_BEHIND)})
        probe = submit(probe_job, 0.2)
        names[probe] = "probe"
        waiting = [names[r.dagster_run.run_id] for r in instance.get_run_records(
            filters=dg.RunsFilter(run_ids=list(names), statuses=[dg.DagsterRunStatus.QUEUED]))]
        records = _wait_for(instance, list(names), FINISHED, "runs did not finish")
        tags = instance.get_run_by_id(probe).tags
        instance.dispose()
    assert [r.dagster_run.status for r in records] == [dg.DagsterRunStatus.SUCCESS] * len(names)
    started = sorted(records, key=lambda r: r.start_time)
    return [names[r.dagster_run.run_id] for r in started], waiting, tags


@pytest.mark.slow
def test_monitoring_run_starts_before_the_runs_queued_before_it(make_database, tmp_path,
                                                                 monkeypatch):
    order, waiting, tags = start_order(make_database, tmp_path, monkeypatch, "snapshot_probe")
    print(f"start order with priority: {order}; queued when the probe came: {waiting}")
    assert tags["dagster/priority"] == "10"
    # the holder had the slot; all five were still waiting when the probe was queued
    assert sorted(waiting) == ["probe", "queued-0", "queued-1", "queued-2", "queued-3",
                               "queued-4"]
    assert order == ["holder", "probe", "queued-0", "queued-1", "queued-2", "queued-3",
                     "queued-4"]


@pytest.mark.slow
def test_without_the_priority_the_same_run_starts_last(make_database, tmp_path, monkeypatch):
    order, waiting, tags = start_order(make_database, tmp_path, monkeypatch,
                                       "snapshot_probe_unprioritised")
    print(f"start order without priority: {order}")
    assert "dagster/priority" not in tags
    assert len(waiting) == 6
    assert order == ["holder", "queued-0", "queued-1", "queued-2", "queued-3", "queued-4",
                     "probe"]
