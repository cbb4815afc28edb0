"""Accounts whose token keeps being rejected: the 401 streaks on real PostgreSQL, and end to end
the real ingest assets against the sandbox, the monitoring snapshot, ``supplybrain accounts
activate`` and the account sync sensor."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import sqlalchemy as sa

from supplybrain_pipelines.assets.ingest.state import record_health
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.resources.marketplace import Account, ApiError
from supplybrain_pipelines.sensors import account_rows, evaluate_accounts
from supplybrain_pipelines.token_crypto import encrypt_token
from supplybrain_pipelines_tests.assets.test_ingest_e2e import (  # noqa: F401 (fixtures)
    business,
    ingest,
)
from supplybrain_pipelines_tests.fixtures_db import SUPPLYBRAIN, cli_env, fetch_all
from supplybrain_pipelines_tests.monitoring.test_snapshot import snap

TOKEN = "a" * 40


def _error(error_class: str, status: int) -> ApiError:
    return ApiError(error_class, endpoint="wb/x", account_id=1, status=status)


def _attempt(url, account: Account, endpoint: str, outcome: str) -> None:
    """One recorded attempt: "ok", "401" or "503"."""
    error = {"ok": None, "401": _error("unauthorized", 401),
             "503": _error("http_5xx", 503)}[outcome]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        record_health(conn, account, endpoint, error)
    engine.dispose()


def _state(url, account_id: int) -> tuple[bool, bool, dict[str, tuple[int, int]]]:
    """(is_active, suspended, {endpoint: (consecutive_unauthorized, consecutive_failures)})."""
    [(active, suspended_at)] = fetch_all(url, "SELECT is_active, suspended_at FROM "
                                         f"supplybrain.wb_integration_accounts WHERE id = "
                                         f"{account_id}")
    health = fetch_all(url, "SELECT endpoint, consecutive_unauthorized, consecutive_failures "
                       f"FROM supplybrain.account_health WHERE account_kind = 'wb' "
                       f"AND account_id = {account_id}")
    return active, suspended_at is not None, {e: (u, f) for e, u, f in health}


def _account(url) -> Account:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        account_id = conn.execute(sa.insert(t.wb_integration_accounts).values(
            name="shop", api_token_encrypted=encrypt_token(TOKEN))
            .returning(t.wb_integration_accounts.c.id)).scalar_one()
    engine.dispose()
    return Account("wb", account_id, "shop", TOKEN)


def test_suspended_after_three_runs_in_which_every_endpoint_answered_401(migrated_db_url):
    account = _account(migrated_db_url)
    for _ in range(2):
        _attempt(migrated_db_url, account, "orders", "401")
        _attempt(migrated_db_url, account, "sales", "401")
    assert _state(migrated_db_url, account.id) == (True, False, {"orders": (2, 2),
                                                                 "sales": (2, 2)})
    _attempt(migrated_db_url, account, "orders", "401")  # third run: orders first
    assert _state(migrated_db_url, account.id) == (True, False, {"orders": (3, 3),
                                                                 "sales": (2, 2)})
    _attempt(migrated_db_url, account, "sales", "401")  # ... then sales: every endpoint at 3
    assert _state(migrated_db_url, account.id) == (False, True, {"orders": (3, 3),
                                                                 "sales": (3, 3)})
    [(reason,)] = fetch_all(migrated_db_url, "SELECT suspended_reason FROM "
                            "supplybrain.wb_integration_accounts")
    assert reason == ("every endpoint answered HTTP 401 (token rejected) in 3 ingest runs in a "
                      "row; fix the token, then `supplybrain accounts activate`")


def test_another_error_resets_the_streak_and_a_working_endpoint_keeps_the_account(
        migrated_db_url):
    account = _account(migrated_db_url)
    for outcome in ("401", "401", "503", "401", "401"):
        _attempt(migrated_db_url, account, "orders", outcome)
    # the 503 broke the streak: 2 in a row since, 5 failures in a row
    assert _state(migrated_db_url, account.id) == (True, False, {"orders": (2, 5)})
    for _ in range(4):  # four more runs in which sales works
        _attempt(migrated_db_url, account, "sales", "ok")
        _attempt(migrated_db_url, account, "orders", "401")
    assert _state(migrated_db_url, account.id) == (True, False, {"orders": (6, 9),
                                                                 "sales": (0, 0)})
    _attempt(migrated_db_url, account, "orders", "ok")
    assert _state(migrated_db_url, account.id) == (True, False, {"orders": (0, 0),
                                                                 "sales": (0, 0)})


WB_PATHS = ("/api/v1/supplier/orders", "/api/v1/supplier/sales", "/api/v1/supplier/stocks")


def _sensor(instance, url, cursor):
    """The account sync sensor's evaluation at a time with room before the quarter hour."""
    db = sa.create_engine(url)
    with db.connect() as conn:
        rows = account_rows(conn)
    db.dispose()
    requests, state, _ = evaluate_accounts(instance, rows, json.loads(cursor or "{}"),
                                           datetime(2026, 12, 4, 10, 7, tzinfo=UTC))
    return requests, json.dumps(state)


