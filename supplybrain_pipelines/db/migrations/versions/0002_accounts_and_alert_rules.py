"""Integration accounts and monitoring alert rules, with the nine default rules.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

The old backend's ``wb_integration_accounts`` / ``moysklad_integration_accounts`` plus a NULLable
``base_url`` (NULL = the vendor's public API), and ``monitoring_alert_rules`` with CHECK
constraints on threshold_type, severity and threshold_value. Seeds the old backend's rules the way
its seed endpoint did: a rule is inserted only if no row matches all six of its fields.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from supplybrain_pipelines.db.seeds import seed_alert_rules

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"


def _now(column: str) -> sa.Column:
    return sa.Column(
        column, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
    )


def _account_table(name: str, external_id_column: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column(external_id_column, sa.String(), nullable=True),
        sa.Column("api_token", sa.String(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("base_url", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        schema=SCHEMA,
    )


def upgrade() -> None:
    _account_table("wb_integration_accounts", "supplier_id")
    _account_table("moysklad_integration_accounts", "account_id")
    op.create_table(
        "monitoring_alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("threshold_type", sa.String(), nullable=False),
        sa.Column("threshold_value", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_monitoring_alert_rules"),
        sa.CheckConstraint("threshold_type IN ('above', 'below')",
                           name="ck_monitoring_alert_rules_threshold_type"),
        sa.CheckConstraint("severity IN ('warning', 'critical')",
                           name="ck_monitoring_alert_rules_severity"),
        sa.CheckConstraint("threshold_value >= 0",
                           name="ck_monitoring_alert_rules_threshold_value_non_negative"),
        schema=SCHEMA,
    )
    seed_alert_rules(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
