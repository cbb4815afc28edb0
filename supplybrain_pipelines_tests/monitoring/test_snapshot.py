"""The monitoring snapshot asset on PostgreSQL: the old backend's cases 1–4, 6, 8–10 adapted,
idempotent windows, alerts, the consumer views, the reader role and status-change webhooks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from supplybrain_pipelines.assets.monitoring import MONITORING_ASSETS, MONITORING_CHECKS
from supplybrain_pipelines.config import PROJECT_ROOT
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.monitoring.windows import floor_window
from supplybrain_pipelines.resources.notifier import WebhookNotifier
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.token_crypto import encrypt_token
from supplybrain_pipelines_tests.fixtures_db import engine, execute, url_text
from supplybrain_pipelines_tests.monitoring.receiver import WebhookReceiver

WINDOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
COUNTERS = ", ".join(t.SNAPSHOT_COUNTERS)


def snap(url, instance, window: datetime | None = WINDOW, hook_url: str | None = None):
    config = {"window_start": window.isoformat() if window else None}
    return dg.materialize(
        [*MONITORING_ASSETS, *MONITORING_CHECKS], instance=instance,
        run_config={"ops": {"monitoring_snapshot": {"config": config}}},
        resources={"warehouse": PostgresWarehouse(database_url=url_text(url)),
                   "notifier": WebhookNotifier(url=hook_url, backoff_seconds=0.01)})


def fetch_all(url, query: str) -> list[sa.Row]:
    eng = engine(url)
    with eng.connect() as conn:
        rows = conn.execute(sa.text(query)).all()
    eng.dispose()
    return rows


def latest(url) -> sa.Row:
    return fetch_all(url, "SELECT * FROM supplybrain.monitoring_status")[0]


def add_accounts(url, wb: list[bool], ms: list[bool]) -> None:
    for table, flags in ((t.wb_integration_accounts, wb), (t.moysklad_integration_accounts, ms)):
        for i, active in enumerate(flags):
            with engine(url).begin() as conn:
                conn.execute(sa.insert(table).values(name=f"acc{i}", is_active=active,
                                                     api_token_encrypted=encrypt_token(
                                                         "secret-token-xyz")))


#: Values that pass the outputs' CHECK constraints.
PLAIN = {"risk_level": "ok", "cover_risk": "ok", "limiting_constraint": "none",
         "reason": "no_demand"}


def fill(table: sa.Table, **values) -> dict:
    """A row of ``table`` with ``values`` and a plain value in every other required column."""
    row = {}
    for c in table.columns:
        if c.name in values or c.nullable or c.server_default is not None or c.primary_key \
                and isinstance(c.type, sa.BigInteger):
            continue
        python = c.type.python_type
        row[c.name] = {str: "x", int: 1, float: 1.0, date: date(2026, 11, 26),
                       dict: {}}.get(python, "x")
    return {**row, **{k: v for k, v in PLAIN.items() if k in table.c}, **values}


def add_rows(url, table: sa.Table, rows: list[dict]) -> None:
    with engine(url).begin() as conn:
        conn.execute(sa.insert(table), [fill(table, **r) for r in rows])


def test_case_1_empty_database_gives_zeros_and_the_status_of_the_seeded_rules(
        migrated_db_url, dagster_instance):
    result = snap(migrated_db_url, dagster_instance)
    assert result.success
    row = latest(migrated_db_url)
    assert [getattr(row, c) for c in t.SNAPSHOT_COUNTERS] == [0] * 11
    # Seed rules 3, 4 and 6 (no WB, no MS account, no final order) are critical, 5 a warning.
    assert (row.overall_status, row.critical_alerts, row.warning_alerts) == ("critical", 3, 1)
    assert row.window_start == WINDOW and row.schema_version == 2
    assert row.details["metrics"]["orders_last_24h"] == 0
    assert row.details["watermarks"]["latest_order_at"] is None
    # The status check (test_status_check.py) and the gap check ran with the snapshot (the
    # gap check's verdict depends on the clock; see its own tests).
    assert [c.check_name for c in result.get_asset_check_evaluations()] == [
        "business_status", "no_missing_windows"]


def test_empty_database_without_rules_is_a_warning(migrated_db_url, dagster_instance):
    execute(migrated_db_url, "DELETE FROM supplybrain.monitoring_alert_rules")
    snap(migrated_db_url, dagster_instance)
    row = latest(migrated_db_url)
    assert (row.overall_status, row.critical_alerts, row.warning_alerts) == ("warning", 0, 0)


def test_case_2_account_counts(migrated_db_url, dagster_instance):
    add_accounts(migrated_db_url, wb=[True, False], ms=[True])
    snap(migrated_db_url, dagster_instance)
    row = latest(migrated_db_url)
    assert (row.wb_accounts_total, row.wb_accounts_active, row.ms_accounts_total,
            row.ms_accounts_active) == (2, 1, 1, 1)
    names = {a["name"] for a in row.details["accounts"]}
    assert names == {"acc0", "acc1"}
    assert "secret-token-xyz" not in str(row.details)


def test_case_3_risk_counts_per_bundle_entry_of_planned_articles(migrated_db_url,
                                                                 dagster_instance):
    levels = ["critical", "critical", "warning", "ok", "overstock", "no_data"]
    add_rows(migrated_db_url, t.bundle_risk, [
        {"article_id": 1, "bundle_type_id": i, "risk_level": level}
        for i, level in enumerate(levels)] + [
        {"article_id": 2, "bundle_type_id": 1, "risk_level": "critical"}])
    add_rows(migrated_db_url, t.article, [{"id": 2, "code": "A2"}])
    add_rows(migrated_db_url, t.planning_settings, [{"article_id": 2, "is_active": False}])
    snap(migrated_db_url, dagster_instance)
    row = latest(migrated_db_url)
    assert (row.bundle_risk_critical, row.bundle_risk_warning, row.bundle_risk_ok,
            row.bundle_risk_overstock, row.bundle_risk_no_data) == (2, 1, 1, 1, 1)


def test_case_4_order_counts_come_from_the_latest_proposal_run(migrated_db_url,
                                                               dagster_instance):
    old = datetime(2026, 11, 25, tzinfo=UTC)
    new = datetime(2026, 11, 26, tzinfo=UTC)
    add_rows(migrated_db_url, t.planning_proposals, [
        {"run_id": "old", "computed_at": old, "sku_unit_id": 1, "article_id": 1,
         "recommended_quantity": 999},
        *({"run_id": "new", "computed_at": new, "sku_unit_id": sku, "article_id": article,
           "recommended_quantity": qty}
          for sku, article, qty in [(1, 1, 6), (2, 1, 4), (3, 2, 0), (4, 3, 5)])])
    snap(migrated_db_url, dagster_instance)
    row = latest(migrated_db_url)
    assert (row.articles_with_orders, row.total_final_order_qty) == (2, 15)
    assert row.details["watermarks"]["latest_proposal_run_id"] == "new"


def test_case_5_and_6_alerts_use_the_persisted_values(migrated_db_url, dagster_instance):
    execute(migrated_db_url, "DELETE FROM supplybrain.monitoring_alert_rules")
    execute(migrated_db_url, """INSERT INTO supplybrain.monitoring_alert_rules
        (name, metric, threshold_type, threshold_value, severity) VALUES
        ('crit', 'bundle_risk_critical', 'above', 0, 'critical'),
        ('no wb', 'wb_accounts_active', 'below', 1, 'critical'),
        ('many warnings', 'bundle_risk_warning', 'above', 10, 'warning'),
        ('hand-written', 'no_such_metric', 'above', 0, 'warning')""")
    add_rows(migrated_db_url, t.bundle_risk, [
        {"article_id": 1, "bundle_type_id": i, "risk_level": level}
        for i, level in enumerate(["critical", "critical", "warning", "warning", "warning"])])
    snap(migrated_db_url, dagster_instance)
    alerts = fetch_all(migrated_db_url, "SELECT rule_name, current_value FROM "
                       "supplybrain.monitoring_alerts ORDER BY rule_id")
    assert [(a.rule_name, float(a.current_value)) for a in alerts] == [("crit", 2.0),
                                                                       ("no wb", 0.0)]
    row = latest(migrated_db_url)
    assert (row.overall_status, row.critical_alerts, row.warning_alerts) == ("critical", 2, 0)
    assert [r["name"] for r in row.details["skipped_rules"]] == ["hand-written"]


def test_re_running_a_window_upserts_one_row_and_replaces_its_alerts(migrated_db_url,
                                                                     dagster_instance):
    snap(migrated_db_url, dagster_instance)
    first = latest(migrated_db_url)
    add_accounts(migrated_db_url, wb=[True], ms=[True])
    snap(migrated_db_url, dagster_instance)
    rows = fetch_all(migrated_db_url, "SELECT * FROM supplybrain.monitoring_snapshots")
    assert len(rows) == 1
    assert rows[0].created_at == first.created_at and rows[0].wb_accounts_active == 1
    assert rows[0].updated_at > rows[0].created_at
    alerts = fetch_all(migrated_db_url, "SELECT metric FROM supplybrain.monitoring_alerts")
    # Only "no final order" (critical) and "no articles with orders" (warning) remain.
    assert sorted(a.metric for a in alerts) == ["articles_with_orders", "total_final_order_qty"]


def test_a_manual_run_floors_now_and_a_misaligned_window_is_refused(migrated_db_url,
                                                                    dagster_instance):
    before = floor_window(datetime.now(UTC))
    snap(migrated_db_url, dagster_instance, window=None)
    assert latest(migrated_db_url).window_start in (before, before + timedelta(minutes=15))
    with pytest.raises(dg.Failure, match="must carry a UTC offset and start a 15-minute"):
        snap(migrated_db_url, dagster_instance, window=WINDOW + timedelta(minutes=7))


def test_order_volume_compares_the_last_24_hours_with_the_previous_seven_days(
        migrated_db_url, dagster_instance):
    rows = []
    for days_ago, units in [(0, 6), (1, 2), (2, 2), (3, 4), (5, 6), (7, 0), (8, 50)]:
        at = WINDOW - timedelta(days=days_ago, hours=1)
        rows.append({"channel": "wb", "account_id": 1, "order_id": f"o{days_ago}",
                     "ordered_at": at, "item_key": "b", "quantity": units,
                     "is_cancelled": False, "last_change_at": at})
    rows.append({**rows[0], "order_id": "cancelled", "is_cancelled": True, "quantity": 9})
    rows.append({**rows[0], "order_id": "future", "ordered_at": WINDOW + timedelta(minutes=1)})
    add_rows(migrated_db_url, t.orders, rows)
    snap(migrated_db_url, dagster_instance)
    details = latest(migrated_db_url).details
    assert details["orders"]["last_24h"]["units"] == 6
    assert details["orders"]["last_24h"]["lines"] == 2
    assert details["orders"]["previous_7_days_same_hours"]["units_per_day"] == [2, 2, 4, 0, 6,
                                                                                0, 0]
    assert details["metrics"]["orders_vs_prev_7d_pct"] == pytest.approx(300.0)
    assert details["watermarks"]["latest_order_at"].startswith("2026-11-26T06:01")


def test_order_volume_slices_are_half_open_24_hour_ranges(migrated_db_url, dagster_instance):
    edges = {"at_window": WINDOW, "one_day": WINDOW - timedelta(days=1),
             "eight_days": WINDOW - timedelta(days=8),
             "before": WINDOW - timedelta(days=8, microseconds=1)}
    add_rows(migrated_db_url, t.orders, [
        {"channel": "moysklad", "account_id": 1, "order_id": name, "ordered_at": at,
         "item_key": "i", "quantity": 1, "is_cancelled": False, "last_change_at": at}
        for name, at in edges.items()])
    snap(migrated_db_url, dagster_instance)
    orders = latest(migrated_db_url).details["orders"]
    assert orders["last_24h"]["units"] == 1  # exactly one day before: the last 24 h
    assert orders["last_24h"]["by_channel"] == {"moysklad": {"units": 1, "lines": 1}}
    assert orders["previous_7_days_same_hours"]["units_per_day"] == [0, 0, 0, 0, 0, 0, 1]


def test_case_9_history_newest_first_and_timeseries_in_long_format(migrated_db_url,
                                                                   dagster_instance):
    for i in range(4):
        if i == 2:
            add_accounts(migrated_db_url, wb=[True], ms=[])
        snap(migrated_db_url, dagster_instance, window=WINDOW + timedelta(minutes=15 * i))
    history = fetch_all(migrated_db_url, "SELECT window_start FROM supplybrain.monitoring_history")
    assert [h.window_start for h in history] == [WINDOW + timedelta(minutes=15 * i)
                                                 for i in (3, 2, 1, 0)]
    series = fetch_all(migrated_db_url, "SELECT window_start, value FROM "
                       "supplybrain.monitoring_timeseries WHERE metric = 'wb_accounts_active'")
    assert [float(s.value) for s in series] == [0, 0, 1, 1]
    assert [s.window_start for s in series] == sorted(s.window_start for s in series)
    metrics = {m for (m,) in fetch_all(migrated_db_url, "SELECT DISTINCT metric FROM "
                                       "supplybrain.monitoring_timeseries")}
    assert {"bundle_risk_critical", "total_final_order_qty", "critical_alerts",
            "orders_last_24h", "max_sync_age_minutes", "unmatched_items"} <= metrics


def test_the_reader_role_sees_the_views_and_not_the_tables(migrated_db_url, dagster_instance):
    add_accounts(migrated_db_url, wb=[True], ms=[True])
    snap(migrated_db_url, dagster_instance)
    with engine(migrated_db_url).connect() as conn:
        conn.execute(sa.text("SET ROLE supplybrain_reader"))
        for view in ("monitoring_status", "monitoring_history", "monitoring_timeseries",
                     "planning_proposals_latest", "planning_health_latest"):
            conn.execute(sa.text(f"SELECT * FROM supplybrain.{view}")).all()
        for table in ("wb_integration_accounts", "moysklad_integration_accounts",
                      "monitoring_snapshots"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), \
                    conn.begin_nested():
                conn.execute(sa.text(f"SELECT * FROM supplybrain.{table}"))
    role = fetch_all(migrated_db_url, "SELECT rolcanlogin FROM pg_roles "
                     "WHERE rolname = 'supplybrain_reader'")
    assert role[0].rolcanlogin is False


def test_the_readme_view_examples_run_as_the_reader(migrated_db_url, dagster_instance):
    snap(migrated_db_url, dagster_instance)
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = readme.split("### Consumer views", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    statements = [s for s in block.split(";") if s.strip()]
    assert len(statements) == 5
    with engine(migrated_db_url).connect() as conn:
        conn.execute(sa.text("SET ROLE supplybrain_reader"))
        for statement in statements:
            conn.execute(sa.text(statement)).all()
    assert fetch_all(migrated_db_url, "SELECT overall_status FROM "
                     "supplybrain.monitoring_status")[0].overall_status == "critical"


def test_a_status_change_posts_once_and_an_unchanged_status_posts_nothing(migrated_db_url,
                                                                           dagster_instance):
    with WebhookReceiver() as hook:
        snap(migrated_db_url, dagster_instance, hook_url=hook.url)          # first: critical
        snap(migrated_db_url, dagster_instance, hook_url=hook.url)          # same window again
        snap(migrated_db_url, dagster_instance, WINDOW + timedelta(minutes=15), hook.url)
        assert len(hook.posts) == 1
        add_accounts(migrated_db_url, wb=[True], ms=[True])
        add_rows(migrated_db_url, t.planning_proposals, [
            {"run_id": "r", "sku_unit_id": 1, "article_id": 1, "recommended_quantity": 5}])
        hook.fail(1, status=503)
        snap(migrated_db_url, dagster_instance, WINDOW + timedelta(minutes=30), hook.url)
        assert len(hook.posts) == 3                                          # 503, then retry
        assert hook.posts[-1].body["status"] == "ok"
        assert hook.posts[-1].body["previous_status"] == "critical"
    sent = fetch_all(migrated_db_url, "SELECT status, attempts FROM "
                     "supplybrain.monitoring_notifications ORDER BY id")
    assert [(s.status, s.attempts) for s in sent] == [("sent", 1), ("sent", 2)]
