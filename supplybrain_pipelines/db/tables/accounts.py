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

from supplybrain_pipelines.db.tables._meta import CREATED_AT, UPDATED_AT, metadata, pk, timestamp


def _account_table(name: str, external_id: str, vendor: str) -> sa.Table:
    """The old backend's account shape; ``external_id`` is the vendor's own id column."""
    return sa.Table(
        name,
        metadata,
        pk("The account's id (the id that `supplybrain accounts` commands take)."),
        sa.Column("name", sa.String, nullable=False, comment="The account's display name."),
        sa.Column(external_id, sa.String, nullable=True,
                  comment=f"The account's own id at {vendor} (optional, `--external-id`)."),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true(),
                  comment="Only active accounts are ingested; false when deactivated or "
                  "suspended."),
        timestamp("created_at", CREATED_AT),
        timestamp("updated_at", UPDATED_AT),
        sa.Column("base_url", sa.Text, nullable=True,
                  comment=f"API endpoint to call; NULL: {vendor}'s public API (e.g. the local "
                  "sandbox's URL)."),
        # Set (with is_active false) when ingestion suspends the account after repeated
        # 401/403 (migration 0012, logic/accounts.py); `accounts activate` clears them.
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True,
                  comment="When ingestion suspended the account after repeated 401/403 runs; "
                  "NULL when not suspended."),
        sa.Column("suspended_reason", sa.Text, nullable=True,
                  comment="Why it was suspended (the HTTP status and what to do); shown by "
                  "`accounts list`."),
        comment=f"{vendor} accounts whose data is ingested; tokens are stored encrypted.",
    )


wb_integration_accounts = _account_table("wb_integration_accounts", "supplier_id",
                                         "Wildberries")
moysklad_integration_accounts = _account_table("moysklad_integration_accounts", "account_id",
                                               "MoySklad")
# Migration 0013: the names of the account's customer-order states that count as cancelled
# (logic/moysklad_states.py); MoySklad's standard "Отменен" by default.
moysklad_integration_accounts.append_column(sa.Column(
    "cancelled_states", ARRAY(sa.Text), nullable=False,
    server_default=sa.text("ARRAY['Отменен'::text]"),
    comment="Names of the account's customer-order states that count as cancelled."))
# Migration 0015: the token encrypted (it replaced the plain ``api_token``, so it comes last).
for _table in (wb_integration_accounts, moysklad_integration_accounts):
    _table.append_column(sa.Column(
        "api_token_encrypted", sa.Text, nullable=False,
        comment="The API token, Fernet-encrypted under a key kept outside the database."))
    _table.append_column(sa.Column(
        "token_hint", sa.Text, nullable=False, server_default="",
        comment="The token's last 4 characters (empty for a short token), for `accounts list`."))
    _table.append_constraint(sa.CheckConstraint("api_token_encrypted LIKE 'gAAAAA%'",
                                                name="token_is_encrypted"))

#: The account table of each account kind (the kind as ``ingest_cursors.account_kind`` names it).
ACCOUNT_TABLES = {"wb": wb_integration_accounts, "moysklad": moysklad_integration_accounts}

monitoring_alert_rules = sa.Table(
    "monitoring_alert_rules",
    metadata,
    pk(),
    sa.Column("name", sa.String, nullable=False, comment="The rule's name, shown in alerts."),
    sa.Column("metric", sa.String, nullable=False,
              comment="The snapshot metric the rule watches (logic/monitoring/metrics.py)."),
    sa.Column("threshold_type", sa.String, nullable=False,
              comment="'above' fires when the value > threshold_value, 'below' when <."),
    sa.Column("threshold_value", sa.Integer, nullable=False,
              comment="The threshold (>= 0)."),
    sa.Column("severity", sa.String, nullable=False,
              comment="'warning' or 'critical': the snapshot's status when the rule fires."),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true(),
              comment="Only active rules are evaluated."),
    timestamp("created_at", CREATED_AT),
    timestamp("updated_at", UPDATED_AT),
    sa.CheckConstraint("threshold_type IN ('above', 'below')", name="threshold_type"),
    sa.CheckConstraint("severity IN ('warning', 'critical')", name="severity"),
    sa.CheckConstraint("threshold_value >= 0", name="threshold_value_non_negative"),
    comment="Alert rules evaluated on every monitoring snapshot (the old backend's 9 seeded).",
)
