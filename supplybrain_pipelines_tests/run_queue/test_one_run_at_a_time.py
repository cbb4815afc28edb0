"""One run at a time, proven with real processes: runs submitted through the GraphQL launch
mutation to a webserver, dequeued by a real dagster-daemon, executed by a gRPC code server, all
on PostgreSQL storage configured by the project's dagster.yaml.

The same harness run with the limit raised must see overlap, which shows the sampler can fail.
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
RUNS = 10
HOLD_SECONDS = 1.5
IN_PROGRESS = {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED}
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED}


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of [start, end] intervals that hold one instant."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda event: (event[0], event[1]))  # an end before a start at a tie
    current = peak = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def test_max_overlap_counts_simultaneous_intervals():
    assert max_overlap([(0, 1), (1, 2), (2, 3)]) == 1
    assert max_overlap([(0, 2), (1, 3), (1.5, 4)]) == 3


def run_burst(make_database, tmp_path: Path, monkeypatch, max_concurrent_runs: int):
    """Submit RUNS runs at once; sample run records until all finish.

    Returns (peak in-progress count seen by sampling, peak overlap of recorded start/end
    times, final statuses).
    """
    storage = make_database()
    home = write_instance_config(tmp_path / "dagster_home", max_concurrent_runs)
    with dagster_stack(storage, home, HARNESS) as stack:
        for key, value in stack.env.items():
            if key.startswith("DAGSTER_PG_"):
                monkeypatch.setenv(key, value)
        instance = dg.DagsterInstance.from_config(str(home))
        client = DagsterGraphQLClient("127.0.0.1", port_number=stack.webserver_port)
        run_ids = [
            client.submit_job_execution(
                "hold_slot", repository_location_name=LOCATION,
                run_config={"ops": {"hold_the_slot": {"config": {"seconds": HOLD_SECONDS}}}},
            )
            for _ in range(RUNS)
        ]
        sampled_peak = 0
        deadline = time.monotonic() + 300
        while True:
            records = instance.get_run_records(filters=dg.RunsFilter(run_ids=run_ids))
            statuses = [record.dagster_run.status for record in records]
            sampled_peak = max(sampled_peak, sum(s in IN_PROGRESS for s in statuses))
            if len(records) == RUNS and all(s in FINISHED for s in statuses):
                break
            assert time.monotonic() < deadline, f"runs did not finish: {statuses}"
            time.sleep(0.1)
        intervals = [(r.start_time, r.end_time) for r in records]
        instance.dispose()
    assert all(start and end for start, end in intervals), intervals
    return sampled_peak, max_overlap(intervals), statuses


@pytest.mark.slow
def test_queue_runs_one_at_a_time(make_database, tmp_path, monkeypatch):
    sampled_peak, recorded_peak, statuses = run_burst(make_database, tmp_path, monkeypatch, 1)
    print(f"max_concurrent_runs=1: sampled peak {sampled_peak}, recorded peak {recorded_peak}")
    assert statuses == [dg.DagsterRunStatus.SUCCESS] * RUNS
    assert sampled_peak == 1
    assert recorded_peak == 1


@pytest.mark.slow
def test_same_harness_sees_overlap_when_limit_is_raised(make_database, tmp_path, monkeypatch):
    sampled_peak, recorded_peak, statuses = run_burst(make_database, tmp_path, monkeypatch, 4)
    print(f"max_concurrent_runs=4: sampled peak {sampled_peak}, recorded peak {recorded_peak}")
    assert statuses == [dg.DagsterRunStatus.SUCCESS] * RUNS
    assert sampled_peak > 1
    assert recorded_peak > 1
