"""Housekeeping jobs: the daily retention of monitoring history."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field
from sqlalchemy import delete, func

from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

DEFAULT_RETENTION_DAYS = 400


class RetentionConfig(dg.Config):
    horizon_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1,
                              description="Snapshots (with their alerts) and notifications "
                              "older than this many days are deleted.")


@dg.op(description="Delete monitoring snapshots, their alerts and notifications older than "
       "the horizon, in one transaction.")
def prune_monitoring_history(context: dg.OpExecutionContext, config: RetentionConfig,
                             warehouse: PostgresWarehouse) -> dg.Output:
    cutoff = datetime.now(UTC) - timedelta(days=config.horizon_days)
    s, n = t.monitoring_snapshots, t.monitoring_notifications
    with warehouse.transaction() as conn:
        alerts = conn.execute(delete(t.monitoring_alerts).where(
            t.monitoring_alerts.c.window_start < cutoff)).rowcount
        snapshots = conn.execute(delete(s).where(s.c.window_start < cutoff)).rowcount
        notifications = conn.execute(delete(n).where(n.c.created_at < cutoff)).rowcount
        remaining = conn.execute(func.count().select().select_from(s)).scalar_one()
    context.log.info(f"pruned {snapshots} snapshots, {alerts} alerts and {notifications} "
                     f"notifications older than {cutoff.isoformat()}")
    return dg.Output(None, metadata={
        "cutoff": cutoff.isoformat(), "snapshots_deleted": snapshots, "alerts_deleted": alerts,
        "notifications_deleted": notifications, "snapshots_remaining": remaining})


@dg.job(description="Prune monitoring history older than the retention horizon (default 400 "
        "days; run config ops.prune_monitoring_history.config.horizon_days).")
def monitoring_retention():
    prune_monitoring_history()
