"""MoySklad semantics: cancelled states, the recycle bin and what counts as demand.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

- ``moysklad_integration_accounts.cancelled_states`` (text[], default ``{Отменен}``): the names
  of the account's customer-order states that count as cancelled (``logic/moysklad_states``).
- ``ms_customer_orders.state_id``: the order's state (an id of the account's states);
  ``deleted_at``: when it went into MoySklad's recycle bin, NULL while it is not in it;
  ``is_cancelled``: not posted, in the bin or in a cancelled state. ``orders`` takes its
  ``is_cancelled`` from here (it was ``NOT applicable``), so such orders leave demand.
- Existing orders: ``is_cancelled`` = ``NOT applicable`` (what ``orders`` already says); their
  states are read on the next ingestion, which re-reads orders from the cursor on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"


def upgrade() -> None:
    op.add_column("moysklad_integration_accounts",
                  sa.Column("cancelled_states", ARRAY(sa.Text()), nullable=False,
                            server_default=sa.text("ARRAY['Отменен'::text]")), schema=SCHEMA)
    op.add_column("ms_customer_orders", sa.Column("state_id", sa.Text(), nullable=True),
                  schema=SCHEMA)
    op.add_column("ms_customer_orders",
                  sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
                  schema=SCHEMA)
    op.add_column("ms_customer_orders",
                  sa.Column("is_cancelled", sa.Boolean(), nullable=False,
                            server_default=sa.false()), schema=SCHEMA)
    op.execute(f"UPDATE {SCHEMA}.ms_customer_orders SET is_cancelled = true "
               "WHERE NOT applicable")


def downgrade() -> None:
    raise NotImplementedError("forward-only migration")
