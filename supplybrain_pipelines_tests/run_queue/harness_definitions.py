"""A test-only code location for the run-queue test: one job that holds the run slot.

It exists so the queue test measures the instance's limit (dagster.yaml), not the speed of any
business asset.
"""

import time

import dagster as dg


class HoldConfig(dg.Config):
    seconds: float = 1.5


@dg.op
def hold_the_slot(config: HoldConfig) -> None:
    time.sleep(config.seconds)


@dg.job
def hold_slot():
    hold_the_slot()


defs = dg.Definitions(jobs=[hold_slot])
