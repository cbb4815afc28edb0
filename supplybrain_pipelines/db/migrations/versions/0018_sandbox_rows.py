"""``sandbox_rows``: which rows the marketplace sandbox's seed created (issue 14).

``supplybrain dev`` (with no real account) and ``supplybrain sandbox`` load the sandbox's made-up
business and register its accounts; each row that seed *inserted* is recorded here by table and
id, so that ``supplybrain sandbox remove`` can take exactly the sandbox's business out again and
nothing of the user's (a size or colour the user had already is never recorded). Installs seeded
before this migration have no record; their sandbox accounts are recorded here (loopback
``base_url`` and one of the sandbox's account names), their master data is not.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

SANDBOX_ACCOUNTS = {"wb_integration_accounts": ("maconly-wb-main", "maconly-wb-outlet"),
                    "moysklad_integration_accounts": ("maconly-moysklad",)}


def upgrade() -> None:
    op.create_table(
        "sandbox_rows",
        sa.Column("table_name", sa.Text, nullable=False),
        sa.Column("row_id", sa.Integer, nullable=False),
        sa.Column("seeded_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("table_name", "row_id", name="pk_sandbox_rows"),
        schema="supplybrain",
    )
    for table, names in SANDBOX_ACCOUNTS.items():
        op.execute(sa.text(
            f"INSERT INTO supplybrain.sandbox_rows (table_name, row_id) "
            f"SELECT '{table}', id FROM supplybrain.{table} "
            f"WHERE name = ANY(:names) AND base_url ~ '^http://(127\\.|localhost|\\[::1\\])'"
        ).bindparams(names=list(names)))


def downgrade() -> None:
    raise NotImplementedError("forward-only migration")
