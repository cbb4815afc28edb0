"""Monitoring: snapshots per 15-minute window, alerts, notifications, consumer views, reader role.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

Adds the views ``monitoring_status``, ``monitoring_history`` and ``monitoring_timeseries`` and
the NOLOGIN role ``supplybrain_reader``, which may SELECT those views and the two planning
``*_latest`` views, and nothing else (so it can never read a token). Roles belong to the
cluster, not the database: the role is created once and left in place by later databases.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COUNTERS = (
    "wb_accounts_total", "wb_accounts_active", "ms_accounts_total", "ms_accounts_active",
    "risk_critical", "risk_warning", "risk_ok", "risk_overstock", "risk_no_data",
    "articles_with_orders", "total_final_order_qty",
)
READER_ROLE = "supplybrain_reader"
READER_VIEWS = ("monitoring_status", "monitoring_history", "monitoring_timeseries",
                "planning_proposals_latest", "planning_health_latest")


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def _tables() -> None:
    op.create_table(
        "monitoring_snapshots",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        *(sa.Column(name, sa.BigInteger() if name == "total_final_order_qty" else sa.Integer(),
                    server_default="0", nullable=False) for name in COUNTERS),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("overall_status", sa.Text(), nullable=False),
        sa.Column("critical_alerts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("warning_alerts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()),
                  server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.CheckConstraint("overall_status IN ('ok', 'warning', 'critical')",
                           name=op.f("ck_monitoring_snapshots_overall_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_snapshots")),
        sa.UniqueConstraint("window_start", name="uq_monitoring_snapshots_window_start"),
        schema="supplybrain",
    )
    op.create_table(
        "monitoring_alerts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("snapshot_id", sa.BigInteger(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("rule_name", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("threshold_type", sa.Text(), nullable=False),
        sa.Column("threshold_value", sa.Integer(), nullable=False),
        sa.Column("current_value", sa.Numeric(), nullable=False),
        _now("raised_at"),
        sa.CheckConstraint("severity IN ('warning', 'critical')",
                           name=op.f("ck_monitoring_alerts_severity")),
        sa.ForeignKeyConstraint(["snapshot_id"], ["supplybrain.monitoring_snapshots.id"],
                                name=op.f("fk_monitoring_alerts_snapshot_id"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rule_id"], ["supplybrain.monitoring_alert_rules.id"],
                                name=op.f("fk_monitoring_alerts_rule_id"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_alerts")),
        sa.UniqueConstraint("snapshot_id", "rule_id", name="uq_monitoring_alerts_snapshot_rule"),
        schema="supplybrain",
    )
    for column in ("snapshot_id", "rule_id"):
        op.create_index(f"ix_monitoring_alerts_{column}", "monitoring_alerts", [column],
                        unique=False, schema="supplybrain")
    op.create_table(
        "monitoring_notifications",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("event_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint("kind IN ('status_change', 'run_failure')",
                           name=op.f("ck_monitoring_notifications_kind")),
        sa.CheckConstraint("format IN ('generic', 'slack', 'telegram')",
                           name=op.f("ck_monitoring_notifications_format")),
        sa.CheckConstraint("status IN ('sent', 'failed')",
                           name=op.f("ck_monitoring_notifications_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_notifications")),
        sa.UniqueConstraint("event_key", name="uq_monitoring_notifications_event_key"),
        schema="supplybrain",
    )


SNAPSHOT_COLUMNS = ", ".join((
    "window_start", *COUNTERS, "overall_status", "critical_alerts", "warning_alerts",
    "schema_version", "run_id", "created_at", "updated_at", "details",
))


def _views() -> None:
    op.execute(f"""
        CREATE VIEW supplybrain.monitoring_history AS
        SELECT {SNAPSHOT_COLUMNS} FROM supplybrain.monitoring_snapshots
        ORDER BY window_start DESC
    """)
    op.execute(f"""
        CREATE VIEW supplybrain.monitoring_status AS
        SELECT {SNAPSHOT_COLUMNS},
               round(extract(epoch FROM now() - window_start) / 60)::int AS minutes_since_window
        FROM supplybrain.monitoring_snapshots
        ORDER BY window_start DESC LIMIT 1
    """)
    columns = ", ".join(f"('{name}', s.{name}::numeric)" for name in
                        (*COUNTERS, "critical_alerts", "warning_alerts"))
    op.execute(f"""
        CREATE VIEW supplybrain.monitoring_timeseries AS
        SELECT s.window_start, m.metric, m.value
        FROM supplybrain.monitoring_snapshots s
        CROSS JOIN LATERAL (
            SELECT * FROM (VALUES {columns}) AS c(metric, value)
            UNION ALL
            SELECT e.key, e.value::numeric
            FROM jsonb_each(COALESCE(s.details -> 'metrics', '{{}}'::jsonb)) AS e
            WHERE jsonb_typeof(e.value) = 'number'
        ) AS m(metric, value)
        ORDER BY s.window_start, m.metric
    """)


def _reader_role() -> None:
    op.execute(f"""
        DO $$
        BEGIN
            CREATE ROLE {READER_ROLE} NOLOGIN;
        EXCEPTION WHEN duplicate_object THEN
            NULL;
        END
        $$
    """)
    op.execute(f"GRANT USAGE ON SCHEMA supplybrain TO {READER_ROLE}")
    for view in READER_VIEWS:
        op.execute(f"GRANT SELECT ON supplybrain.{view} TO {READER_ROLE}")


def upgrade() -> None:
    # The snapshot counts the last 24 h of quarantined records.
    op.create_index("ix_quarantine_quarantined_at", "quarantine", ["quarantined_at"],
                    unique=False, schema="supplybrain")
    _tables()
    _views()
    _reader_role()


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
