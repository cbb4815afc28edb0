"""Jobs. Every job runs through the one-at-a-time run queue when a schedule, sensor or the UI
starts it."""

import dagster as dg

from supplybrain_pipelines.assets.sources import SOURCE_ASSETS

observe_sources_job = dg.define_asset_job(
    name="observe_sources",
    selection=dg.AssetSelection.assets(*SOURCE_ASSETS),
    description="Observe the operator-managed tables (integration accounts, alert rules) and "
    "record their data versions.",
)

JOBS = [observe_sources_job]
