"""The in-flight guard, on a real PostgreSQL-backed instance with build_schedule_context."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from supplybrain_pipelines.definitions import defs
from supplybrain_pipelines.guards import guarded_schedule, holds_slot, in_flight_run
from supplybrain_pipelines.jobs import observe_sources_job

TICK = datetime(2026, 11, 26, 9, 15, tzinfo=UTC)


#: The run event that moves a run into each status, as the run worker would report it.
EVENT_FOR_STATUS = {
    dg.DagsterRunStatus.QUEUED: dg.DagsterEventType.RUN_ENQUEUED,
    dg.DagsterRunStatus.STARTING: dg.DagsterEventType.RUN_STARTING,
    dg.DagsterRunStatus.STARTED: dg.DagsterEventType.RUN_START,
    dg.DagsterRunStatus.CANCELING: dg.DagsterEventType.RUN_CANCELING,
    dg.DagsterRunStatus.SUCCESS: dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterRunStatus.FAILURE: dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterRunStatus.CANCELED: dg.DagsterEventType.RUN_CANCELED,
}


def job_origin(job_name: str) -> RemoteJobOrigin:
    """Where a run of ``job_name`` comes from: this project's code location."""
    location = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="supplybrain_pipelines.definitions"))
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), job_name)


def add_run(instance: dg.DagsterInstance, job_name: str, status: dg.DagsterRunStatus) -> str:
    """Record a run of ``job_name`` in ``status`` in the instance's (PostgreSQL) run storage,
    moved there by the run event the queue or the run worker would report."""
    run_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name=job_name, run_id=run_id,
                                   status=dg.DagsterRunStatus.NOT_STARTED,
                                   remote_job_origin=job_origin(job_name)))
    event = dg.DagsterEvent(EVENT_FOR_STATUS[status].value, job_name=job_name)
    instance.run_storage.handle_run_event(run_id, event)
    assert instance.get_run_by_id(run_id).status == status
    return run_id


def evaluate(schedule: dg.ScheduleDefinition, instance: dg.DagsterInstance):
    # Entered and left: the context sets the instance's defs-state storage as the current one.
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=TICK) as context:
        return schedule.evaluate_tick(context)


def test_guard_requests_a_run_with_the_tick_as_run_key(dagster_instance):
    result = evaluate(defs.resolve_schedule_def("observe_sources_every_15m"), dagster_instance)
    assert [r.run_key for r in result.run_requests] == [TICK.isoformat()]
    assert not result.skip_message


@pytest.mark.parametrize("status", [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTED,
                                    dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.CANCELING])
def test_guard_skips_while_its_job_is_in_flight(dagster_instance, status):
    run_id = add_run(dagster_instance, observe_sources_job.name, status)
    result = evaluate(defs.resolve_schedule_def("observe_sources_every_15m"), dagster_instance)
    assert result.run_requests == []
    assert run_id in result.skip_message
    assert status.value.lower() in result.skip_message


@pytest.mark.parametrize("status", [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
                                    dg.DagsterRunStatus.CANCELED])
def test_guard_ignores_finished_runs(dagster_instance, status):
    add_run(dagster_instance, observe_sources_job.name, status)
    result = evaluate(defs.resolve_schedule_def("observe_sources_every_15m"), dagster_instance)
    assert len(result.run_requests) == 1


def test_guard_ignores_other_jobs_in_flight(dagster_instance):
    add_run(dagster_instance, "some_other_job", dg.DagsterRunStatus.QUEUED)
    result = evaluate(defs.resolve_schedule_def("observe_sources_every_15m"), dagster_instance)
    assert len(result.run_requests) == 1


def test_every_project_schedule_is_guarded(dagster_instance):
    schedules = list(defs.get_repository_def().schedule_defs)
    assert schedules, "the project defines no schedule"
    for schedule in schedules:
        add_run(dagster_instance, schedule.job_name, dg.DagsterRunStatus.QUEUED)
        result = evaluate(schedule, dagster_instance)
        assert result.run_requests == [], f"{schedule.name} is not guarded"
        assert result.skip_message
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_guarded_schedule_passes_run_config_and_tags(dagster_instance):
    schedule = guarded_schedule(
        name="probe", job=observe_sources_job, cron_schedule="0 * * * *", description="probe",
        tags={"team": "data"}, run_config_fn=lambda ctx: {"ops": {}},
    )
    request = evaluate(schedule, dagster_instance).run_requests[0]
    assert request.tags["team"] == "data"


