"""Suspended accounts and the 401 streak per endpoint

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

- ``wb_integration_accounts`` and ``moysklad_integration_accounts`` get ``suspended_at`` and
  ``suspended_reason`` (both NULL unless ingestion suspended the account). A suspended account
  also has ``is_active = false``, so ingestion skips it; ``supplybrain accounts activate``
  clears both and sets it active again.
- ``account_health.consecutive_unauthorized`` (NOT NULL, default 0): attempts in a row of that
  (account, endpoint) that answered 401/403; any other outcome resets it. The rule that turns
  these streaks into a suspension is ``logic/accounts.py``.

No view changes: the monitoring snapshot counts suspended accounts in ``details -> 'metrics'``
(``accounts_suspended``), which ``monitoring_timeseries`` already unions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"
ACCOUNT_TABLES = ("wb_integration_accounts", "moysklad_integration_accounts")


def upgrade() -> None:
    for table in ACCOUNT_TABLES:
        op.add_column(table, sa.Column("suspended_at", sa.DateTime(timezone=True),
                                       nullable=True), schema=SCHEMA)
        op.add_column(table, sa.Column("suspended_reason", sa.Text(), nullable=True),
                      schema=SCHEMA)
    op.add_column("account_health",
                  sa.Column("consecutive_unauthorized", sa.Integer(), nullable=False,
                            server_default="0"), schema=SCHEMA)


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back.")
