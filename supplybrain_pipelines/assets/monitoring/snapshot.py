"""``monitoring_snapshot``: one row per 15-minute window in ``monitoring_snapshots``, the alerts
it raised in ``monitoring_alerts``, and a webhook notification when the overall status changes.

The window is the schedule's tick time (passed as run config by ``monitoring_every_15m``); a
manual run takes the window that contains now. Writing is an upsert on ``window_start`` in one
transaction with the window's alerts, so duplicate ticks, retries and re-materialisations leave
one row. A status change is queued in the notification outbox in that same transaction (key
``status_change:<window>:<previous>-><status>``), so the row and its event commit together; after
the commit the run delivers every due event of the outbox (``resources/notifier.py``). Delivery
never fails the run: an event that cannot be posted waits for a later snapshot or sensor tick.

What the UI shows: the overall status is the asset check ``business_status`` (``checks.py``:
``ok`` passes, ``warning`` fails as a warning, ``critical`` as an error), evaluated in the same
step; every counter, alert count and metric with a value is numeric metadata of the
materialisation (:func:`numeric_metadata`), so the asset's page plots each over time.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field
from sqlalchemy import delete, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from supplybrain_pipelines.assets._metadata import OWNERS, table_metadata
from supplybrain_pipelines.assets.monitoring import queries as q
from supplybrain_pipelines.assets.monitoring.checks import BUSINESS_STATUS, business_status_result
from supplybrain_pipelines.assets.monitoring.run_slot import measure_run_slot
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.monitoring.messages import status_change_event
from supplybrain_pipelines.logic.monitoring.rules import (
    Evaluation,
    Rule,
    evaluate,
    overall_status,
)
from supplybrain_pipelines.logic.monitoring.windows import floor_window, is_window_start
from supplybrain_pipelines.resources.notifier import WebhookNotifier
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

GROUP = "monitoring"

#: Bump when a column's or metric's meaning changes; every row records the version it was
#: computed with. 2: the risk counters are bundle_risk_* (migration 0016); details.run_slot.
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Snapshot:
    window_start: datetime
    counters: dict[str, int]
    metrics: dict[str, float | None]
    details: dict

    @property
    def values(self) -> dict[str, float | None]:
        """Every metric an alert rule may watch, by name."""
        return {**self.counters, **self.metrics}


class SnapshotConfig(dg.Config):
    window_start: str | None = Field(
        default=None,
        description="Start of the 15-minute window (ISO 8601 with offset, aligned to :00, :15, "
        ":30 or :45). The schedule passes its tick time; empty takes the window containing now.")


def resolve_window(value: str | None, now: datetime) -> datetime:
    """The window a run writes: the configured start, which must be aligned, or floor(now)."""
    if not value:
        return floor_window(now)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise dg.Failure(f"window_start {value!r} is not an ISO 8601 time") from error
    if not is_window_start(moment):
        raise dg.Failure(f"window_start {value!r} must carry a UTC offset and start a "
                         "15-minute window (:00, :15, :30 or :45, zero seconds)")
    return moment.astimezone(UTC)


def compute_snapshot(conn: Connection, window_start: datetime, now: datetime,
                     instance: dg.DagsterInstance | None = None) -> Snapshot:
    """Counters, metrics and details of one window, from set-based SQL (see ``queries``), and
    the run slot's occupancy in the hour before it from ``instance``'s run storage (left out
    without an instance).

    Ages are measured at ``window_start`` (the tick), so a snapshot that waited for the run
    slot reports the window it stands for; ``now`` is only recorded as ``computed_at``."""
    latest = q.read_latest_proposals(conn)
    counters = q.read_counters(conn, latest)
    accounts, sync_metrics = q.read_sync_health(conn, window_start)
    orders, order_metrics = q.read_order_volume(conn, window_start)
    watermarks, watermark_metrics = q.read_watermarks(conn, window_start, latest)
    quality, quality_metrics = q.read_data_quality(conn, window_start)
    metrics = {**sync_metrics, **order_metrics, **watermark_metrics, **quality_metrics}
    details = {"computed_at": now.isoformat(), "accounts": accounts, "orders": orders,
               "watermarks": watermarks, **quality}
    if instance is not None:
        details["run_slot"], slot_metrics = measure_run_slot(instance, window_start)
        metrics.update(slot_metrics)
    return Snapshot(window_start, counters, metrics, details)


def read_rules(conn: Connection) -> list[Rule]:
    r = t.monitoring_alert_rules.c
    rows = conn.execute(select(r.id, r.name, r.metric, r.threshold_type, r.threshold_value,
                               r.severity).where(r.is_active).order_by(r.id))
    return [Rule(**row._mapping) for row in rows]


def persist(conn: Connection, snapshot: Snapshot, evaluation: Evaluation, status: str,
            run_id: str | None) -> tuple[int, str | None]:
    """Upsert the window's row and replace its alerts; returns its id and the status of the
    window before it (None for the first snapshot)."""
    s = t.monitoring_snapshots
    details = {**snapshot.details, "metrics": snapshot.metrics,
               "skipped_rules": [{"rule_id": rule.id, "name": rule.name, "reason": reason}
                                 for rule, reason in evaluation.skipped]}
    values = {**snapshot.counters, "schema_version": SCHEMA_VERSION, "run_id": run_id,
              "overall_status": status, "critical_alerts": evaluation.critical,
              "warning_alerts": evaluation.warning, "details": details}
    stmt = pg_insert(s).values(window_start=snapshot.window_start, **values)
    stmt = stmt.on_conflict_do_update(index_elements=[s.c.window_start],
                                      set_={**values, "updated_at": text("now()")})
    snapshot_id = conn.execute(stmt.returning(s.c.id)).scalar_one()
    previous = conn.execute(
        select(s.c.overall_status).where(s.c.window_start < snapshot.window_start)
        .order_by(s.c.window_start.desc()).limit(1)).scalar_one_or_none()
    a = t.monitoring_alerts
    conn.execute(delete(a).where(a.c.snapshot_id == snapshot_id))
    if evaluation.alerts:
        conn.execute(insert(a), [
            {"snapshot_id": snapshot_id, "window_start": snapshot.window_start,
             "rule_id": alert.rule.id, "rule_name": alert.rule.name,
             "metric": alert.rule.metric, "severity": alert.rule.severity,
             "threshold_type": alert.rule.threshold_type,
             "threshold_value": alert.rule.threshold_value,
             "current_value": alert.current_value} for alert in evaluation.alerts])
    return snapshot_id, previous


def announcement(window_start: datetime, previous: str | None, status: str,
                 evaluation: Evaluation) -> dict:
    """The status-change event of a window (``logic/monitoring/messages``)."""
    alerts = [{"name": a.rule.name, "metric": a.rule.metric, "severity": a.rule.severity,
               "threshold_type": a.rule.threshold_type,
               "threshold_value": a.rule.threshold_value, "current_value": a.current_value}
              for a in evaluation.alerts]
    return status_change_event(window_start=window_start, previous=previous, current=status,
                               critical_alerts=evaluation.critical,
                               warning_alerts=evaluation.warning, alerts=alerts)


def numeric_metadata(values: dict[str, float | None]) -> dict[str, dg.MetadataValue]:
    """Each value as int or float metadata, by name, for the asset page's plots. A metric with
    no value in this window (no token expiry known, no order in the last week) is left out: a
    non-numeric entry under the same name would break its plot."""
    return {name: dg.MetadataValue.int(value) if isinstance(value, int)
            else dg.MetadataValue.float(float(value))
            for name, value in values.items() if value is not None}


def should_announce(previous: str | None, current: str) -> bool:
    """A status change is news; so is a first snapshot that is not ``ok``."""
    return current != (previous or "ok")


@dg.asset(
    group_name=GROUP, owners=OWNERS, kinds={"postgres"}, code_version=str(SCHEMA_VERSION),
    deps=["wb_integration_accounts", "moysklad_integration_accounts", "monitoring_alert_rules",
          "orders", "stock", "bundle_risk", "planning_proposals"],
    check_specs=[BUSINESS_STATUS],  # freshness policy: freshness.py
    description="One row per 15-minute window: the old backend's 11 counters (`bundle_risk_*`: "
    "bundle_risk entries, not planning's cover risk), sync health, order volume against last "
    "week, data watermarks, quarantine counts and the run slot's busy share and longest queue "
    "wait over the hour before the window; the alert rules "
    "evaluated on it and the overall status (the business_status check: red when critical, "
    "a warning when warning). Consumers read the `monitoring_*` views.")
def monitoring_snapshot(context: dg.AssetExecutionContext, config: SnapshotConfig,
                        warehouse: PostgresWarehouse,
                        notifier: WebhookNotifier) -> dg.MaterializeResult:
    now = datetime.now(UTC)
    window_start = resolve_window(config.window_start, now)
    with warehouse.transaction() as conn:
        snapshot = compute_snapshot(conn, window_start, now, context.instance)
        evaluation = evaluate(read_rules(conn), snapshot.values)
        status = overall_status(evaluation.critical, evaluation.warning, snapshot.values)
        snapshot_id, previous = persist(conn, snapshot, evaluation, status, context.run.run_id)
        key = f"status_change:{window_start.isoformat()}:{previous}->{status}"
        queued = None
        if should_announce(previous, status):  # queued with the row: both commit, or neither
            queued = notifier.enqueue(conn, event_key=key, kind="status_change",
                                      event=announcement(window_start, previous, status,
                                                         evaluation))
    for rule, reason in evaluation.skipped:
        context.log.warning(f"alert rule {rule.id} ({rule.name}) skipped: {reason}")
    # Every snapshot drains the outbox: this window's event and any earlier one still waiting.
    delivery = notifier.deliver(warehouse)
    notified = "unchanged"
    if queued is not None:
        outcome = delivery.outcomes.get(key, queued)
        notified = outcome.status
        if outcome.error:
            context.log.warning(f"status change not announced yet: {outcome.error}")
    return dg.MaterializeResult(
        metadata=table_metadata(
            warehouse, t.monitoring_snapshots,
            window_start=window_start.isoformat(), snapshot_id=snapshot_id,
            overall_status=status, previous_status=previous or "none",
            skipped_rules=len(evaluation.skipped), notification=notified,
            notifications_waiting=delivery.waiting,
            **numeric_metadata({**snapshot.values, "critical_alerts": evaluation.critical,
                                "warning_alerts": evaluation.warning})),
        # Not subsettable: every materialisation reports its status.
        check_results=[business_status_result(window_start, status, evaluation,
                                              snapshot.values)])
