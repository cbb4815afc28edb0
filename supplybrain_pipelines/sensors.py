"""Sensors. The account sensor starts the initial backfill of a new or re-activated WB account
as a run of its own (through the queue), so the first 90 days don't wait for a schedule tick;
on an instance that has never ingested stock it first queues one full ``ingest`` run (the
"first sync"), so that on day one the whole graph, planning included, lands within minutes
instead of at the next :05/:20/:35/:50 tick."""

import json

import dagster as dg
from sqlalchemy import select

from supplybrain_pipelines.assets.ingest import wb_orders
from supplybrain_pipelines.assets.unified import orders_and_rollup, stock
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.jobs import ingest_job
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

BACKFILL_DAYS = 90
FIRST_SYNC_RUN_KEY = "first-sync"


@dg.sensor(job=ingest_job, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Backfills 90 days of WB orders for each WB account that became active "
           "(added, or re-activated) since the last evaluation; on an instance that has never "
           "ingested stock, first one full ingest run (the first sync).")
def wb_account_backfill_sensor(context: dg.SensorEvaluationContext,
                               warehouse: PostgresWarehouse):
    accounts = t.wb_integration_accounts.c
    with warehouse.transaction() as conn:
        rows = conn.execute(select(accounts.id, accounts.is_active, accounts.updated_at)).all()
    seen: dict[str, bool] = json.loads(context.cursor) if context.cursor else {}
    requests = []
    for row in rows:
        was_active = seen.get(str(row.id), False)
        if row.is_active and not was_active:
            requests.append(dg.RunRequest(
                run_key=f"wb-backfill-{row.id}-{row.updated_at.isoformat()}",
                asset_selection=[wb_orders.key, *orders_and_rollup.keys],
                run_config={"ops": {"wb_orders": {"config": {
                    "account_ids": [row.id], "backfill_days": BACKFILL_DAYS}}}},
                tags={"supplybrain/backfill_account": str(row.id)},
            ))
    cursor = json.dumps({str(row.id): bool(row.is_active) for row in rows}, sort_keys=True)
    if requests and context.instance.get_latest_materialization_event(stock.key) is None:
        # Every asset of the ingest job; accounts without a cursor start 90 days back. The run
        # key is used once per sensor, so this is asked for at most once per instance.
        requests.insert(0, dg.RunRequest(run_key=FIRST_SYNC_RUN_KEY,
                                         tags={"supplybrain/first_sync": "true"}))
    if not requests:
        return dg.SensorResult(skip_reason="no WB account became active", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)


planning_automation_sensor = dg.AutomationConditionSensorDefinition(
    "planning_automation",
    target=dg.AssetSelection.groups("planning"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Recomputes the planning assets (through the run queue) when fresh orders or "
    "stock land: their automation condition is eager.",
)

SENSORS = [wb_account_backfill_sensor, planning_automation_sensor]
