"""PostgresWarehouse on a migrated PostgreSQL: bulk upsert counts, idempotence, atomicity, COPY
escaping, column checks, and the EnvVar wiring inside a real materialization."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from supplybrain_pipelines.config import DATABASE_URL_ENV
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.resources.warehouse import (
    PostgresWarehouse,
    UpsertResult,
    bulk_upsert,
    warehouse_from_env,
)
from supplybrain_pipelines_tests.fixtures_db import (
    execute,
    fetch_all,
    url_text,
)

ARTICLES = [(f"ART-{i:04d}", f"Article {i}") for i in range(1000)]
COLUMNS = ["code", "name"]
KEY = ["code"]


@pytest.fixture
def warehouse(migrated_db_url: URL) -> PostgresWarehouse:
    return PostgresWarehouse(database_url=url_text(migrated_db_url))


def snapshot(url: URL) -> list[tuple]:
    """Every article with its row version (xmin): equal snapshots mean no row was rewritten."""
    return fetch_all(url, "SELECT id, code, name, xmin::text FROM supplybrain.article ORDER BY id")


def names(url: URL) -> dict[str, str | None]:
    return dict(fetch_all(url, "SELECT code, name FROM supplybrain.article"))


def test_load_rerun_change_and_insert_only(warehouse, migrated_db_url):
    assert warehouse.bulk_upsert(t.article, COLUMNS, ARTICLES, KEY) == UpsertResult(1000, 0)
    assert names(migrated_db_url) == dict(ARTICLES)
    before = snapshot(migrated_db_url)

    # The same rows again: nothing counted and no row rewritten (same xmin everywhere).
    assert warehouse.bulk_upsert(t.article, COLUMNS, ARTICLES, KEY) == UpsertResult(0, 0)
    assert snapshot(migrated_db_url) == before

    changed = {code: f"{name} (renamed)" for code, name in ARTICLES[100:110]}
    rows = [(code, changed.get(code, name)) for code, name in ARTICLES]
    result = warehouse.bulk_upsert(t.article, COLUMNS, rows, KEY)
    assert result == UpsertResult(inserted=0, updated=10)
    assert result.written == 10
    after = snapshot(migrated_db_url)
    rewritten = {row[1] for row, old in zip(after, before, strict=True) if row[3] != old[3]}
    assert rewritten == set(changed)
    assert names(migrated_db_url) == dict(rows)

    # update_columns=[]: existing rows keep their names, only new codes are inserted.
    overwrite = [(code, "SHOULD NOT BE WRITTEN") for code, _ in ARTICLES[:50]]
    fresh = [("NEW-1", "New one"), ("NEW-2", None)]
    result = warehouse.bulk_upsert(t.article, COLUMNS, overwrite + fresh, KEY, update_columns=[])
    assert result == UpsertResult(inserted=2, updated=0)
    final = snapshot(migrated_db_url)
    assert final[:1000] == after
    assert names(migrated_db_url) == {**dict(rows), **dict(fresh)}


#: A bad row and the error PostgreSQL reports for it (in the INSERT, or already in the COPY).
BAD_ROWS = {
    "null in a NOT NULL column": ((None, "no code"), psycopg.errors.NotNullViolation),
    "code longer than varchar(50)": (("X" * 51, "too long"),
                                     psycopg.errors.StringDataRightTruncation),
}


@pytest.mark.parametrize(("bad_row", "error"), BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_bad_row_writes_nothing(warehouse, migrated_db_url, bad_row, error):
    warehouse.bulk_upsert(t.article, COLUMNS, ARTICLES[:20], KEY)
    before = snapshot(migrated_db_url)
    batch = [(code, "changed") for code, _ in ARTICLES[:20]] + [("NEW-OK", "fine"), bad_row]
    with pytest.raises(error):
        warehouse.bulk_upsert(t.article, COLUMNS, batch, KEY)
    assert snapshot(migrated_db_url) == before


@pytest.mark.parametrize(("bad_row", "error"), BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_bad_row_rolls_back_the_whole_transaction(warehouse, migrated_db_url, bad_row, error):
    warehouse.bulk_upsert(t.article, COLUMNS, ARTICLES[:20], KEY)
    before = snapshot(migrated_db_url)
    with pytest.raises(error), warehouse.transaction() as conn:
        conn.execute(sa.insert(t.warehouse).values(code="NSK", name="Novosibirsk",
                                                   type="internal"))
        good = bulk_upsert(conn, t.article, COLUMNS, [("IN-TX", "written first")], KEY)
        assert good == UpsertResult(1, 0)  # the first upsert did go through in the transaction
        bulk_upsert(conn, t.article, COLUMNS, [("IN-TX-2", "x"), bad_row], KEY)
    assert snapshot(migrated_db_url) == before
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.warehouse") == [(0,)]


def test_two_upserts_in_one_transaction_commit_together(warehouse, migrated_db_url):
    with warehouse.transaction() as conn:
        first = bulk_upsert(conn, t.article, COLUMNS, ARTICLES[:5], KEY)
        second = bulk_upsert(conn, t.article, COLUMNS, [("ART-0000", "renamed"),
                                                        ("ART-9999", "new")], KEY)
    assert (first, second) == (UpsertResult(5, 0), UpsertResult(1, 1))
    assert names(migrated_db_url) == {**dict(ARTICLES[:5]), "ART-0000": "renamed",
                                      "ART-9999": "new"}


TRICKY = [
    ("tab\tcode", "a\tb"),
    ("newline", "line 1\nline 2\r\nline 3"),
    ("backslash\\", "C:\\path\\to\\new"),
    ("null-marker", "\\N"),
    ("quotes", "it's \"quoted\" `too`"),
    ("кириллица", "Платье летнее «Маконли» — ёжик, Ё"),
    ("null", None),
    ("empty", ""),
    ("separators", "a,b;c|d\x0bv\x0cf"),
    ("emoji", "🧵 нитки"),
]


def test_copy_round_trips_awkward_values(warehouse, migrated_db_url):
    assert warehouse.bulk_upsert(t.article, COLUMNS, TRICKY, KEY) == UpsertResult(10, 0)
    assert names(migrated_db_url) == dict(TRICKY)
    # Read back equal to what was sent, so loading them again changes nothing.
    assert warehouse.bulk_upsert(t.article, COLUMNS, TRICKY, KEY) == UpsertResult(0, 0)


@pytest.mark.parametrize(
    ("columns", "key", "update", "unknown"),
    [
        (["code", "titel"], ["code"], None, "titel"),
        (["code", "name"], ["kode"], None, "kode"),
        (["code", "name"], ["code"], ["nmae"], "nmae"),
    ],
    ids=["column", "key column", "update column"],
)
def test_unknown_column_raises_before_any_sql(warehouse, migrated_db_url, columns, key, update,
                                              unknown):
    with warehouse.transaction() as conn:
        with pytest.raises(ValueError, match=unknown):
            bulk_upsert(conn, t.article, columns, [("A", "B")], key, update)
        # No statement ran: the transaction is still usable and no staging table was made.
        staging = conn.execute(sa.text("SELECT to_regclass('pg_temp._stage_article')"))
        assert staging.scalar_one() is None
    assert snapshot(migrated_db_url) == []


def test_update_column_that_is_not_loaded_is_refused(warehouse, migrated_db_url):
    """Updating ``name`` from a load of only ``code`` would overwrite every name with NULL."""
    warehouse.bulk_upsert(t.article, COLUMNS, ARTICLES[:3], KEY)
    before = snapshot(migrated_db_url)
    with pytest.raises(ValueError, match="name"):
        warehouse.bulk_upsert(t.article, ["code"], [(c,) for c, _ in ARTICLES[:3]], KEY,
                              update_columns=["name"])
    assert snapshot(migrated_db_url) == before


@dg.asset
def env_wired_articles(warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    result = warehouse.bulk_upsert(t.article, COLUMNS, [("ENV-1", "через EnvVar")], KEY)
    return dg.MaterializeResult(metadata={"inserted": result.inserted})


@pytest.mark.parametrize(
    "make_resource",
    [lambda: PostgresWarehouse(database_url=dg.EnvVar("SUPPLYBRAIN_DATABASE_URL")),
     warehouse_from_env],
    ids=["EnvVar", "warehouse_from_env"],
)
def test_envvar_configured_resource_writes_in_a_real_materialization(
    migrated_db_url, monkeypatch, make_resource
):
    url = url_text(migrated_db_url)
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    result = dg.materialize([env_wired_articles], resources={"warehouse": make_resource()})
    assert result.success
    [materialization] = result.asset_materializations_for_node("env_wired_articles")
    assert materialization.metadata["inserted"].value == 1
    assert names(migrated_db_url) == {"ENV-1": "через EnvVar"}
    # The URL was resolved from the environment at run time, not written into the run config.
    assert migrated_db_url.database not in str(result.dagster_run.run_config)

    # The same code against another database follows the variable.
    execute(migrated_db_url, "DELETE FROM supplybrain.article")
    monkeypatch.setenv(DATABASE_URL_ENV, url.replace(migrated_db_url.database, "no_such_db"))
    failed = dg.materialize([env_wired_articles], resources={"warehouse": make_resource()},
                            raise_on_error=False)
    assert not failed.success
    assert names(migrated_db_url) == {}
