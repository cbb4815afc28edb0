"""Jobs. Every job runs through the one-at-a-time run queue when a schedule, sensor or the UI
starts it.

The queue starts runs by their ``dagster/priority`` tag, highest first, and in submission order
within a priority (``QueuedRunCoordinatorDaemon._priority_sort``). Monitoring runs carry
``MONITORING_PRIORITY``, every other run the default 0: a snapshot waits only for the run that
holds the slot, never for the ingest or backfill runs queued before it.
"""

import dagster as dg

from supplybrain_pipelines.assets.ingest import INGEST_ASSETS
from supplybrain_pipelines.assets.monitoring import MONITORING_ASSETS
from supplybrain_pipelines.assets.planning import PLANNING_ASSETS
from supplybrain_pipelines.assets.sources import SOURCE_ASSETS
from supplybrain_pipelines.assets.unified import orders_and_rollup, stock
from supplybrain_pipelines.maintenance import monitoring_retention, planning_retention

observe_sources_job = dg.define_asset_job(
    name="observe_sources",
    selection=dg.AssetSelection.assets(*SOURCE_ASSETS),
    description="Observe the operator-managed tables (integration accounts, alert rules) and "
    "record their data versions.",
)

ingest_job = dg.define_asset_job(
    name="ingest",
    selection=dg.AssetSelection.assets(*INGEST_ASSETS, orders_and_rollup, stock),
    description="Pull orders and stock of every active WB and MoySklad account, then refresh "
    "the unified orders, their daily rollup and stock.",
)

planning_job = dg.define_asset_job(
    name="planning",
    selection=dg.AssetSelection.assets(*PLANNING_ASSETS),
    description="Recompute demand, supply, proposals, bundle risk and planning health (the "
    "automation sensor runs the same assets when fresh orders or stock land).",
)

#: Run priority of monitoring runs (every other run: Dagster's default, 0).
MONITORING_PRIORITY = 10

monitoring_job = dg.define_asset_job(
    name="monitoring",
    tags={"dagster/priority": str(MONITORING_PRIORITY)},
    selection=dg.AssetSelection.assets(*MONITORING_ASSETS),
    description="Write the monitoring snapshot of one 15-minute window (run config "
    "ops.monitoring_snapshot.config.window_start; empty = the window containing now), evaluate "
    "the alert rules and announce a status change.",
)

JOBS = [observe_sources_job, ingest_job, planning_job, monitoring_job, monitoring_retention,
        planning_retention]
