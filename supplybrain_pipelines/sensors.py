"""Sensors.

``account_sync_sensor`` gives every integration account that became active (added, or
re-activated; WB or MoySklad) one run of every source it has, through the run queue, so the
whole graph lands within minutes instead of at the next :05/:20/:35/:50 tick: the account's
three ingestion assets (an account without a cursor starts ``BACKFILL_DAYS`` back) and the
unified ``orders``/``orders_daily``/``stock``. Accounts that became active in the same
evaluation share one run. Planning follows through ``planning_automation`` (eager), and once
the sync run succeeded and planning has landed after it, the sensor asks for the monitoring
snapshot of the current window, so the first snapshot describes the synced data. The account
tables are observed in the same breath (an ``observe_sources`` run).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import Connection, select

from supplybrain_pipelines.assets.ingest import (
    moysklad_assortment,
    moysklad_customer_orders,
    moysklad_stock,
    wb_orders,
    wb_sales,
    wb_stocks,
)
from supplybrain_pipelines.assets.ingest._run import TICK_MARGIN
from supplybrain_pipelines.assets.planning import bundle_risk, planning_proposals
from supplybrain_pipelines.assets.unified import orders_and_rollup, stock
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.guards import in_flight_run
from supplybrain_pipelines.jobs import ingest_job, monitoring_job, observe_sources_job
from supplybrain_pipelines.logic.monitoring.windows import WINDOW, floor_window
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.schedules import window_config

BACKFILL_DAYS = 90
#: Account kind -> its table and the ingestion assets of its sources.
ACCOUNT_KINDS = {
    "wb": (t.ACCOUNT_TABLES["wb"], [wb_orders, wb_sales, wb_stocks]),
    "moysklad": (t.ACCOUNT_TABLES["moysklad"],
                 [moysklad_assortment, moysklad_customer_orders, moysklad_stock]),
}
UNIFIED_KEYS = [*orders_and_rollup.keys, *stock.keys]
#: The planning assets the monitoring snapshot reads: the follow-up snapshot waits for them.
SNAPSHOT_PLANNING_INPUTS = [bundle_risk.key, planning_proposals.key]
#: Tag carrying a sync run's key, so the sensor finds the run again.
SYNC_TAG = "supplybrain/account_sync"
#: A sync whose planning has not landed this long after the sensor asked for the run gets no
#: follow-up snapshot (the schedule's ticks write theirs anyway). The run's own limit is
#: ``run_monitoring.max_runtime_seconds`` (1 h) in dagster.yaml.
GIVE_UP_AFTER = timedelta(hours=2)
FAILED = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}

#: (kind, account id, updated_at) of an account that became active.
Activated = tuple[str, int, datetime]


def account_rows(conn: Connection) -> dict[str, list]:
    """Account kind -> (id, is_active, updated_at) of each of its accounts."""
    return {kind: conn.execute(select(table.c.id, table.c.is_active, table.c.updated_at)).all()
            for kind, (table, _) in ACCOUNT_KINDS.items()}


def became_active(seen: Mapping[str, Mapping[str, bool]],
                  rows: Mapping[str, Iterable]) -> list[Activated]:
    """Accounts active now that were not active (or not there) at the last evaluation.

    ``seen``: kind -> account id (as text) -> was active; ``rows``: kind -> rows with ``id``,
    ``is_active`` and ``updated_at``."""
    return [(kind, row.id, row.updated_at) for kind, kind_rows in rows.items()
            for row in kind_rows
            if row.is_active and not seen.get(kind, {}).get(str(row.id), False)]


def sync_request(activated: list[Activated]) -> dg.RunRequest:
    """One ``ingest`` run of every source of the ``activated`` accounts, then the unified
    assets. Its run key names each account with its ``updated_at``: evaluating again asks for
    nothing new, and a later re-activation (a new ``updated_at``) gets a run of its own."""
    ids: dict[str, list[int]] = {}
    for kind, account_id, _ in activated:
        ids.setdefault(kind, []).append(account_id)
    identity = ",".join(f"{k}-{i}-{at.isoformat()}" for k, i, at in sorted(activated))
    run_key = f"account-sync-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"
    selection, ops = [], {}
    for kind, account_ids in sorted(ids.items()):
        for asset in ACCOUNT_KINDS[kind][1]:
            selection.append(asset.key)
            ops[asset.op.name] = {"config": {"account_ids": sorted(account_ids),
                                             "backfill_days": BACKFILL_DAYS}}
    accounts = ";".join(f"{kind}:{','.join(map(str, sorted(v)))}" for kind, v in
                        sorted(ids.items()))
    return dg.RunRequest(run_key=run_key, job_name=ingest_job.name,
                         asset_selection=[*selection, *UNIFIED_KEYS],
                         run_config={"ops": ops},
                         tags={SYNC_TAG: run_key, "supplybrain/sync_accounts": accounts})


def follow_up_window(now: datetime, margin: timedelta = TICK_MARGIN) -> datetime | None:
    """The window a follow-up snapshot taken at ``now`` writes: the current one, unless the
    next quarter hour is within ``margin`` (that tick's own run comes then, and a follow-up
    still in flight would make the guarded schedule skip it). None also defers a sync."""
    window = floor_window(now)
    return window if window + WINDOW - now > margin else None


def _sync_state(instance: dg.DagsterInstance, run_key: str) -> tuple[str, float | None]:
    """``("waiting"|"failed"|"succeeded", end timestamp)`` of the sync run with ``run_key``."""
    records = instance.get_run_records(filters=dg.RunsFilter(tags={SYNC_TAG: run_key}), limit=1)
    if not records:
        return "waiting", None
    record = records[0]
    if record.dagster_run.status in FAILED:
        return "failed", None
    if record.dagster_run.status != dg.DagsterRunStatus.SUCCESS:
        return "waiting", None
    return "succeeded", record.end_time


def _planning_landed_after(instance: dg.DagsterInstance, moment: float) -> bool:
    for key in SNAPSHOT_PLANNING_INPUTS:
        event = instance.get_latest_materialization_event(key)
        if event is None or event.timestamp < moment:
            return False
    return True


def follow_ups(instance: dg.DagsterInstance, pending: Mapping[str, float], now: datetime
               ) -> tuple[list[dg.RunRequest], dict[str, float], list[str]]:
    """For the sync runs in ``pending`` (run key -> when it was asked for, epoch seconds): the
    snapshot request (at most one), the syncs still pending, and what was decided (the
    sensor's skip reason)."""
    still, notes, due = {}, [], {}
    for key, asked in pending.items():
        state, ended = _sync_state(instance, key)
        if state == "failed":
            notes.append(f"sync {key} failed: no follow-up snapshot")
        elif state == "succeeded" and _planning_landed_after(instance, ended or 0):
            due[key] = asked
        elif now.timestamp() - asked > GIVE_UP_AFTER.total_seconds():
            notes.append(f"sync {key} or its planning did not land within {GIVE_UP_AFTER}: "
                         "no follow-up snapshot")
        else:
            still[key] = asked
    if not due:
        return [], still, notes
    if in_flight_run(instance, monitoring_job.name, now) is not None:
        notes.append("a monitoring run is in flight: the follow-up snapshot waits")
        return [], {**still, **due}, notes
    window = follow_up_window(now)
    if window is None:
        notes.append("the next monitoring tick is due: it writes the snapshot")
        return [], still, notes
    return [dg.RunRequest(run_key=f"account-sync-snapshot-{window.isoformat()}",
                          job_name=monitoring_job.name, run_config=window_config(window),
                          tags={"supplybrain/after_account_sync": "true"})], still, notes


def evaluate_accounts(instance: dg.DagsterInstance, rows: Mapping[str, Iterable],
                      state: Mapping, now: datetime) -> tuple[list[dg.RunRequest], dict, str]:
    """One evaluation of :func:`account_sync_sensor` at ``now``: its run requests, its new
    cursor state (``seen``: kind -> account id -> active; ``pending``: syncs awaiting their
    snapshot) and its skip reason.

    Accounts that became active in the ``TICK_MARGIN`` before a quarter hour wait for it (they
    stay unseen): a run started then would read each feed's first page only (the page budget
    ends ``TICK_MARGIN`` before the tick), and the tick's snapshot takes the slot first anyway.
    """
    seen, pending = state.get("seen", {}), dict(state.get("pending", {}))
    # Older syncs first: one asked for in this evaluation cannot have run yet.
    requests, pending, notes = follow_ups(instance, pending, now)
    activated = became_active(seen, rows)
    new_seen = {kind: {str(r.id): bool(r.is_active) for r in kind_rows}
                for kind, kind_rows in rows.items()}
    if activated and follow_up_window(now) is None:
        notes.append(f"{len(activated)} account(s) became active: their sync waits for the "
                     "quarter hour (the page budget leaves no room before it)")
        new_seen = seen
    elif activated:
        sync = sync_request(activated)
        # The account tables changed: observe them now too, not at the next :03/:18/... tick.
        requests[:0] = [sync, dg.RunRequest(run_key=f"{sync.run_key}-observe",
                                            job_name=observe_sources_job.name)]
        pending[sync.run_key] = now.timestamp()
    return requests, {"seen": new_seen, "pending": pending}, \
        "; ".join(notes) or "no account became active"


@dg.sensor(jobs=[observe_sources_job, ingest_job, monitoring_job], minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="For each WB or MoySklad account that became active (added, or "
           "re-activated) since the last evaluation: one ingest run of its sources (90 days "
           "back for an account without a cursor) and the unified orders and stock, and an "
           "observation of the account tables; once the ingest run "
           "succeeded and planning followed, the monitoring snapshot of the current window.")
def account_sync_sensor(context: dg.SensorEvaluationContext, warehouse: PostgresWarehouse):
    with warehouse.transaction() as conn:
        rows = account_rows(conn)
    requests, state, skip = evaluate_accounts(
        context.instance, rows, json.loads(context.cursor) if context.cursor else {},
        datetime.now(UTC))
    cursor = json.dumps(state, sort_keys=True)
    if not requests:
        return dg.SensorResult(skip_reason=skip, cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)


planning_automation_sensor = dg.AutomationConditionSensorDefinition(
    "planning_automation",
    target=dg.AssetSelection.groups("planning"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Recomputes the planning assets (through the run queue) when fresh orders or "
    "stock land: their automation condition is eager.",
)

SENSORS = [account_sync_sensor, planning_automation_sensor]
