"""The packaged Alembic migrations against a real PostgreSQL: schema, drift, seeds, idempotence."""

from __future__ import annotations

import importlib.util
import re
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from supplybrain_pipelines.config import APP_SCHEMA, DATABASE_URL_ENV, DRIVER
from supplybrain_pipelines.db import migrate, tables
from supplybrain_pipelines.db.seeds import SEED_ALERT_RULES, seed_alert_rules
from supplybrain_pipelines.devstack.embedded import free_port

#: The shipped revisions, numbered 0001, 0002, … without gaps.
ALL_REVISIONS = migrate.all_revisions()
assert [f"{n:04d}" for n in range(1, len(ALL_REVISIONS) + 1)] == ALL_REVISIONS

EXPECTED_RULES = [
    ("Есть критические риски", "bundle_risk_critical", "above", 0, "critical", True),
    ("Слишком много warning", "bundle_risk_warning", "above", 5, "warning", True),
    ("Нет активных WB аккаунтов", "wb_accounts_active", "below", 1, "critical", True),
    ("Нет активных MS аккаунтов", "ms_accounts_active", "below", 1, "critical", True),
    ("Нет статей с финальным заказом", "articles_with_orders", "below", 1, "warning", True),
    ("Итоговый заказ отсутствует", "total_final_order_qty", "below", 1, "critical", True),
    ("Слишком много overstock", "bundle_risk_overstock", "above", 10, "warning", True),
    ("Много статей без данных", "bundle_risk_no_data", "above", 3, "warning", True),
    ("Подозрительно всё хорошо", "bundle_risk_ok", "below", 1, "warning", False),
    ("Слот запусков занят > 80% часа", "slot_busy_pct", "above", 80, "warning", True),
]
RULE_COLUMNS = "name, metric, threshold_type, threshold_value, severity, is_active"


def _engine(url: URL) -> sa.Engine:
    return sa.create_engine(url, poolclass=NullPool)


@pytest.fixture
def migrated_db_url(empty_db_url: URL) -> URL:
    migrate.upgrade(empty_db_url)
    return empty_db_url


def _rules(url: URL) -> list[tuple]:
    with _engine(url).connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT {RULE_COLUMNS} FROM {APP_SCHEMA}.monitoring_alert_rules ORDER BY id"
        ))
        return [tuple(row) for row in rows]


def _schema_description(url: URL) -> dict[str, dict]:
    """Everything about each table in the app schema that a migration can get wrong."""
    engine = _engine(url)
    inspector = sa.inspect(engine)
    described = {}
    for name in inspector.get_table_names(schema=APP_SCHEMA):
        if name == "alembic_version":
            continue
        described[name] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c["default"], c.get("comment"))
                for c in inspector.get_columns(name, schema=APP_SCHEMA)
            ],
            "comment": inspector.get_table_comment(name, schema=APP_SCHEMA)["text"],
            "pk": inspector.get_pk_constraint(name, schema=APP_SCHEMA),
            "fks": sorted(
                (fk["name"], tuple(fk["constrained_columns"]), fk["referred_schema"],
                 fk["referred_table"], tuple(fk["referred_columns"]))
                for fk in inspector.get_foreign_keys(name, schema=APP_SCHEMA)
            ),
            "indexes": sorted(
                (ix["name"], tuple(ix["column_names"]), ix["unique"])
                for ix in inspector.get_indexes(name, schema=APP_SCHEMA)
            ),
            "uniques": sorted(
                (uq["name"], tuple(uq["column_names"]))
                for uq in inspector.get_unique_constraints(name, schema=APP_SCHEMA)
            ),
            "checks": sorted(
                (ck["name"], ck["sqltext"])
                for ck in inspector.get_check_constraints(name, schema=APP_SCHEMA)
            ),
        }
    engine.dispose()
    return described


