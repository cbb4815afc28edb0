"""Notification outbox: ``monitoring_notifications`` becomes the queue the webhook sender drains.

An event is written (status ``pending``) in the same transaction as the state that causes it;
the sender posts due rows in id order and marks each in the transaction that claimed it
(``resources/notifier.py``). New columns: ``next_attempt_at`` (when the sender may try again),
``expires_at`` (when it gives up: status ``expired``) and ``sent_at``. Statuses: ``pending``,
``failed`` (the receiver was unreachable or answered 5xx/429/408; holds back later events),
``refused`` (another 4xx; retried, but does not hold back later events), ``sent``, ``expired``.

Existing rows keep their meaning: ``sent`` rows get ``sent_at = updated_at``; ``failed`` rows
(which nothing used to re-send) are queued again if they are less than 24 hours old and
``expired`` otherwise. ``expires_at`` is ``created_at + 24 hours`` for every existing row.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_LOG = logging.getLogger("alembic.runtime.migration")
TABLE = "monitoring_notifications"
SCHEMA = "supplybrain"
STATUSES = "status IN ('pending', 'failed', 'refused', 'sent', 'expired')"


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("next_attempt_at", sa.DateTime(timezone=True),
                                   server_default=sa.func.now(), nullable=False), schema=SCHEMA)
    op.add_column(TABLE, sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
                  schema=SCHEMA)
    op.add_column(TABLE, sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
                  schema=SCHEMA)
    op.alter_column(TABLE, "attempts", server_default="0", schema=SCHEMA)
    op.drop_constraint("ck_monitoring_notifications_status", TABLE, schema=SCHEMA)
    op.create_check_constraint("ck_monitoring_notifications_status", TABLE, STATUSES,
                               schema=SCHEMA)
    op.execute(f"UPDATE {SCHEMA}.{TABLE} SET expires_at = created_at + interval '24 hours', "
               "sent_at = CASE WHEN status = 'sent' THEN updated_at END")
    expired = op.get_bind().execute(sa.text(
        f"UPDATE {SCHEMA}.{TABLE} SET status = 'expired' "
        "WHERE status = 'failed' AND expires_at <= now()")).rowcount
    requeued = op.get_bind().execute(sa.text(
        f"UPDATE {SCHEMA}.{TABLE} SET next_attempt_at = now() WHERE status = 'failed'")).rowcount
    _LOG.info("notification outbox: %s failed notification(s) queued again, %s expired",
              requeued, expired)
    op.alter_column(TABLE, "expires_at", nullable=False, schema=SCHEMA)
    op.create_index("ix_monitoring_notifications_undelivered", TABLE, ["id"], unique=False,
                    schema=SCHEMA,
                    postgresql_where=sa.text("status IN ('pending', 'failed', 'refused')"))


def downgrade() -> None:
    raise NotImplementedError("forward-only migration")
