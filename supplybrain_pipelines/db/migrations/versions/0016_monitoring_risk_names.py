"""Two notions of risk, two names; and the run-slot alert rule.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

- ``monitoring_snapshots.risk_*`` → ``bundle_risk_*``: the five counters count ``bundle_risk``
  entries (article × bundle type: can WB bundles be assembled).
- ``planning_proposals.risk_level`` → ``cover_risk`` and ``planning_health.worst_risk`` →
  ``worst_cover_risk``: a SKU unit's stock cover against its demand. (``bundle_risk.risk_level``
  keeps its name: its table already says which risk it is.) Their CHECK constraints follow.
- Stored alert rules and past alerts that name ``risk_<level>`` now name ``bundle_risk_<level>``.
- The consumer views are recreated (a view keeps a renamed column's old name, and a view column
  cannot be renamed in place) with the new names, plus the old names as deprecated alias
  columns at the end for one release: ``monitoring_status``/``monitoring_history`` keep
  ``risk_*``, ``planning_proposals_latest`` keeps ``risk_level`` and ``planning_health_latest``
  keeps ``worst_risk`` (their descriptions, written after the revisions, are in ``db/views.py``).
  ``monitoring_timeseries`` names the counters ``bundle_risk_*`` (for past windows too; it has
  no alias rows). The reader role gets SELECT on them again.
- The default rule "Run slot busy" (``slot_busy_pct`` above 80, warning) is added unless a row
  already matches it (a fresh database gets it from revision 0002's seed).
"""

from __future__ import annotations

import logging

from alembic import op

from supplybrain_pipelines.db.seeds import SLOT_BUSY_SEED, seed_alert_rules

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

S = "supplybrain"
LEVELS = ("critical", "warning", "ok", "overstock", "no_data")
READER_ROLE = "supplybrain_reader"
COUNTERS = (
    "wb_accounts_total", "wb_accounts_active", "ms_accounts_total", "ms_accounts_active",
    *(f"bundle_risk_{level}" for level in LEVELS),
    "articles_with_orders", "total_final_order_qty",
)
#: Deprecated alias columns kept in the monitoring views for one release.
COUNTER_ALIASES = ", ".join(f"bundle_risk_{level} AS risk_{level}" for level in LEVELS)
SNAPSHOT_COLUMNS = ", ".join((
    "window_start", *COUNTERS, "overall_status", "critical_alerts", "warning_alerts",
    "schema_version", "run_id", "created_at", "updated_at", "details",
))
VIEWS = ("monitoring_status", "monitoring_history", "monitoring_timeseries",
         "planning_proposals_latest", "planning_health_latest")


def _latest(table: str, alias: str) -> str:
    return f"""
        CREATE VIEW {S}.{table}_latest AS
        SELECT *, {alias} FROM {S}.{table}
        WHERE run_id = (SELECT run_id FROM {S}.{table}
                        ORDER BY computed_at DESC, run_id DESC LIMIT 1)"""


def _rename_columns() -> None:
    for level in LEVELS:
        op.alter_column("monitoring_snapshots", f"risk_{level}",
                        new_column_name=f"bundle_risk_{level}", schema=S)
    for table, old, new in (("planning_proposals", "risk_level", "cover_risk"),
                            ("planning_health", "worst_risk", "worst_cover_risk")):
        op.alter_column(table, old, new_column_name=new, schema=S)
        op.execute(f"ALTER TABLE {S}.{table} RENAME CONSTRAINT ck_{table}_{old} "
                   f"TO ck_{table}_{new}")


def _rename_metrics() -> None:
    for table in ("monitoring_alert_rules", "monitoring_alerts"):
        op.execute(f"UPDATE {S}.{table} SET metric = 'bundle_' || metric "
                   f"WHERE metric IN ({', '.join(repr(f'risk_{lv}') for lv in LEVELS)})")


def _views() -> None:
    op.execute("DROP VIEW " + ", ".join(f"{S}.{view}" for view in VIEWS))
    op.execute(f"""
        CREATE VIEW {S}.monitoring_history AS
        SELECT {SNAPSHOT_COLUMNS}, {COUNTER_ALIASES} FROM {S}.monitoring_snapshots
        ORDER BY window_start DESC""")
    op.execute(f"""
        CREATE VIEW {S}.monitoring_status AS
        SELECT {SNAPSHOT_COLUMNS},
               round(extract(epoch FROM now() - window_start) / 60)::int AS minutes_since_window,
               {COUNTER_ALIASES}
        FROM {S}.monitoring_snapshots
        ORDER BY window_start DESC LIMIT 1""")
    columns = ", ".join(f"('{name}', s.{name}::numeric)" for name in
                        (*COUNTERS, "critical_alerts", "warning_alerts"))
    op.execute(f"""
        CREATE VIEW {S}.monitoring_timeseries AS
        SELECT s.window_start, m.metric, m.value
        FROM {S}.monitoring_snapshots s
        CROSS JOIN LATERAL (
            SELECT * FROM (VALUES {columns}) AS c(metric, value)
            UNION ALL
            SELECT e.key, e.value::numeric
            FROM jsonb_each(COALESCE(s.details -> 'metrics', '{{}}'::jsonb)) AS e
            WHERE jsonb_typeof(e.value) = 'number'
        ) AS m(metric, value)
        ORDER BY s.window_start, m.metric""")
    op.execute(_latest("planning_proposals", "cover_risk AS risk_level"))
    op.execute(_latest("planning_health", "worst_cover_risk AS worst_risk"))
    for view in VIEWS:
        op.execute(f"GRANT SELECT ON {S}.{view} TO {READER_ROLE}")


def upgrade() -> None:
    _rename_columns()
    _rename_metrics()
    _views()
    added = seed_alert_rules(op.get_bind(), rules=(SLOT_BUSY_SEED,))
    log.info("risk names split (bundle_risk_*, cover_risk); slot rule added: %s", bool(added))


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
