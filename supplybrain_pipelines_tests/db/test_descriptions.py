"""Column descriptions, one source: every table, view and column has a one-line ``comment=``
(db/tables/*.py, db/views.py); ``supplybrain db upgrade`` makes them the PostgreSQL COMMENTs;
the assets' ``dagster/column_schema`` carries them."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from supplybrain_pipelines.assets._metadata import column_schema
from supplybrain_pipelines.assets.planning import planning_health
from supplybrain_pipelines.config import APP_SCHEMA
from supplybrain_pipelines.db import migrate, tables
from supplybrain_pipelines.db.views import VIEWS
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all, url_text

RELATIONS = [*tables.metadata.sorted_tables, *VIEWS]

#: Every column of every table and view in the schema with its comment, and each relation's
#: own comment under the column name NULL.
STORED_COMMENTS = f"""
SELECT c.relname, NULL, obj_description(c.oid, 'pg_class')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = '{APP_SCHEMA}' AND c.relkind IN ('r', 'v') AND c.relname <> 'alembic_version'
UNION ALL
SELECT c.relname, a.attname, col_description(c.oid, a.attnum)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = '{APP_SCHEMA}' AND c.relkind IN ('r', 'v') AND c.relname <> 'alembic_version'
"""


def _bad_description(text: str | None) -> bool:
    return not text or not text.strip() or "\n" in text or text != text.strip()


def test_every_table_view_and_column_has_a_one_line_description():
    missing = [f"{relation.name}.{column.name}" for relation in RELATIONS
               for column in relation.columns if _bad_description(column.comment)]
    missing += [relation.name for relation in RELATIONS if _bad_description(relation.comment)]

    assert missing == [], f"no one-line comment= on: {', '.join(missing)}"


def test_the_description_check_fails_on_a_column_without_one(monkeypatch):
    monkeypatch.setattr(tables.article.c.code, "comment", None)
    with pytest.raises(AssertionError, match=r"article\.code"):
        test_every_table_view_and_column_has_a_one_line_description()


def test_every_view_of_the_schema_is_declared_with_its_columns(migrated_db_url):
    reflected = fetch_all(migrated_db_url, """
        SELECT table_name, array_agg(column_name::text ORDER BY column_name)
        FROM information_schema.columns
        WHERE table_schema = :schema
          AND table_name IN (SELECT table_name FROM information_schema.views
                             WHERE table_schema = :schema)
        GROUP BY table_name""", schema=APP_SCHEMA)
    declared = {view.name: sorted(column.name for column in view.columns) for view in VIEWS}

    assert dict(reflected) == declared


def test_postgres_comments_equal_the_declared_descriptions(migrated_db_url):
    stored = {(relation, column): comment for relation, column, comment
              in fetch_all(migrated_db_url, STORED_COMMENTS)}
    declared = {(relation.name, None): relation.comment for relation in RELATIONS}
    declared |= {(relation.name, column.name): column.comment
                 for relation in RELATIONS for column in relation.columns}

    assert stored == declared
    # What `\d+ supplybrain.planning_proposals` shows, word for word.
    assert stored[("planning_proposals", "recommended_quantity")] == (
        "Units to produce now: raw_quantity after the fabric, elastic and pack minimums "
        "(>= 0).")
    assert stored[("monitoring_status", "minutes_since_window")] == (
        "Whole minutes from window_start to now() when the view is read.")


def test_upgrade_restores_an_edited_comment_and_is_idempotent(migrated_db_url):
    execute(migrated_db_url, "COMMENT ON COLUMN supplybrain.article.code IS 'edited by hand'")
    execute(migrated_db_url, "COMMENT ON VIEW supplybrain.monitoring_status IS NULL")

    assert migrate.upgrade(migrated_db_url) == []

    assert fetch_all(migrated_db_url, """
        SELECT col_description(attrelid, attnum),
               obj_description('supplybrain.monitoring_status'::regclass, 'pg_class')
        FROM pg_attribute
        WHERE attrelid = 'supplybrain.article'::regclass AND attname = 'code'""") == [(
        "The article's code (model number), unique.",
        "The newest monitoring snapshot only, with its age in minutes.")]
    engine = sa.create_engine(migrated_db_url)
    with engine.connect() as conn:
        assert migrate.comment_statements(conn) == []
    engine.dispose()


def test_a_comment_is_quoted_as_a_literal(migrated_db_url, monkeypatch):
    text = "it's 100% :code \\d+ -- \"quoted\"; DROP TABLE x"
    monkeypatch.setattr(tables.article.c.code, "comment", text)

    migrate.upgrade(migrated_db_url)

    assert fetch_all(migrated_db_url, """
        SELECT col_description(attrelid, attnum) FROM pg_attribute
        WHERE attrelid = 'supplybrain.article'::regclass AND attname = 'code'""") == [(text,)]


def test_the_comments_are_written_in_the_upgrade_transaction(empty_db_url, monkeypatch):
    def fail_after_writing(connection):
        written = original(connection)
        assert written > 400  # a fresh database: every table, view and column
        raise RuntimeError("boom after the comments")

    original = migrate.sync_comments
    monkeypatch.setattr(migrate, "sync_comments", fail_after_writing)

    with pytest.raises(RuntimeError, match="boom after the comments"):
        migrate.upgrade(empty_db_url)

    assert migrate.current_revision(empty_db_url) is None
    assert fetch_all(empty_db_url, "SELECT to_regclass('supplybrain.article')") == [(None,)]


def test_column_schema_carries_each_description():
    schema = column_schema(tables.refresh_watermarks)

    assert [(c.name, c.type, c.description) for c in schema.columns] == [
        ("target", "TEXT", "The table refreshed incrementally (e.g. 'orders')."),
        ("watermark", "TIMESTAMP WITH TIME ZONE",
         "The next refresh reads raw rows with ingested_at at or after this."),
    ]


def test_a_materialisation_carries_the_column_descriptions(migrated_db_url, dagster_instance):
    result = dg.materialize([planning_health], instance=dagster_instance, resources={
        "warehouse": PostgresWarehouse(database_url=url_text(migrated_db_url))})

    assert result.success
    [materialization] = result.asset_materializations_for_node("planning_health")
    schema = materialization.metadata["dagster/column_schema"].schema
    described = {column.name: column.description for column in schema.columns}
    assert set(described) == {column.name for column in tables.planning_health.columns}
    assert described["sku_units_to_produce"] == (
        "SKU units of the article with a recommended quantity above zero.")
    assert all(described.values())