def _fingerprint(url: URL) -> dict:
    with _engine(url).connect() as conn:
        counts = {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in tables.metadata.sorted_tables
        }
        columns = [tuple(row) for row in conn.execute(sa.text(
            "SELECT table_name, column_name, ordinal_position, data_type, is_nullable, "
            "column_default FROM information_schema.columns WHERE table_schema = :schema "
            "ORDER BY table_name, ordinal_position"), {"schema": APP_SCHEMA})]
        rules = [tuple(row) for row in conn.execute(sa.text(
            f"SELECT * FROM {APP_SCHEMA}.monitoring_alert_rules ORDER BY id"))]
        versions = conn.execute(sa.text(
            f"SELECT version_num FROM {APP_SCHEMA}.alembic_version")).scalars().all()
    return {"counts": counts, "columns": columns, "rules": rules, "versions": versions}


def test_upgrade_on_an_empty_database_creates_the_schema_and_every_table(empty_db_url):
    assert migrate.current_revision(empty_db_url) is None

    applied = migrate.upgrade(empty_db_url)

    assert applied == ALL_REVISIONS
    assert migrate.head_revision() == ALL_REVISIONS[-1]
    assert migrate.current_revision(empty_db_url) == ALL_REVISIONS[-1]
    inspector = sa.inspect(_engine(empty_db_url))
    assert APP_SCHEMA in inspector.get_schema_names()
    assert set(inspector.get_table_names(schema=APP_SCHEMA)) == (
        {table.name for table in tables.metadata.sorted_tables} | {"alembic_version"}
    )


def test_upgrade_prints_nothing(empty_db_url, capfd):
    migrate.upgrade(empty_db_url)

    assert capfd.readouterr().out == ""


def test_concurrent_upgrades_apply_each_revision_once(empty_db_url):
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(migrate.upgrade(empty_db_url)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [[], [], ALL_REVISIONS]
    assert _rules(empty_db_url) == EXPECTED_RULES


def test_migrated_columns_match_tables_py(migrated_db_url):
    inspector = sa.inspect(_engine(migrated_db_url))
    for table in tables.metadata.sorted_tables:
        reflected = [(c["name"], c["nullable"])
                     for c in inspector.get_columns(table.name, schema=APP_SCHEMA)]
        declared = [(c.name, c.nullable) for c in table.columns]
        assert reflected == declared, table.name


def test_migrated_schema_equals_create_all_of_tables_py(migrated_db_url, make_database):
    """Types, defaults, keys, indexes and constraints too: migrations and tables.py agree."""
    from_metadata = make_database()
    engine = _engine(from_metadata)
    with engine.begin() as conn:
        conn.execute(sa.schema.CreateSchema(APP_SCHEMA))
        tables.metadata.create_all(conn)
    engine.dispose()

    migrated, declared = _schema_description(migrated_db_url), _schema_description(from_metadata)

    assert sorted(migrated) == sorted(declared)
    for name in declared:
        assert migrated[name] == declared[name], name


def test_every_foreign_key_column_has_an_index(migrated_db_url):
    for name, table in _schema_description(migrated_db_url).items():
        indexed = {columns[0] for _, columns, _ in table["indexes"]}
        for _, columns, *_ in table["fks"]:
            assert columns[0] in indexed, f"{name}.{columns[0]}"


def test_the_ten_seed_alert_rules_are_there(migrated_db_url):
    assert _rules(migrated_db_url) == EXPECTED_RULES
    assert [tuple(vars(rule).values()) for rule in SEED_ALERT_RULES] == EXPECTED_RULES


def test_upgrading_twice_changes_nothing(migrated_db_url):
    before = _fingerprint(migrated_db_url)

    assert migrate.upgrade(migrated_db_url) == []

    assert _fingerprint(migrated_db_url) == before
    assert before["counts"]["monitoring_alert_rules"] == 10
    assert before["versions"] == [ALL_REVISIONS[-1]]


def test_seeding_again_inserts_nothing_but_restores_an_edited_default(migrated_db_url):
    engine = _engine(migrated_db_url)
    with engine.begin() as conn:
        assert seed_alert_rules(conn) == []
    assert _rules(migrated_db_url) == EXPECTED_RULES

    # As in the old backend, a rule counts as present only if all six fields match.
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {APP_SCHEMA}.monitoring_alert_rules "
                             "SET threshold_value = 7 WHERE metric = 'bundle_risk_warning'"))
        assert len(seed_alert_rules(conn)) == 1
        assert seed_alert_rules(conn) == []
    assert len(_rules(migrated_db_url)) == 11


