"""The code location: the only place that builds ``dg.Definitions``."""

import dagster as dg

from supplybrain_pipelines.assets.sources import SOURCE_ASSETS
from supplybrain_pipelines.jobs import JOBS
from supplybrain_pipelines.resources.warehouse import warehouse_from_env
from supplybrain_pipelines.schedules import SCHEDULES

defs = dg.Definitions(
    assets=SOURCE_ASSETS,
    jobs=JOBS,
    schedules=SCHEDULES,
    resources={"warehouse": warehouse_from_env()},
)
