"""Asset checks on ``monitoring_snapshot``.

- ``business_status`` (a check spec of the asset itself, evaluated in the same step): the
  window's overall status as a check result, so the status is what the UI colours. ``ok`` passes;
  ``warning`` fails with WARN severity (yellow); ``critical`` fails with ERROR severity (red) on
  the asset, in the catalog and on the Overview. It never blocks anything downstream (the
  snapshot has no downstream asset) and never fails the run.
- ``no_missing_windows``: windows of the last 24 hours with no row.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import func, select

from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.monitoring.rules import Evaluation
from supplybrain_pipelines.logic.monitoring.windows import floor_window, missing_windows
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

SNAPSHOT_KEY = dg.AssetKey("monitoring_snapshot")
LOOKBACK = timedelta(hours=24)
#: How many missing window starts the check lists in its metadata.
LISTED = 20

BUSINESS_STATUS = dg.AssetCheckSpec(
    "business_status", asset=SNAPSHOT_KEY,
    description="The window's overall status (alert rules, then the old backend's precedence): "
    "ok passes; warning fails as a warning; critical fails as an error. The metadata names the "
    "alerts that fired, or why the status is a warning without any.")

#: Check severity of each failing status; ``ok`` passes.
SEVERITY = {"warning": dg.AssetCheckSeverity.WARN, "critical": dg.AssetCheckSeverity.ERROR}


def status_reason(status: str, evaluation: Evaluation, values: Mapping[str, float | None]) -> str:
    """Why the window has its status, in one line (the rule of ``overall_status``)."""
    fired = [a for a in evaluation.alerts if a.rule.severity == status]
    if fired:
        return "; ".join(f"{a.rule.name}: {a.rule.metric} = {a.current_value:g} is "
                         f"{a.rule.threshold_type} {a.rule.threshold_value:g}" for a in fired)
    if status == "ok":
        return "no alert fired"
    causes = [text for cause, text in (
        ((values.get("bundle_risk_critical") or 0) > 0,
         f"{values.get('bundle_risk_critical'):g} bundle entries at critical bundle risk"),
        (not values.get("wb_accounts_active"), "no active WB account"),
        (not values.get("ms_accounts_active"), "no active MoySklad account")) if cause]
    return "no alert fired, but " + ", ".join(causes)


def business_status_result(window_start: datetime, status: str, evaluation: Evaluation,
                           values: Mapping[str, float | None]) -> dg.AssetCheckResult:
    """The ``business_status`` check result of one window."""
    return dg.AssetCheckResult(
        check_name=BUSINESS_STATUS.name, asset_key=SNAPSHOT_KEY, passed=status == "ok",
        severity=SEVERITY.get(status, dg.AssetCheckSeverity.ERROR),
        description=f"{status}: {status_reason(status, evaluation, values)}",
        metadata={"overall_status": status, "window_start": window_start.isoformat(),
                  "critical_alerts": dg.MetadataValue.int(evaluation.critical),
                  "warning_alerts": dg.MetadataValue.int(evaluation.warning),
                  "alerts": dg.MetadataValue.json([
                      {"name": a.rule.name, "metric": a.rule.metric,
                       "severity": a.rule.severity, "current_value": a.current_value}
                      for a in evaluation.alerts])})


@dg.asset_check(asset=SNAPSHOT_KEY, name="no_missing_windows", blocking=False,
                description="Every 15-minute window of the last 24 hours has a snapshot row. "
                "Windows before the first snapshot ever, and the current window, are not "
                "counted; a gap warns (the schedule missed ticks or runs failed).")
def no_missing_windows(warehouse: PostgresWarehouse) -> dg.AssetCheckResult:
    s = t.monitoring_snapshots.c
    # The current window is still being written by this or the next tick.
    until = floor_window(datetime.now(UTC)) - timedelta(minutes=15)
    with warehouse.transaction() as conn:
        first = conn.execute(select(func.min(s.window_start))).scalar_one_or_none()
        since = max(first or until, until - LOOKBACK + timedelta(minutes=15))
        present = conn.execute(select(s.window_start).where(
            s.window_start >= since, s.window_start <= until)).scalars().all()
    gaps = missing_windows(present, since, until) if first is not None and first <= until \
        else []
    return dg.AssetCheckResult(
        passed=not gaps, severity=dg.AssetCheckSeverity.WARN,
        metadata={"missing_windows": len(gaps),
                  "first_missing": [w.isoformat() for w in gaps[:LISTED]],
                  "checked_since": since.isoformat(), "checked_until": until.isoformat()})
