"""A snapshot measures ages at its window's start (issue 13): a run that waited for the slot
reports the window it stands for, not the moment it got to run."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from supplybrain_pipelines.assets.monitoring.snapshot import compute_snapshot
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines_tests.fixtures_db import engine
from supplybrain_pipelines_tests.monitoring.test_snapshot import add_accounts, add_rows

WINDOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
#: The run got the slot 9.5 minutes after its tick.
RAN_AT = datetime(2026, 11, 26, 6, 9, 30, tzinfo=UTC)


def _at(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 26, hour, minute, tzinfo=UTC)


def _health(account_id: int, last_success: datetime, expires: datetime | None = None) -> dict:
    return {"account_kind": "wb", "account_id": account_id, "endpoint": "orders",
            "last_attempt_at": last_success, "last_success_at": last_success,
            "token_expires_at": expires}


def test_ages_are_measured_at_the_window_start_not_when_the_run_started(migrated_db_url):
    add_accounts(migrated_db_url, wb=[True, True], ms=[])
    with engine(migrated_db_url).begin() as conn:
        ids = conn.execute(sa.select(t.wb_integration_accounts.c.id)
                           .order_by(t.wb_integration_accounts.c.id)).scalars().all()
        conn.execute(sa.insert(t.account_health), [
            # 05:20 -> 06:00 is 40 minutes (49 at 06:09:30); the token expires 10 days after
            # the window (9 whole days after the run)
            _health(ids[0], _at(5, 20), expires=datetime(2026, 12, 6, 6, 0, tzinfo=UTC)),
            # synced after the window started: 0 at the window, not -5
            _health(ids[1], _at(6, 5)),
        ])
    add_rows(migrated_db_url, t.orders, [
        {"channel": "wb", "account_id": 1, "order_id": "o1", "ordered_at": _at(5, 45),
         "item_key": "b", "quantity": 1, "is_cancelled": False, "last_change_at": _at(5, 45)}])
    add_rows(migrated_db_url, t.stock, [
        {"channel": "wb", "account_id": 1, "location": "w", "item_key": "b", "quantity": 1,
         "as_of": _at(5, 30)}])
    with engine(migrated_db_url).connect() as conn:
        snapshot = compute_snapshot(conn, WINDOW, RAN_AT)
    accounts = {a["account_id"]: a for a in snapshot.details["accounts"]}
    assert accounts[ids[0]]["minutes_since_success"] == 40
    assert accounts[ids[0]]["endpoints"]["orders"]["minutes_since_success"] == 40
    assert accounts[ids[0]]["token_days_left"] == 10
    assert accounts[ids[1]]["minutes_since_success"] == 0
    assert snapshot.metrics["max_sync_age_minutes"] == 40
    assert snapshot.metrics["min_token_days_left"] == 10
    assert snapshot.metrics["minutes_since_last_order"] == 15  # 05:45 -> 06:00
    assert snapshot.metrics["minutes_since_stock"] == 30  # 05:30 -> 06:00
    assert snapshot.details["computed_at"] == "2026-11-26T06:09:30+00:00"
