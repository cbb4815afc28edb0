"""The run slot's occupancy in the snapshot (issue 15), on a real Dagster instance whose run
storage holds runs with known times: the hour before WINDOW is [05:00, 06:00)."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
from dagster._core.events import DagsterEvent, DagsterEventType

from supplybrain_pipelines.db.seeds import SLOT_BUSY_SEED
from supplybrain_pipelines_tests.monitoring.test_snapshot import WINDOW, fetch_all, latest, snap


def at(hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime(2026, 11, 26, int(hours), int(minutes), tzinfo=UTC)


def add_run(instance: dg.DagsterInstance, run_id: str, created: str, started: str | None,
            ended: str | None) -> None:
    """A run created at ``created``, started and ended at the given times: the run storage's
    creation time and the times of its start and success events. (A QUEUED run needs a remote
    origin to be built here; its status does not change the times.)"""
    storage = instance.run_storage
    storage.add_historical_run(dg.DagsterRun(job_name="ingest", run_id=run_id,
                                             status=dg.DagsterRunStatus.NOT_STARTED),
                               at(created))
    for moment, event in ((started, DagsterEventType.RUN_START),
                          (ended, DagsterEventType.RUN_SUCCESS)):
        if moment:
            storage.handle_run_event(run_id, DagsterEvent(event.value, "ingest"),
                                     update_timestamp=at(moment))


def test_the_snapshot_records_the_busy_share_and_the_longest_queue_wait(migrated_db_url,
                                                                         dagster_instance):
    add_run(dagster_instance, "a", "04:50", "04:55", "05:10")  # 10 min in the hour
    add_run(dagster_instance, "b", "05:20", "05:29", "05:44")  # 15 min, waited 9 min
    add_run(dagster_instance, "c", "05:50", "05:52", None)  # still running: 8 min, waited 2
    add_run(dagster_instance, "d", "05:58", None, None)  # still queued: nothing
    add_run(dagster_instance, "e", "06:01", "06:02", "06:10")  # after the window
    snap(migrated_db_url, dagster_instance)
    row = latest(migrated_db_url)
    assert row.window_start == WINDOW
    # busy 600 + 900 + 480 = 1980 s of 3600
    assert row.details["run_slot"] == {
        "since": "2026-11-26T05:00:00+00:00", "until": "2026-11-26T06:00:00+00:00",
        "busy_seconds": 1980.0, "busy_share": 0.55, "runs_counted": 3,
        "queue_wait_max_seconds": 540.0, "longest_wait_run_id": "b"}
    metrics = row.details["metrics"]
    assert (metrics["slot_busy_share"], metrics["slot_busy_pct"],
            metrics["queue_wait_max_seconds"]) == (0.55, 55.0, 540.0)
    series = dict(fetch_all(migrated_db_url, "SELECT metric, value FROM "
                            "supplybrain.monitoring_timeseries WHERE metric LIKE 'slot_%' "
                            "OR metric = 'queue_wait_max_seconds'"))
    assert {k: float(v) for k, v in series.items()} == {
        "slot_busy_share": 0.55, "slot_busy_pct": 55.0, "queue_wait_max_seconds": 540.0}
    # 55 % is below the default rule's 80 %
    assert fetch_all(migrated_db_url, "SELECT * FROM supplybrain.monitoring_alerts "
                     "WHERE metric = 'slot_busy_pct'") == []


def test_a_run_holding_the_slot_all_hour_fires_the_default_slot_rule(migrated_db_url,
                                                                      dagster_instance):
    # Started before the hour and still running: last updated at 03:10, found by its status.
    add_run(dagster_instance, "long", "03:00", "03:10", None)
    snap(migrated_db_url, dagster_instance)
    row = latest(migrated_db_url)
    assert row.details["run_slot"]["busy_share"] == 1.0
    assert row.details["run_slot"]["queue_wait_max_seconds"] == 0.0  # it started before
    alerts = fetch_all(migrated_db_url, "SELECT rule_name, severity, current_value FROM "
                       "supplybrain.monitoring_alerts WHERE metric = 'slot_busy_pct'")
    assert [(a.rule_name, a.severity, float(a.current_value)) for a in alerts] == [
        (SLOT_BUSY_SEED.name, "warning", 100.0)]
