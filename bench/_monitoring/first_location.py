"""The code location of ``bench/monitoring_first.py``: :func:`first_definitions`.

The monitoring bench's location (``tick_location.py``: the project's assets, jobs and resources
and ``monitoring_every_15m``'s schedule on a one-minute cron), plus ``slow_ingest``, a job whose
one op sleeps ``seconds`` (default 20): it stands for an ingest run holding the run slot. Loaded
by Dagster from its path, so the sibling file is loaded by path too.
"""

import importlib.util
import time
from pathlib import Path

import dagster as dg


class SlowConfig(dg.Config):
    seconds: float = 20.0


@dg.op
def hold_like_an_ingest_run(config: SlowConfig) -> None:
    time.sleep(config.seconds)


@dg.job(description="Bench: holds the run slot like a slow ingest run (default priority).")
def slow_ingest():
    hold_like_an_ingest_run()


def first_definitions() -> dg.Definitions:
    spec = importlib.util.spec_from_file_location(
        "bench_tick_location", Path(__file__).with_name("tick_location.py"))
    tick_location = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tick_location)
    return dg.Definitions.merge(tick_location.tick_definitions(),
                                dg.Definitions(jobs=[slow_ingest]))