@pytest.mark.parametrize(
    "column, value",
    [("threshold_type", "sideways"), ("severity", "info"), ("threshold_value", -1)],
)
def test_check_constraints_reject_a_bad_rule(migrated_db_url, column, value):
    rule = {"name": "bad", "metric": "bundle_risk_ok", "threshold_type": "above",
            "threshold_value": 1, "severity": "warning", column: value}
    with pytest.raises(IntegrityError, match="ck_monitoring_alert_rules_"), \
            _engine(migrated_db_url).begin() as conn:
        conn.execute(tables.monitoring_alert_rules.insert().values(**rule))


def test_stock_balance_rejects_a_negative_quantity(migrated_db_url):
    with _engine(migrated_db_url).begin() as conn:
        article = conn.execute(tables.article.insert().values(code="A1")).inserted_primary_key[0]
        color = conn.execute(tables.color.insert().values(inner_code="C1")).inserted_primary_key[0]
        size = conn.execute(tables.size.insert().values(label="M")).inserted_primary_key[0]
        sku = conn.execute(tables.sku_unit.insert().values(
            article_id=article, color_id=color, size_id=size)).inserted_primary_key[0]
        warehouse = conn.execute(tables.warehouse.insert().values(
            code="NSK", name="Novosibirsk", type="internal")).inserted_primary_key[0]
    with pytest.raises(IntegrityError, match="ck_stock_balance_quantity_non_negative"), \
            _engine(migrated_db_url).begin() as conn:
        conn.execute(tables.stock_balance.insert().values(
            sku_unit_id=sku, warehouse_id=warehouse, quantity=-1))


def test_wait_for_database_on_a_closed_port_says_what_to_do(empty_db_url):
    url = URL.create(DRIVER, username="postgres", password="hunter2-secret", host="127.0.0.1",
                     port=free_port(), database="nothing_here")
    started = time.monotonic()

    with pytest.raises(migrate.DatabaseUnavailable) as caught:
        migrate.wait_for_database(url, timeout_s=2)

    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert 1.0 <= elapsed < 10, elapsed
    assert DATABASE_URL_ENV in message
    assert "hunter2-secret" not in message and "hunter2-secret" not in repr(caught.value)
    assert str(url.port) in message
    assert "\n" not in message and message.endswith(".")
    assert len(re.findall(r"[.!?](?:\s|$)", message)) == 1, message


def test_wait_for_database_fails_fast_when_the_database_does_not_exist(empty_db_url):
    started = time.monotonic()

    with pytest.raises(migrate.DatabaseUnavailable, match="does not exist"):
        migrate.wait_for_database(empty_db_url.set(database="no_such_db"), timeout_s=30)

    assert time.monotonic() - started < 5


def test_upgrade_of_an_unreachable_database_raises_database_unavailable():
    url = URL.create(DRIVER, username="postgres", host="127.0.0.1", port=free_port(),
                     database="x")
    with pytest.raises(migrate.DatabaseUnavailable):
        migrate.upgrade(url, timeout_s=0.5)


def test_downgrade_is_refused():
    for path in sorted((migrate.MIGRATIONS_DIR / "versions").glob("0*.py")):
        spec = importlib.util.spec_from_file_location(f"_migration_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with pytest.raises(NotImplementedError, match="forward-only"):
            module.downgrade()
