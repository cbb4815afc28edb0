"""Raw WB tables keep only the indexes their readers use.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

- ``wb_orders (account_id, ordered_at)`` is dropped: nothing reads the raw table by order time
  (planning reads ``orders`` and ``orders_daily``), and the index took rows in random order, so
  it cost about half of PostgreSQL's time per ingested row (bench/ingest_throughput.py).
- ``ingested_at`` of ``wb_orders`` and ``wb_sales`` becomes a BRIN index: the column is set to
  the load's time, so it follows the table's physical order, and a BRIN index costs next to
  nothing per row. Unlike a B-tree, a BRIN index does not prevent HOT updates (PostgreSQL 16+),
  and every update of a raw row changes ``ingested_at``.
- ``orders`` gets a partial index on its unmatched lines (``article_id IS NULL``, few), which
  the incremental refresh of ``orders`` looks up by order id (``assets/unified.py``) instead of
  scanning the whole raw table for their barcodes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"


def upgrade() -> None:
    op.drop_index("ix_wb_orders_account_id_ordered_at", table_name="wb_orders", schema=SCHEMA)
    for table in ("wb_orders", "wb_sales"):
        name = f"ix_{table}_ingested_at"
        op.drop_index(name, table_name=table, schema=SCHEMA)
        op.create_index(name, table, ["ingested_at"], schema=SCHEMA, postgresql_using="brin",
                        postgresql_with={"autosummarize": "on"})
    op.create_index("ix_orders_unmatched", "orders", ["channel"], schema=SCHEMA,
                    postgresql_where=sa.text("article_id IS NULL"))


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
