"""Asset check on ``monitoring_snapshot``: windows of the last 24 hours with no row."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import func, select

from supplybrain_pipelines.assets.monitoring.snapshot import monitoring_snapshot
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.monitoring.windows import floor_window, missing_windows
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

LOOKBACK = timedelta(hours=24)
#: How many missing window starts the check lists in its metadata.
LISTED = 20


@dg.asset_check(asset=monitoring_snapshot, name="no_missing_windows", blocking=False,
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
