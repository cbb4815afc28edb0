"""Migration 0007 on a real PostgreSQL: ``orders_daily`` is rebuilt by business (Moscow) day,
and the planning settings get CHECK constraints; rows stored before it that break one are
reported by a warning and left unchanged, under a NOT VALID constraint."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from supplybrain_pipelines.config import BUSINESS_TZ_ENV
from supplybrain_pipelines.db import migrate
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all

#: The constraints 0007 adds.
CONSTRAINTS = (
    "ck_global_planning_settings_service_level_range",
    "ck_global_planning_settings_lead_time_non_negative",
    "ck_global_planning_settings_coverage_non_negative",
    "ck_article_planning_settings_service_level_range",
    "ck_article_planning_settings_lead_time_non_negative",
    "ck_article_planning_settings_coverage_non_negative",
    "ck_article_planning_settings_pack_multiple_positive",
)
VALIDATED = """SELECT conname, convalidated FROM pg_constraint
               WHERE conname LIKE 'ck\\_%planning\\_settings\\_%' ORDER BY conname"""


def upgrade_to(url, revision: str) -> None:
    """``alembic upgrade <revision>`` as migrate.upgrade runs it (one transaction)."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            config = migrate.alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
    finally:
        engine.dispose()


@pytest.fixture
def at_0006(empty_db_url):
    upgrade_to(empty_db_url, "0006")
    execute(empty_db_url, "INSERT INTO supplybrain.article (code) VALUES ('A1'), ('A2'), "
            "('A3')")
    return empty_db_url


def article_settings(url, article: str, **values) -> None:
    columns = ", ".join(values)
    params = ", ".join(f":{c}" for c in values)
    execute(url, f"INSERT INTO supplybrain.article_planning_settings (article_id, {columns}) "
            f"SELECT id, {params} FROM supplybrain.article WHERE code = :code",
            code=article, **values)


def test_the_constraints_are_added_validated_when_no_row_breaks_them(at_0006, caplog):
    article_settings(at_0006, "A1", service_level_percent=95, pack_multiple=1, lead_time_days=0,
                     target_coverage_days=0)
    article_settings(at_0006, "A2", service_level_percent=None)  # all NULL: allowed
    with caplog.at_level(logging.WARNING):
        migrate.upgrade(at_0006)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    got = dict(fetch_all(at_0006, VALIDATED))
    assert {name: got.get(name) for name in CONSTRAINTS} == dict.fromkeys(CONSTRAINTS, True)


@pytest.mark.parametrize(("table", "values", "constraint"), [
    ("article_planning_settings", {"service_level_percent": 100}, "service_level_range"),
    ("article_planning_settings", {"service_level_percent": 0}, "service_level_range"),
    ("article_planning_settings", {"pack_multiple": 0}, "pack_multiple_positive"),
    ("article_planning_settings", {"lead_time_days": -1}, "lead_time_non_negative"),
    ("article_planning_settings", {"target_coverage_days": -1}, "coverage_non_negative"),
    ("global_planning_settings", {"default_service_level_percent": 100}, "service_level_range"),
    ("global_planning_settings", {"default_lead_time_days": -1}, "lead_time_non_negative"),
    ("global_planning_settings", {"default_target_coverage_days": -5}, "coverage_non_negative"),
])
def test_a_bad_setting_written_after_the_migration_is_rejected(migrated_db_url, table, values,
                                                               constraint):
    execute(migrated_db_url, "INSERT INTO supplybrain.article (code) VALUES ('A1')")
    if table == "article_planning_settings":
        with pytest.raises(IntegrityError, match=f"ck_{table}_{constraint}"):
            article_settings(migrated_db_url, "A1", **values)
    else:
        (column, value), = values.items()
        with pytest.raises(IntegrityError, match=f"ck_{table}_{constraint}"):
            execute(migrated_db_url, f"INSERT INTO supplybrain.{table} ({column}) "
                    "VALUES (:value)", value=value)
    assert fetch_all(migrated_db_url, f"SELECT count(*) FROM supplybrain.{table}") == [(0,)]