# -- stale starts (issue 13): a run stuck before the worker does not skip ticks --------------

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("status", "since", "expected"), [
    (dg.DagsterRunStatus.NOT_STARTED, datetime(2026, 11, 26, 11, 58, 30, tzinfo=UTC), True),
    (dg.DagsterRunStatus.NOT_STARTED, datetime(2026, 11, 26, 11, 58, 0, tzinfo=UTC), True),
    (dg.DagsterRunStatus.NOT_STARTED, datetime(2026, 11, 26, 11, 57, 59, tzinfo=UTC), False),
    (dg.DagsterRunStatus.STARTING, datetime(2026, 11, 26, 11, 59, 0, tzinfo=UTC), True),
    (dg.DagsterRunStatus.STARTING, datetime(2026, 11, 26, 11, 56, 30, tzinfo=UTC), False),
    # a run that is queued, running or canceling counts however long it has been so
    (dg.DagsterRunStatus.QUEUED, datetime(2026, 11, 26, 10, 0, tzinfo=UTC), True),
    (dg.DagsterRunStatus.STARTED, datetime(2026, 11, 26, 11, 0, tzinfo=UTC), True),
    (dg.DagsterRunStatus.CANCELING, datetime(2026, 11, 26, 11, 0, tzinfo=UTC), True),
    (dg.DagsterRunStatus.SUCCESS, datetime(2026, 11, 26, 11, 59, 59, tzinfo=UTC), False),
    (dg.DagsterRunStatus.FAILURE, datetime(2026, 11, 26, 11, 59, 59, tzinfo=UTC), False),
])
def test_holds_slot_drops_only_stale_starts(status, since, expected):
    assert holds_slot(status, since, NOON) is expected


def test_a_run_not_started_for_minutes_no_longer_blocks_its_job(dagster_instance):
    run_id = str(uuid.uuid4())
    dagster_instance.add_run(dg.DagsterRun(
        job_name=observe_sources_job.name, run_id=run_id, status=dg.DagsterRunStatus.NOT_STARTED,
        remote_job_origin=job_origin(observe_sources_job.name)))
    added = dagster_instance.get_run_record_by_id(run_id).update_timestamp
    assert in_flight_run(dagster_instance, observe_sources_job.name, now=added).run_id == run_id
    assert in_flight_run(dagster_instance, observe_sources_job.name,
                         now=added + timedelta(minutes=3)) is None


def test_a_stale_start_does_not_hide_a_running_run(dagster_instance):
    running = add_run(dagster_instance, observe_sources_job.name, dg.DagsterRunStatus.STARTED)
    stuck = add_run(dagster_instance, observe_sources_job.name, dg.DagsterRunStatus.QUEUED)
    dagster_instance.run_storage.handle_run_event(
        stuck, dg.DagsterEvent(dg.DagsterEventType.RUN_STARTING.value,
                               job_name=observe_sources_job.name),
        update_timestamp=datetime.now(UTC) - timedelta(minutes=10))
    blocking = in_flight_run(dagster_instance, observe_sources_job.name)
    assert blocking is not None and blocking.run_id == running


def test_schedule_runs_when_its_only_run_is_stuck_starting(dagster_instance):
    run_id = add_run(dagster_instance, observe_sources_job.name, dg.DagsterRunStatus.QUEUED)
    dagster_instance.run_storage.handle_run_event(
        run_id, dg.DagsterEvent(dg.DagsterEventType.RUN_STARTING.value,
                                job_name=observe_sources_job.name),
        update_timestamp=datetime.now(UTC) - timedelta(minutes=5))
    assert dagster_instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTING
    result = evaluate(defs.resolve_schedule_def("observe_sources_every_15m"), dagster_instance)
    assert [r.run_key for r in result.run_requests] == [TICK.isoformat()]


def test_monitoring_runs_carry_the_queue_priority_and_others_do_not():
    assert defs.resolve_job_def("monitoring").run_tags["dagster/priority"] == "10"
    for job in ("ingest", "planning", "observe_sources", "monitoring_retention"):
        assert "dagster/priority" not in defs.resolve_job_def(job).run_tags, job
