"""Housekeeping jobs: the daily retention of monitoring history and of planning runs.

``planning_proposals`` and ``planning_health`` keep one set of rows per planning run, and the
planning automation runs after every ingest run (up to 96 times a day): about 1.7 KB per SKU
unit and run (``bench/capacity_storage.py``), some 8 GB a day at 50k SKU units.
``planning_retention`` deletes runs older than its horizon (30 days by default) and never the
newest run, which the ``*_latest`` views show."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field
from sqlalchemy import delete, func, select, text

from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

DEFAULT_RETENTION_DAYS = 400
DEFAULT_PLANNING_RETENTION_DAYS = 30


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


class PlanningRetentionConfig(dg.Config):
    horizon_days: int = Field(default=DEFAULT_PLANNING_RETENTION_DAYS, ge=1,
                              description="Planning runs (proposals and planning health) "
                              "computed more than this many days ago are deleted; the newest "
                              "run always stays.")


#: Rows of runs computed before the cutoff, except the newest run's (by ``computed_at``, the
#: order the ``*_latest`` views use). ``planning_proposals.computed_at`` is indexed.
_NEWEST_RUN = ("(SELECT run_id FROM supplybrain.planning_proposals "
               "ORDER BY computed_at DESC, id DESC LIMIT 1)")


@dg.op(description="Delete the proposals and planning health of planning runs computed before "
       "the horizon (never the newest run), in one transaction.")
def prune_planning_history(context: dg.OpExecutionContext, config: PlanningRetentionConfig,
                           warehouse: PostgresWarehouse) -> dg.Output:
    cutoff = datetime.now(UTC) - timedelta(days=config.horizon_days)
    deleted = {}
    with warehouse.transaction() as conn:
        newest = conn.execute(text(_NEWEST_RUN)).scalar()
        for table in (t.planning_proposals, t.planning_health):
            deleted[table.name] = conn.execute(delete(table).where(
                table.c.computed_at < cutoff, table.c.run_id != (newest or ""))).rowcount
        runs = conn.execute(select(func.count(func.distinct(
            t.planning_proposals.c.run_id)))).scalar_one()
    context.log.info(f"pruned {deleted['planning_proposals']} proposal rows and "
                     f"{deleted['planning_health']} planning-health rows computed before "
                     f"{cutoff.isoformat()}")
    return dg.Output(None, metadata={
        "cutoff": cutoff.isoformat(), "proposal_rows_deleted": deleted["planning_proposals"],
        "health_rows_deleted": deleted["planning_health"], "runs_remaining": runs})


@dg.job(description="Prune planning runs older than the retention horizon (default 30 days; "
        "run config ops.prune_planning_history.config.horizon_days); the newest run stays.")
def planning_retention():
    prune_planning_history()