def test_existing_bad_rows_are_reported_and_left_unchanged(at_0006, caplog):
    article_settings(at_0006, "A1", service_level_percent=100, pack_multiple=0)
    article_settings(at_0006, "A2", service_level_percent=90, pack_multiple=6)
    execute(at_0006, "INSERT INTO supplybrain.global_planning_settings "
            "(default_service_level_percent) VALUES (90)")
    ids = dict(fetch_all(at_0006, "SELECT a.code, s.id FROM supplybrain.article_planning_settings"
                         " s JOIN supplybrain.article a ON a.id = s.article_id"))
    before = fetch_all(at_0006, "SELECT * FROM supplybrain.article_planning_settings ORDER BY id")

    with caplog.at_level(logging.WARNING):
        migrate.upgrade(at_0006)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    service, pack = warnings
    assert service.startswith(
        "supplybrain.article_planning_settings: 1 row(s) break the new check "
        "ck_article_planning_settings_service_level_range (service_level_percent must be "
        f"strictly between 0 and 100, or empty): id {ids['A1']} (service_level_percent 100).")
    assert ("ALTER TABLE supplybrain.article_planning_settings VALIDATE CONSTRAINT "
            "ck_article_planning_settings_service_level_range;") in service
    assert f"id {ids['A1']} (pack_multiple 0)" in pack
    assert "ck_article_planning_settings_pack_multiple_positive" in pack
    assert fetch_all(at_0006, "SELECT * FROM supplybrain.article_planning_settings "
                     "ORDER BY id") == before
    validated = dict(fetch_all(at_0006, VALIDATED))
    assert validated["ck_article_planning_settings_service_level_range"] is False
    assert validated["ck_article_planning_settings_pack_multiple_positive"] is False
    assert validated["ck_article_planning_settings_lead_time_non_negative"] is True
    assert validated["ck_global_planning_settings_service_level_range"] is True

    # NOT VALID still checks new rows.
    with pytest.raises(IntegrityError, match="ck_article_planning_settings_pack_multiple"):
        article_settings(at_0006, "A3", pack_multiple=0)
    # The fix the warning describes.
    execute(at_0006, "UPDATE supplybrain.article_planning_settings SET "
            "service_level_percent = 95, pack_multiple = 1 WHERE id = :id", id=ids["A1"])
    for name in ("service_level_range", "pack_multiple_positive"):
        execute(at_0006, "ALTER TABLE supplybrain.article_planning_settings VALIDATE "
                f"CONSTRAINT ck_article_planning_settings_{name}")
    assert all(dict(fetch_all(at_0006, VALIDATED)).values())


def insert_order(url, order_id: str, at: str, quantity: int, cancelled: bool = False) -> None:
    execute(url, "INSERT INTO supplybrain.orders (channel, account_id, order_id, ordered_at, "
            "item_key, quantity, price, is_cancelled, last_change_at) VALUES "
            "('wb', 1, :id, :at, 'bc-1', :q, 10.00, :c, :at)", id=order_id, at=at, q=quantity,
            c=cancelled)


def test_orders_daily_is_rebuilt_by_moscow_day(at_0006, monkeypatch):
    monkeypatch.delenv(BUSINESS_TZ_ENV, raising=False)
    insert_order(at_0006, "late-evening", "2026-03-01T20:30:00+00:00", 1)  # 23:30 Moscow, 1 Mar
    insert_order(at_0006, "after-midnight", "2026-03-01T21:30:00+00:00", 2)  # 00:30 Moscow, 2 Mar
    insert_order(at_0006, "cancelled", "2026-03-02T12:00:00+00:00", 4, cancelled=True)
    # The rollup as 0006 left it: one UTC day, plus a stale day that no order is on.
    execute(at_0006, """
        INSERT INTO supplybrain.orders_daily (day, channel, account_id, item_key, units_ordered,
            units_cancelled, units_net, revenue)
        VALUES ('2026-03-01', 'wb', 1, 'bc-1', 3, 0, 3, 30.00),
               ('2026-03-02', 'wb', 1, 'bc-1', 4, 4, 0, 0.00),
               ('2026-02-27', 'wb', 1, 'bc-1', 9, 0, 9, 90.00)""")

    migrate.upgrade(at_0006)

    assert fetch_all(at_0006, """SELECT day, units_ordered, units_cancelled, units_net, revenue
                                 FROM supplybrain.orders_daily ORDER BY day""") == [
        (date(2026, 3, 1), 1, 0, 1, Decimal("10.00")),
        (date(2026, 3, 2), 6, 4, 2, Decimal("20.00"))]
