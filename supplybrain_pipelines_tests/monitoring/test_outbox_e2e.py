"""A webhook receiver that is down for several monitoring windows and then comes back: each
status change (real snapshot runs) and each run failure (the real run-failure sensor on a failed
run) arrives exactly once, in the order they happened, delivered by the outbox sensor. And a
snapshot whose transaction fails at its commit leaves neither its row nor its event."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from supplybrain_pipelines.assets.monitoring import MONITORING_ASSETS, MONITORING_CHECKS
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.notify_sensor import notification_outbox_sensor
from supplybrain_pipelines.resources.notifier import WebhookNotifier
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all, url_text
from supplybrain_pipelines_tests.monitoring.receiver import WebhookReceiver
from supplybrain_pipelines_tests.monitoring.test_run_failure_sensor import fail_and_notify
from supplybrain_pipelines_tests.monitoring.test_snapshot import WINDOW, add_accounts, add_rows


def snap(instance, resources: dict, minutes: int, succeeds: bool = True):
    window = (WINDOW + timedelta(minutes=minutes)).isoformat()
    result = dg.materialize(
        [*MONITORING_ASSETS, *MONITORING_CHECKS], instance=instance, resources=resources,
        run_config={"ops": {"monitoring_snapshot": {"config": {"window_start": window}}}},
        raise_on_error=False)
    assert result.success is succeeds
    return result


def outbox_tick(instance, resources: dict) -> str:
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        return notification_outbox_sensor(context).skip_message


def test_a_receiver_down_for_several_windows_gets_every_event_once_in_order(
        migrated_db_url, dagster_instance):
    with WebhookReceiver() as hook:
        resources = {
            "warehouse": PostgresWarehouse(database_url=url_text(migrated_db_url)),
            # every round is due at once, so that each snapshot and tick tries again
            "notifier": WebhookNotifier(url=hook.url, backoff_seconds=0.01, max_attempts=2,
                                        retry_base_seconds=0.0, retry_max_seconds=0.0)}
        hook.fail(10_000, status=503)                                   # the receiver is down
        snap(dagster_instance, resources, 0)                            # critical (first)
        with dg.DagsterInstance.ephemeral() as runs:
            run_a = fail_and_notify(runs, resources)
        add_accounts(migrated_db_url, wb=[True], ms=[True])
        add_rows(migrated_db_url, t.planning_proposals, [
            {"run_id": "r", "sku_unit_id": 1, "article_id": 1, "recommended_quantity": 5}])
        snap(dagster_instance, resources, 15)                           # critical -> ok
        snap(dagster_instance, resources, 30)                           # ok, unchanged
        with dg.DagsterInstance.ephemeral() as runs:
            run_b = fail_and_notify(runs, resources)
        assert "4 waiting" in outbox_tick(dagster_instance, resources)
        down = len(hook.posts)
        # only the oldest event was tried while the receiver was down (2 POSTs per round)
        assert {p.headers["Idempotency-Key"] for p in hook.posts} == {
            f"status_change:{WINDOW.isoformat()}:None->critical"}

        hook.recover()                                                  # the receiver is back
        assert outbox_tick(dagster_instance, resources).startswith("outbox: 4 sent")
        snap(dagster_instance, resources, 45)                           # ok, unchanged
        assert outbox_tick(dagster_instance, resources).startswith("outbox: nothing due")
        delivered = hook.posts[down:]

    assert [(p.body["kind"], p.body.get("status"), p.body.get("run_id"))
            for p in delivered] == [("status_change", "critical", None),
                                    ("run_failure", None, run_a),
                                    ("status_change", "ok", None),
                                    ("run_failure", None, run_b)]
    window_1 = (WINDOW + timedelta(minutes=15)).isoformat()
    assert [p.headers["Idempotency-Key"] for p in delivered] == [
        f"status_change:{WINDOW.isoformat()}:None->critical", f"run_failure:{run_a}",
        f"status_change:{window_1}:critical->ok", f"run_failure:{run_b}"]
    assert [tuple(r) for r in fetch_all(migrated_db_url, "SELECT kind, status FROM "
                                        "supplybrain.monitoring_notifications ORDER BY id")] == [
        ("status_change", "sent"), ("run_failure", "sent"), ("status_change", "sent"),
        ("run_failure", "sent")]


def test_a_snapshot_that_fails_at_commit_leaves_no_row_and_no_event(migrated_db_url,
                                                                    dagster_instance):
    execute(migrated_db_url, "CREATE FUNCTION supplybrain.refuse() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$")
    execute(migrated_db_url, "CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON "
            "supplybrain.monitoring_snapshots DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            "EXECUTE FUNCTION supplybrain.refuse()")  # fails the transaction at its COMMIT
    count = ("SELECT (SELECT count(*) FROM supplybrain.monitoring_snapshots), "
             "(SELECT count(*) FROM supplybrain.monitoring_notifications)")
    with WebhookReceiver() as hook:
        resources = {"warehouse": PostgresWarehouse(database_url=url_text(migrated_db_url)),
                     "notifier": WebhookNotifier(url=hook.url, backoff_seconds=0.01)}
        snap(dagster_instance, resources, 0, succeeds=False)       # would be critical: news
        assert hook.posts == []
        assert [tuple(r) for r in fetch_all(migrated_db_url, count)] == [(0, 0)]
        execute(migrated_db_url, "DROP TRIGGER refuse ON supplybrain.monitoring_snapshots")
        snap(dagster_instance, resources, 0)                        # the retry commits both
        assert [tuple(r) for r in fetch_all(migrated_db_url, count)] == [(1, 1)]
        assert [p.body["status"] for p in hook.posts] == ["critical"]
