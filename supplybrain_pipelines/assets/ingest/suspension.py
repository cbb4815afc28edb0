"""Suspending an account whose token every endpoint keeps rejecting.

:func:`state.record_health` counts, per (account, endpoint), the attempts in a row that answered
401/403 (``account_health.consecutive_unauthorized``). After recording such an answer it calls
:func:`suspend_if_due` in the same transaction, which applies the rule of
``logic/accounts.py`` (every endpoint of the account at
:data:`~supplybrain_pipelines.logic.accounts.SUSPEND_AFTER_UNAUTHORIZED_RUNS` or more) and, when
it holds, sets the account inactive with ``suspended_at`` and ``suspended_reason``. Ingestion then
skips it (``active_accounts`` reads only active ones) until ``supplybrain accounts activate``.
"""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa
from sqlalchemy import Connection, func, select, update

from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.accounts import due_for_suspension, suspension_reason
from supplybrain_pipelines.resources.marketplace import Account, ApiError


def suspend_if_due(conn: Connection, table: sa.Table, account: Account,
                   error: ApiError) -> bool:
    """Suspend ``account`` (a row of ``table``) if its 401/403 streaks say so; True if this
    call suspended it."""
    h = t.account_health.c
    streaks = conn.execute(select(h.consecutive_unauthorized).where(
        h.account_kind == account.kind, h.account_id == account.id)).scalars().all()
    if not due_for_suspension(streaks):
        return False
    changed = conn.execute(
        update(table).where(table.c.id == account.id, table.c.is_active)
        .values(is_active=False, suspended_at=func.now(),
                suspended_reason=suspension_reason(error.status), updated_at=func.now())
        .returning(table.c.id)).first()
    if changed is not None:
        # Dagster's logger: inside a run (also the page writer's thread) it reaches the run log.
        dg.get_dagster_logger("ingest").warning(
            f"{account.kind} account {account.id} ({account.name}) suspended: "
            f"{suspension_reason(error.status)}.")
    return changed is not None