def test_a_401_account_is_skipped_after_three_runs_until_activated(
        seeded_db, dagster_instance, business, sandbox):  # noqa: F811 (imported fixtures)
    locked, other = business.wb_accounts[0], business.wb_accounts[1]
    [(locked_id,)] = fetch_all(seeded_db, "SELECT id FROM supplybrain.wb_integration_accounts "
                               f"WHERE name = '{locked.name}'")
    sandbox.faults.unauthorized(locked.token)
    _, cursor = _sensor(dagster_instance, seeded_db, None)  # sees every account active

    for run in (1, 2, 3):
        result = ingest(seeded_db, dagster_instance)
        assert result.success
        skipped = result.asset_materializations_for_node("wb_orders")[0].metadata
        assert skipped["accounts_skipped"].value == 1
        active, suspended, health = _state(seeded_db, locked_id)
        assert health == {"orders": (run, run), "sales": (run, run), "stocks": (run, run)}
        assert (active, suspended) == ((False, True) if run == 3 else (True, False))
        said = [e.user_message for e in dagster_instance.all_logs(result.run_id)
                if "suspended" in e.user_message]
        assert said == ([f"wb account {locked_id} ({locked.name}) suspended: every endpoint "
                         "answered HTTP 401 (token rejected) in 3 ingest runs in a row; fix the "
                         "token, then `supplybrain accounts activate`."] if run == 3 else [])
    statuses = {path: sandbox.stats()[("wb", path, locked.name)]["statuses"] for path in WB_PATHS}
    assert statuses == {path: {401: 3} for path in WB_PATHS}

    fourth = ingest(seeded_db, dagster_instance)
    assert fourth.success
    assert fourth.asset_materializations_for_node("wb_orders")[0].metadata[
        "accounts_skipped"].value == 0
    # not asked at all any more; the other WB account still ingests
    assert {path: sandbox.stats()[("wb", path, locked.name)]["statuses"]
            for path in WB_PATHS} == statuses
    assert sandbox.stats()[("wb", WB_PATHS[0], other.name)]["statuses"].keys() == {200}

    window = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    shot = snap(seeded_db, dagster_instance, window)
    assert shot.asset_materializations_for_node("monitoring_snapshot")[0].metadata[
        "accounts_suspended"].value == 1
    [(wb_active, details)] = fetch_all(seeded_db, "SELECT wb_accounts_active, details FROM "
                                       "supplybrain.monitoring_status")
    assert wb_active == 1
    assert details["metrics"]["accounts_suspended"] == 1
    entry = next(a for a in details["accounts"] if a["name"] == locked.name)
    assert entry["suspended_at"] is not None and "3 ingest runs" in entry["suspended_reason"]
    assert locked.token not in str(details)
    assert fetch_all(seeded_db, "SELECT value FROM supplybrain.monitoring_timeseries "
                     "WHERE metric = 'accounts_suspended'") == [(1,)]

    requests, cursor = _sensor(dagster_instance, seeded_db, cursor)
    assert requests == []  # a suspension queues nothing
    sandbox.faults.reset()  # the token works again
    activated = subprocess.run([str(SUPPLYBRAIN), "accounts", "activate", "--kind", "wb",
                                str(locked_id)], env=cli_env(seeded_db), capture_output=True,
                               text=True, timeout=120)
    assert activated.returncode == 0, activated.stderr
    assert activated.stdout.startswith(f"activated wb account {locked_id} (suspended since ")
    assert activated.stdout.endswith(", accepted by 127.0.0.1\n")  # checked on the way in
    assert _state(seeded_db, locked_id) == (True, False, {"orders": (0, 3), "sales": (0, 3),
                                                          "stocks": (0, 3)})
    # re-activation queues the account's sync (its backfill), as the README says
    requests, _ = _sensor(dagster_instance, seeded_db, cursor)
    assert [r.tags.get("supplybrain/sync_accounts") for r in requests] == [f"wb:{locked_id}",
                                                                          None]

    fifth = ingest(seeded_db, dagster_instance)
    assert fifth.success
    assert _state(seeded_db, locked_id) == (True, False, {"orders": (0, 0), "sales": (0, 0),
                                                          "stocks": (0, 0)})
    snap(seeded_db, dagster_instance, window)
    [(metrics,)] = fetch_all(seeded_db, "SELECT details -> 'metrics' FROM "
                             "supplybrain.monitoring_status")
    assert metrics["accounts_suspended"] == 0


def test_a_moysklad_account_is_suspended_the_same_way(
        seeded_db, dagster_instance, business, sandbox):  # noqa: F811 (imported fixtures)
    [ms] = business.moysklad_accounts
    [(ms_id,)] = fetch_all(seeded_db, "SELECT id FROM supplybrain.moysklad_integration_accounts")
    sandbox.faults.unauthorized(ms.token)
    state = ("SELECT a.is_active, a.suspended_at IS NOT NULL, array_agg(h.endpoint || '=' || "
             "h.consecutive_unauthorized ORDER BY h.endpoint) FROM "
             "supplybrain.moysklad_integration_accounts a JOIN supplybrain.account_health h "
             f"ON h.account_kind = 'moysklad' AND h.account_id = a.id WHERE a.id = {ms_id} "
             "GROUP BY 1, 2")
    for run in (1, 2, 3):
        assert ingest(seeded_db, dagster_instance).success
        assert fetch_all(seeded_db, state) == [
            (run < 3, run == 3, [f"assortment={run}", f"customerorder={run}", f"stock={run}"])]

    def ms_requests() -> int:
        return sum(s["requests"] for (api, _, name), s in sandbox.stats().items()
                   if api == "moysklad" and name == ms.name)

    before = ms_requests()
    fourth = ingest(seeded_db, dagster_instance)
    assert fourth.success
    assert ms_requests() == before
    assert fourth.asset_materializations_for_node("moysklad_assortment")[0].metadata[
        "accounts_skipped"].value == 0
    snap(seeded_db, dagster_instance, datetime(2026, 11, 26, 6, 15, tzinfo=UTC))
    [(ms_active, metrics)] = fetch_all(seeded_db, "SELECT ms_accounts_active, details -> "
                                       "'metrics' FROM supplybrain.monitoring_status")
    assert (ms_active, metrics["accounts_suspended"]) == (0, 1)
