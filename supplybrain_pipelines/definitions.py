"""The code location: the only place that builds ``dg.Definitions``."""

import dagster as dg

from supplybrain_pipelines.assets.ingest import INGEST_ASSETS
from supplybrain_pipelines.assets.monitoring import MONITORING_ASSETS, MONITORING_CHECKS
from supplybrain_pipelines.assets.planning import PLANNING_ASSETS
from supplybrain_pipelines.assets.sources import SOURCE_ASSETS
from supplybrain_pipelines.assets.unified import orders_and_rollup, stock
from supplybrain_pipelines.checks import CHECKS
from supplybrain_pipelines.freshness import with_freshness
from supplybrain_pipelines.jobs import JOBS
from supplybrain_pipelines.notify_sensor import (
    notification_outbox_sensor,
    run_failure_notification_sensor,
)
from supplybrain_pipelines.resources import marketplace_from_env
from supplybrain_pipelines.resources.notifier import notifier_from_env
from supplybrain_pipelines.resources.warehouse import warehouse_from_env
from supplybrain_pipelines.schedules import SCHEDULES
from supplybrain_pipelines.sensors import SENSORS

defs = dg.Definitions(
    assets=with_freshness([*SOURCE_ASSETS, *INGEST_ASSETS, orders_and_rollup, stock,
                           *PLANNING_ASSETS, *MONITORING_ASSETS]),
    asset_checks=[*CHECKS, *MONITORING_CHECKS],
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=[*SENSORS, run_failure_notification_sensor, notification_outbox_sensor],
    resources={"warehouse": warehouse_from_env(), "marketplace": marketplace_from_env(),
               "notifier": notifier_from_env()},
)
