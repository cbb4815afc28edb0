"""A test-only code location for the outbox's real-daemon test: one job whose run fails, the
project's run-failure sensor and outbox sensor, and the project's notifier and warehouse
(SUPPLYBRAIN_WEBHOOK_URL and SUPPLYBRAIN_DATABASE_URL from the test's environment)."""

import dagster as dg

from supplybrain_pipelines.notify_sensor import (
    notification_outbox_sensor,
    run_failure_notification_sensor,
)
from supplybrain_pipelines.resources.notifier import notifier_from_env
from supplybrain_pipelines.resources.warehouse import warehouse_from_env


@dg.op
def explode() -> None:
    raise RuntimeError("the marketplace said no")


@dg.job
def failing_job() -> None:
    explode()


defs = dg.Definitions(
    jobs=[failing_job],
    sensors=[run_failure_notification_sensor, notification_outbox_sensor],
    resources={"notifier": notifier_from_env(), "warehouse": warehouse_from_env()})
