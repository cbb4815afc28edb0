"""The ingestion bench's timed work: the pydantic reference, the warm-up and the repetitions.

Owns :func:`time_pydantic` (``validate_page`` once, for reference), :func:`warm_up` (one small
untimed pass of A, B, W and C: imports, statement caches, prepared statements) and
:func:`run_repetitions` (A, V, W, B, C per repetition on freshly reset tables, the stored row
count checked after each writing pass, one line per repetition), collected in
:class:`Repetitions`.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

import sqlalchemy as sa
from _support.console import say

from _ingest.data import Fetched, Inputs
from _ingest.meters import CpuMeter, StepTimer, timed
from _ingest.passes import (
    count_orders,
    reset,
    run_bulk,
    run_pipeline,
    run_pydantic,
    run_row_by_row,
    run_validate,
    run_writes,
)
from supplybrain_pipelines.assets.ingest.wb import ORDERS
from supplybrain_pipelines.logic.records_fast import check_page
from supplybrain_pipelines.resources.marketplace import WbPage
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse


@dataclass
class Repetitions:
    """Per path ("A", "V", "W", "B", "C"), (rows, seconds) of each repetition; per repetition
    of A, its seconds per step and its CPU."""

    results: dict[str, list[tuple[int, float]]] = field(
        default_factory=lambda: {k: [] for k in "AVWBC"})
    breakdowns: list[dict[str, float]] = field(default_factory=list)
    cpu: list[CpuMeter] = field(default_factory=list)


def time_pydantic(pages_by_account: dict[int, list[WbPage]]) -> float:
    """Seconds of one ``validate_page`` pass over every page (untimed set-up before it)."""
    gc.collect()
    return timed(lambda: run_pydantic(pages_by_account))[1]


def warm_up(engine: sa.Engine, warehouse: PostgresWarehouse, fetched: Fetched,
            inputs: Inputs) -> None:
    """Untimed: imports, statement caches, prepared statements."""
    first_id = next(iter(fetched.pages_by_account))
    first = fetched.pages_by_account[first_id][0]
    small = WbPage(first.records[:2000], first.date_from, None)
    reset(engine)
    run_pipeline(warehouse, {first_id: [small]})
    reset(engine)
    run_bulk(warehouse, [inputs.tuples_by_page[0][:2000]])
    reset(engine)
    run_writes(warehouse, inputs.account_by_id,
               {first_id: [check_page(small.records, ORDERS.model, (first_id,))]})
    reset(engine)
    run_row_by_row(warehouse, inputs.row_by_row[:500])


def run_repetitions(repeat: int, engine: sa.Engine, warehouse: PostgresWarehouse, server,
                    fetched: Fetched, inputs: Inputs) -> Repetitions:
    """``repeat`` rounds of A, V, W, B and C; ``server`` is the embedded PostgreSQL (its
    postmaster's CPU is counted during A)."""
    pages_by_account, distinct = fetched.pages_by_account, fetched.distinct
    account_by_id, checked = inputs.account_by_id, inputs.checked
    tuples_by_page, rbr_rows = inputs.tuples_by_page, inputs.row_by_row
    reps = Repetitions()
    results = reps.results
    for rep in range(1, repeat + 1):
        reset(engine)
        with StepTimer(warehouse) as steps, CpuMeter(server.pid()) as cpu:
            results["A"].append(timed(lambda: run_pipeline(steps, pages_by_account)))
        reps.breakdowns.append(steps.seconds)
        reps.cpu.append(cpu)
        stored = count_orders(engine)
        if stored != distinct:
            raise RuntimeError(f"pipeline stored {stored} orders, expected {distinct}")
        results["V"].append(timed(lambda: run_validate(pages_by_account)))
        reset(engine)
        results["W"].append(timed(lambda: run_writes(warehouse, account_by_id, checked)))
        if count_orders(engine) != distinct:
            raise RuntimeError("page writes stored a different number of orders")
        reset(engine)
        results["B"].append(timed(lambda: run_bulk(warehouse, tuples_by_page)))
        if count_orders(engine) != distinct:
            raise RuntimeError("bulk write stored a different number of orders")
        reset(engine)
        results["C"].append(timed(lambda: run_row_by_row(warehouse, rbr_rows)))
        if count_orders(engine) != len(rbr_rows):
            raise RuntimeError("row-by-row stored a different number of orders")
        line = "  ".join(f"{k} {n / s:>9,.0f}/s" for k, ((n, s)) in
                         ((k, v[-1]) for k, v in results.items()))
        say(f"rep {rep}/{repeat}: {line}")
    return reps
