"""The run-failure sensor: a failed run (executed in process) is announced with one webhook post
that carries the run id and the scrubbed error, recorded under ``run_failure:<run_id>``, and
not announced twice; a post that fails stays queued and a later outbox-sensor tick sends it."""

import dagster as dg
import pytest
import sqlalchemy as sa

from supplybrain_pipelines.notify_sensor import (
    notification_outbox_sensor,
    run_failure_notification_sensor,
)
from supplybrain_pipelines.resources.notifier import WebhookNotifier, notifier_from_env
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.token_crypto import encrypt_token
from supplybrain_pipelines_tests.fixtures_db import engine, fetch_all, url_text
from supplybrain_pipelines_tests.monitoring.receiver import webhook_fixture  # noqa: F401

ACCOUNT_TOKEN = "wb-account-token-4f2a9c"  # not secret-shaped: only the account table knows it


@dg.op
def explode() -> None:
    raise RuntimeError(f"WB said 401 for token {ACCOUNT_TOKEN} and "
                       "Authorization: Bearer abcdefghijklmnopqrstuvwxyz")


@dg.job
def failing_job() -> None:
    explode()



@pytest.fixture
def warehouse(migrated_db_url) -> PostgresWarehouse:
    eng = engine(migrated_db_url)
    with eng.begin() as conn:
        conn.execute(sa.text("INSERT INTO supplybrain.wb_integration_accounts (name, "
                             "api_token_encrypted) VALUES ('main', :token)"),
                     {"token": encrypt_token(ACCOUNT_TOKEN)})
    eng.dispose()
    return PostgresWarehouse(database_url=url_text(migrated_db_url))


def fail_and_notify(instance: dg.DagsterInstance, resources: dict, evaluations: int = 1,
                    tags: dict[str, str] | None = None) -> str:
    """Run the failing job, then evaluate the sensor on its failure; the run id."""
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False, tags=tags)
    assert not result.success
    with dg.build_run_status_sensor_context(
        sensor_name=run_failure_notification_sensor.name,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
        resources=resources,
    ) as context:  # the warehouse resource has a teardown: open its scope
        for _ in range(evaluations):
            run_failure_notification_sensor(context.for_run_failure())
    return result.run_id


def test_sensor_is_running_by_default_and_loads_with_its_resources(monkeypatch):
    assert run_failure_notification_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert {"notifier", "warehouse"} <= run_failure_notification_sensor.required_resource_keys
    monkeypatch.setenv("SUPPLYBRAIN_WEBHOOK_URL", "https://hooks.example.org/secret-path")
    dg.Definitions.validate_loadable(dg.Definitions(
        sensors=[run_failure_notification_sensor],
        resources={"notifier": notifier_from_env(),
                   "warehouse": PostgresWarehouse(database_url="postgresql://x@localhost/x")}))


def test_a_failed_run_posts_once_with_its_run_id(webhook, warehouse, migrated_db_url):
    notifier = WebhookNotifier(url=webhook.url, backoff_seconds=0.01)
    with dg.DagsterInstance.ephemeral() as instance:
        # evaluated twice on the same failure: posted once
        run_id = fail_and_notify(instance, {"notifier": notifier, "warehouse": warehouse},
                                 evaluations=2)

    [body] = webhook.bodies
    assert body["kind"] == "run_failure" and body["run_id"] == run_id
    assert body["job_name"] == "failing_job" and run_id in body["text"]
    assert "explode" in body["error"] and "RuntimeError" not in body["title"]
    assert body["error"].startswith('Execution of run for "failing_job" failed.')
    assert "\nexplode: RuntimeError: WB said 401 for token *** and" in body["error"]
    assert ACCOUNT_TOKEN not in body["error"] and "abcdefghijklmnop" not in body["error"]
    rows = fetch_all(migrated_db_url, "SELECT event_key, kind, status, attempts "
                                      "FROM supplybrain.monitoring_notifications")
    assert rows == [(f"run_failure:{run_id}", "run_failure", "sent", 1)]


def test_a_failed_run_in_slack_format(webhook, warehouse):
    notifier = WebhookNotifier(url=webhook.url, format="slack", backoff_seconds=0.01)
    with dg.DagsterInstance.ephemeral() as instance:
        run_id = fail_and_notify(instance, {"notifier": notifier, "warehouse": warehouse})
    [body] = webhook.bodies
    assert "failing_job" in body["text"] and run_id in body["blocks"][1]["text"]["text"]


def test_a_run_that_will_be_retried_is_not_announced(webhook, warehouse):
    notifier = WebhookNotifier(url=webhook.url, backoff_seconds=0.01)
    with dg.DagsterInstance.ephemeral() as instance:
        fail_and_notify(instance, {"notifier": notifier, "warehouse": warehouse},
                        tags={"dagster/will_retry": "true"})
    assert webhook.posts == []


def test_without_a_webhook_nothing_happens(migrated_db_url):
    warehouse = PostgresWarehouse(database_url=url_text(migrated_db_url))
    with dg.DagsterInstance.ephemeral() as instance:
        fail_and_notify(instance, {"notifier": WebhookNotifier(), "warehouse": warehouse})
    assert fetch_all(migrated_db_url,
                     "SELECT count(*) FROM supplybrain.monitoring_notifications") == [(0,)]


def test_the_outbox_sensor_is_running_by_default_and_loads(monkeypatch):
    assert notification_outbox_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert notification_outbox_sensor.minimum_interval_seconds == 30
    monkeypatch.setenv("SUPPLYBRAIN_WEBHOOK_URL", "https://hooks.example.org/secret-path")
    dg.Definitions.validate_loadable(dg.Definitions(
        sensors=[notification_outbox_sensor],
        resources={"notifier": notifier_from_env(),
                   "warehouse": PostgresWarehouse(database_url="postgresql://x@localhost/x")}))


def test_a_failure_announced_while_the_receiver_is_down_goes_out_on_a_later_tick(
        webhook, warehouse, migrated_db_url):
    notifier = WebhookNotifier(url=webhook.url, backoff_seconds=0.01, max_attempts=2,
                               retry_base_seconds=0.0, retry_max_seconds=0.0)
    resources = {"notifier": notifier, "warehouse": warehouse}
    webhook.fail(2, status=502)
    with dg.DagsterInstance.ephemeral() as instance:
        run_id = fail_and_notify(instance, resources)  # the cursor moves past the run
        assert fetch_all(migrated_db_url, "SELECT status, attempts FROM "
                         "supplybrain.monitoring_notifications") == [("failed", 2)]
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            first = notification_outbox_sensor(context).skip_message
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            second = notification_outbox_sensor(context).skip_message
    assert first == "outbox: 1 sent; 0 expired; 0 waiting"
    assert second == "outbox: nothing due; 0 expired; 0 waiting"
    assert [body["run_id"] for body in webhook.bodies] == [run_id] * 3
    assert webhook.posts[-1].headers["Idempotency-Key"] == f"run_failure:{run_id}"
    assert fetch_all(migrated_db_url, "SELECT status, attempts FROM "
                     "supplybrain.monitoring_notifications") == [("sent", 3)]


def test_the_outbox_sensor_without_a_webhook_skips(warehouse):
    with dg.DagsterInstance.ephemeral() as instance, dg.build_sensor_context(
            instance=instance,
            resources={"notifier": WebhookNotifier(), "warehouse": warehouse}) as context:
        assert notification_outbox_sensor(context).skip_message == "no webhook is configured"
