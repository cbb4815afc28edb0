"""A test-only code location for the run-queue tests: jobs that hold the run slot.

It exists so the queue tests measure the instance's queue (dagster.yaml), not the speed of any
business asset. ``snapshot_probe`` carries the project's monitoring job's tags (its run
priority), ``snapshot_probe_unprioritised`` none: the control case.
"""

import time

import dagster as dg

from supplybrain_pipelines.jobs import monitoring_job


class HoldConfig(dg.Config):
    seconds: float = 1.5


@dg.op
def hold_the_slot(config: HoldConfig) -> None:
    time.sleep(config.seconds)


@dg.job
def hold_slot():
    hold_the_slot()


@dg.job(tags=dict(monitoring_job.tags))
def snapshot_probe():
    hold_the_slot()


@dg.job
def snapshot_probe_unprioritised():
    hold_the_slot()


defs = dg.Definitions(jobs=[hold_slot, snapshot_probe, snapshot_probe_unprioritised])
