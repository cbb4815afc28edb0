"""The consumer views and the description of each of their columns: the one source.

The views themselves are created by migrations with explicit SQL (``0004``: the two
``*_latest`` planning views, ``0005``: the monitoring views, ``0008``: ``planning_health_latest``
again, ``0016``: all five again with the old risk names as deprecated aliases, ``0017``: the
evidence views). Here each view is declared as a :class:`sqlalchemy.Table` in a MetaData of its own
(:data:`view_metadata`, never passed to ``create_all``) so that every view column carries a
one-line ``comment=`` like the columns of the tables in ``db/tables``. A column that a view passes
through from a table reuses that table column's comment; only computed columns are described
here.

``supplybrain db upgrade`` writes these texts as PostgreSQL ``COMMENT ON VIEW`` / ``COMMENT ON
COLUMN`` (``migrate.sync_comments``); ``supplybrain_pipelines_tests/db/test_descriptions.py``
fails when a view of the schema is not declared here, when the declared columns differ from the
view's, or when one has no description.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from supplybrain_pipelines.config import APP_SCHEMA
from supplybrain_pipelines.db.tables import (
    forecast_accuracy,
    monitoring_snapshots,
    planning_health,
    planning_proposals,
    policy_backtest,
)

#: The views, apart from the tables' MetaData: nothing creates them from here.
view_metadata = sa.MetaData(schema=APP_SCHEMA)


def passthrough(table: sa.Table, exclude: Iterable[str] = ()) -> list[sa.Column]:
    """Copies of ``table``'s columns (but ``exclude``) with their type and comment, as a view
    that selects them unchanged shows them."""
    skipped = set(exclude)
    return [sa.Column(column.name, column.type, comment=column.comment)
            for column in table.columns if column.name not in skipped]


def _view(name: str, comment: str, *columns: sa.Column) -> sa.Table:
    return sa.Table(name, view_metadata, *columns, comment=comment, info={"view": True})


def deprecated(old: str, column: sa.Column) -> sa.Column:
    """A view column that repeats ``column`` under its name before migration 0016 (kept for
    one release so that consumers' queries keep working)."""
    return sa.Column(old, column.type, comment=f"Deprecated alias of {column.name} (renamed by "
                     "migration 0016); will be dropped in a later release.")


def _risk_aliases() -> list[sa.Column]:
    """The snapshot's bundle risk counters under their names before migration 0016."""
    return [deprecated(f"risk_{level}", monitoring_snapshots.c[f"bundle_risk_{level}"])
            for level in ("critical", "warning", "ok", "overstock", "no_data")]


planning_proposals_latest = _view(
    "planning_proposals_latest",
    "The proposals of the newest planning run (the run_id of the newest computed_at): one row "
    "per SKU unit.",
    *passthrough(planning_proposals),
    deprecated("risk_level", planning_proposals.c.cover_risk),
)

planning_health_latest = _view(
    "planning_health_latest",
    "The planning health of the newest planning run (the run_id of the newest computed_at): one "
    "row per article.",
    *passthrough(planning_health),
    deprecated("worst_risk", planning_health.c.worst_cover_risk),
)

monitoring_history = _view(
    "monitoring_history",
    "Every monitoring snapshot (one per 15-minute window), newest first.",
    *passthrough(monitoring_snapshots, exclude=("id",)),
    *_risk_aliases(),
)

monitoring_status = _view(
    "monitoring_status",
    "The newest monitoring snapshot only, with its age in minutes.",
    *passthrough(monitoring_snapshots, exclude=("id",)),
    sa.Column("minutes_since_window", sa.Integer,
              comment="Whole minutes from window_start to now() when the view is read."),
    *_risk_aliases(),
)

monitoring_timeseries = _view(
    "monitoring_timeseries",
    "Every numeric metric of every snapshot in long format (window_start, metric, value), "
    "oldest first: the snapshot's counters and alert counts, then each number in "
    "details.metrics.",
    sa.Column("window_start", sa.DateTime(timezone=True),
              comment=monitoring_snapshots.c.window_start.comment),
    sa.Column("metric", sa.Text,
              comment="The metric's name: a counter column's name, critical_alerts, "
              "warning_alerts or a key of details.metrics."),
    sa.Column("value", sa.Numeric, comment="The metric's value in that snapshot."),
)

forecast_accuracy_latest = _view(
    "forecast_accuracy_latest",
    "The forecast accuracy of the newest evaluation run (the run_id of the newest computed_at): "
    "per SKU unit, article, demand class and catalogue, and horizon.",
    *passthrough(forecast_accuracy),
)

policy_backtest_latest = _view(
    "policy_backtest_latest",
    "The policy backtest of the newest run (the run_id of the newest computed_at): per SKU "
    "unit, article and catalogue.",
    *passthrough(policy_backtest),
)

#: Every consumer view, in the order the README lists them.
VIEWS: tuple[sa.Table, ...] = (
    monitoring_status, monitoring_history, monitoring_timeseries,
    planning_proposals_latest, planning_health_latest,
    forecast_accuracy_latest, policy_backtest_latest,
)
