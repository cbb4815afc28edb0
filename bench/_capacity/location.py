"""The capacity bench's Dagster code location, :func:`capacity_definitions`.

Served by ``dagster api grpc -f <this file> -a capacity_definitions``. The project's assets,
checks, jobs and resources, and no schedule or sensor: the bench launches every run itself, so
nothing else competes for the one run slot.
"""

import dagster as dg


def capacity_definitions() -> dg.Definitions:
    from supplybrain_pipelines.definitions import defs as project

    return dg.Definitions(assets=project.assets, asset_checks=project.asset_checks,
                          jobs=project.jobs, resources=project.resources)
