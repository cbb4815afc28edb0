"""Monitoring outputs (owned by ``assets/monitoring``): one snapshot row per 15-minute window,
the alerts each snapshot raised, and the outbox of webhook notifications (queued with the state
that causes them, delivered by ``resources/notifier.py``; statuses in migration 0014).

The snapshot keeps the old backend's eleven counters (its five risk counters renamed
``bundle_risk_*`` by migration 0016, so that they cannot be read as planning's cover risk);
everything newer (sync health, order volume, watermarks, quarantine counts, run-slot occupancy,
further numeric metrics) lives in ``details`` so that the consumer views do not change shape
when a metric is added.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from supplybrain_pipelines.db.tables._meta import CREATED_AT, UPDATED_AT, metadata, timestamp

#: The old backend's counters, in its column order. ``total_final_order_qty`` is a BIGINT here.
#: The five risk counters were ``risk_*`` until migration 0016: they count ``bundle_risk`` entries
#: (can WB bundles be assembled), not the SKU units' cover risk of planning.
SNAPSHOT_COUNTERS = (
    "wb_accounts_total", "wb_accounts_active", "ms_accounts_total", "ms_accounts_active",
    "bundle_risk_critical", "bundle_risk_warning", "bundle_risk_ok", "bundle_risk_overstock",
    "bundle_risk_no_data", "articles_with_orders", "total_final_order_qty",
)

#: One line per counter, the column's COMMENT.
COUNTER_COMMENTS = {
    "wb_accounts_total": "WB integration accounts.",
    "wb_accounts_active": "WB integration accounts with is_active.",
    "ms_accounts_total": "MoySklad integration accounts.",
    "ms_accounts_active": "MoySklad integration accounts with is_active.",
    **{f"bundle_risk_{level}": f"bundle_risk entries (article x bundle type) at level {level}, "
       "for articles planning has not switched off (not SKU cover risk)."
       for level in ("critical", "warning", "ok", "overstock", "no_data")},
    "articles_with_orders": "Articles whose latest proposals recommend a quantity above zero.",
    "total_final_order_qty": "Sum of the recommended quantities of the latest proposals.",
}


def _counter(name: str) -> sa.Column:
    kind = sa.BigInteger if name == "total_final_order_qty" else sa.Integer
    return sa.Column(name, kind, nullable=False, server_default="0",
                     comment=COUNTER_COMMENTS[name])


monitoring_snapshots = sa.Table(
    "monitoring_snapshots", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, comment="Surrogate key."),
    sa.Column("window_start", sa.DateTime(timezone=True), nullable=False,
              comment="Start (UTC) of the 15-minute window the snapshot describes."),
    timestamp("created_at", CREATED_AT),
    timestamp("updated_at", UPDATED_AT),
    *(_counter(name) for name in SNAPSHOT_COUNTERS),
    sa.Column("schema_version", sa.Integer, nullable=False,
              comment="Version of the snapshot's shape (SCHEMA_VERSION of "
              "assets/monitoring/snapshot.py)."),
    sa.Column("run_id", sa.Text, nullable=True, comment="The Dagster run that computed it."),
    sa.Column("overall_status", sa.Text, nullable=False,
              comment="critical on a critical alert, else warning on a warning alert, a "
              "critical bundle or no active WB/MoySklad account, else ok."),
    sa.Column("critical_alerts", sa.Integer, nullable=False, server_default="0",
              comment="Critical alert rules that fired."),
    sa.Column("warning_alerts", sa.Integer, nullable=False, server_default="0",
              comment="Warning alert rules that fired."),
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb"),
              comment="Everything newer, as JSON: sync health, order volume, watermarks, data "
              "quality, run slot; numbers under metrics."),
    sa.UniqueConstraint("window_start", name="uq_monitoring_snapshots_window_start"),
    sa.CheckConstraint("overall_status IN ('ok', 'warning', 'critical')", name="overall_status"),
    comment="One monitoring snapshot per 15-minute window: counters, alert counts, overall "
            "status and details.",
)

monitoring_alerts = sa.Table(
    "monitoring_alerts", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, comment="Surrogate key."),
    sa.Column("snapshot_id", sa.BigInteger,
              sa.ForeignKey("supplybrain.monitoring_snapshots.id", ondelete="CASCADE"),
              nullable=False, index=True,
              comment="The snapshot (monitoring_snapshots.id)."),
    sa.Column("window_start", sa.DateTime(timezone=True), nullable=False,
              comment="The snapshot's window start (UTC)."),
    sa.Column("rule_id", sa.Integer,
              sa.ForeignKey("supplybrain.monitoring_alert_rules.id", ondelete="SET NULL"),
              nullable=True, index=True,
              comment="The rule (monitoring_alert_rules.id); NULL once the rule is deleted."),
    sa.Column("rule_name", sa.Text, nullable=False, comment="The rule's name when it fired."),
    sa.Column("metric", sa.Text, nullable=False, comment="The metric the rule watched."),
    sa.Column("severity", sa.Text, nullable=False, comment="warning or critical."),
    sa.Column("threshold_type", sa.Text, nullable=False, comment="above or below."),
    sa.Column("threshold_value", sa.Integer, nullable=False, comment="The rule's threshold."),
    sa.Column("current_value", sa.Numeric, nullable=False,
              comment="The metric's value in the snapshot."),
    timestamp("raised_at", "When the alert was written."),
    sa.UniqueConstraint("snapshot_id", "rule_id", name="uq_monitoring_alerts_snapshot_rule"),
    sa.CheckConstraint("severity IN ('warning', 'critical')", name="severity"),
    comment="The alerts each snapshot raised: one row per rule that fired.",
)

monitoring_notifications = sa.Table(
    "monitoring_notifications", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True,
              comment="Surrogate key; events are delivered in this order."),
    sa.Column("event_key", sa.Text, nullable=False,
              comment="Unique key of the event, sent as the Idempotency-Key header."),
    sa.Column("kind", sa.Text, nullable=False, comment="status_change or run_failure."),
    sa.Column("format", sa.Text, nullable=False,
              comment="Body format: generic, slack or telegram."),
    sa.Column("destination", sa.Text, nullable=False,
              comment="The webhook's scheme://host[:port] only (the full URL is a secret)."),
    sa.Column("status", sa.Text, nullable=False,
              comment="pending, failed, refused, sent or expired."),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0",
              comment="POST attempts so far."),
    sa.Column("error", sa.Text, nullable=True, comment="The last delivery error (never the URL)."),
    sa.Column("payload", JSONB, nullable=False, comment="The rendered body, secrets stripped."),
    timestamp("created_at", CREATED_AT),
    timestamp("updated_at", UPDATED_AT),
    timestamp("next_attempt_at", "When the next delivery round may post it."),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False,
              comment="After this an undelivered event becomes expired."),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True,
              comment="When the receiver accepted it; NULL until sent."),
    sa.UniqueConstraint("event_key", name="uq_monitoring_notifications_event_key"),
    sa.CheckConstraint("kind IN ('status_change', 'run_failure')", name="kind"),
    sa.CheckConstraint("format IN ('generic', 'slack', 'telegram')", name="format"),
    sa.CheckConstraint("status IN ('pending', 'failed', 'refused', 'sent', 'expired')",
                       name="status"),
    sa.Index("ix_monitoring_notifications_undelivered", "id",
             postgresql_where=sa.text("status IN ('pending', 'failed', 'refused')")),
    comment="Outbox of webhook notifications, queued with the state that causes them and "
            "delivered by resources/notifier.py.",
)
