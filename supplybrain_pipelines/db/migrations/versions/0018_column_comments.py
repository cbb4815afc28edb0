"""Column descriptions (issue 14): nothing to do here, on purpose.

The descriptions are the ``comment=`` of the definitions in ``db/tables`` and ``db/views.py``;
``migrate.upgrade`` writes them as PostgreSQL comments after every upgrade
(``migrate.sync_comments``), so they stay in sync without a revision per edit. This revision
was reserved for them and is kept empty because 0019 follows it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    raise NotImplementedError("forward-only migration")
