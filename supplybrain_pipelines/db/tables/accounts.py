"""Integration accounts (WB, MoySklad) and monitoring alert rules (old backend 0007, 0008).

Tokens are stored encrypted (migration 0015, ``token_crypto.py``): ``api_token_encrypted`` is a
Fernet token under a key that lives outside the database, and a CHECK refuses anything that is not
one; ``token_hint`` is the token's last 4 characters (empty for a short token), so that
``accounts list`` needs no key. Tokens must never be logged.
``base_url`` is new: NULL means the vendor's public API; a value points the account at another
endpoint, e.g. the local sandbox.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from supplybrain_pipelines.db.tables._meta import metadata, pk, timestamp


def _account_table(name: str, external_id: str) -> sa.Table:
    """The old backend's account shape; ``external_id`` is the vendor's own id column."""
    return sa.Table(
        name,
        metadata,
        pk(),
        sa.Column("name", sa.String, nullable=False),
        sa.Column(external_id, sa.String, nullable=True),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.Column("base_url", sa.Text, nullable=True),
        # Set (with is_active false) when ingestion suspends the account after repeated
        # 401/403 (migration 0012, logic/accounts.py); `accounts activate` clears them.
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_reason", sa.Text, nullable=True),
    )


wb_integration_accounts = _account_table("wb_integration_accounts", "supplier_id")
moysklad_integration_accounts = _account_table("moysklad_integration_accounts", "account_id")
# Migration 0013: the names of the account's customer-order states that count as cancelled
# (logic/moysklad_states.py); MoySklad's standard "Отменен" by default.
moysklad_integration_accounts.append_column(sa.Column(
    "cancelled_states", ARRAY(sa.Text), nullable=False,
    server_default=sa.text("ARRAY['Отменен'::text]")))
# Migration 0015: the token encrypted (it replaced the plain ``api_token``, so it comes last).
for _table in (wb_integration_accounts, moysklad_integration_accounts):
    _table.append_column(sa.Column("api_token_encrypted", sa.Text, nullable=False))
    _table.append_column(sa.Column("token_hint", sa.Text, nullable=False, server_default=""))
    _table.append_constraint(sa.CheckConstraint("api_token_encrypted LIKE 'gAAAAA%'",
                                                name="token_is_encrypted"))

monitoring_alert_rules = sa.Table(
    "monitoring_alert_rules",
    metadata,
    pk(),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("metric", sa.String, nullable=False),
    sa.Column("threshold_type", sa.String, nullable=False),
    sa.Column("threshold_value", sa.Integer, nullable=False),
    sa.Column("severity", sa.String, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    timestamp("created_at"),
    timestamp("updated_at"),
    sa.CheckConstraint("threshold_type IN ('above', 'below')", name="threshold_type"),
    sa.CheckConstraint("severity IN ('warning', 'critical')", name="severity"),
    sa.CheckConstraint("threshold_value >= 0", name="threshold_value_non_negative"),
)
