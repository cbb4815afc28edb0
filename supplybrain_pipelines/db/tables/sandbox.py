"""Provenance of the marketplace sandbox's business (migration 0018, owned by
``sandbox/seed.py`` and ``sandbox/removal.py``): one row per row that the sandbox's seed
inserted, so that ``supplybrain sandbox remove`` takes out exactly the sandbox's business."""

from __future__ import annotations

import sqlalchemy as sa

from supplybrain_pipelines.db.tables._meta import metadata, timestamp

sandbox_rows = sa.Table(
    "sandbox_rows", metadata,
    sa.Column("table_name", sa.Text, primary_key=True,
              comment="The application table the sandbox's seed inserted the row into."),
    sa.Column("row_id", sa.Integer, primary_key=True, comment="The row's id in that table."),
    timestamp("seeded_at", "When the sandbox's seed inserted the row."),
    comment="Rows the marketplace sandbox's seed created; `supplybrain sandbox remove` removes "
            "exactly these and what hangs from them.",
)
