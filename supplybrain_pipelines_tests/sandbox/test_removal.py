"""``supplybrain sandbox remove``: the sandbox's business leaves the database, the user's stays.

The business of seed 7 (``conftest.business``) has 12 articles (MC-1001..MC-1012), 13 sizes,
330 SKU units, 4 purchase orders, 2 WB accounts and 1 MoySklad account. Before the seed, the
database holds the user's own article ``USR-1`` in size ``S`` (a label the sandbox uses too, so
the seed does not insert it and it is never the sandbox's) and colour ``USR-RED``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from supplybrain_pipelines.cli import cli
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.devstack.sandbox import (
    deactivate_sandbox_accounts,
    has_real_accounts,
    seed_sandbox,
)
from supplybrain_pipelines.sandbox import removal
from supplybrain_pipelines.sandbox.removal import ACCOUNT_SCOPED, remove_sandbox, was_removed
from supplybrain_pipelines_tests.fixtures_db import engine, fetch_all


def scalar(url, sql: str):
    return fetch_all(url, sql)[0][0]


def _user_rows(conn: sa.Connection) -> None:
    article = conn.execute(sa.insert(t.article).values(code="USR-1", name="own")
                           .returning(t.article.c.id)).scalar_one()
    size = conn.execute(sa.insert(t.size).values(label="S").returning(t.size.c.id)).scalar_one()
    color = conn.execute(sa.insert(t.color).values(inner_code="USR-RED")
                         .returning(t.color.c.id)).scalar_one()
    conn.execute(sa.insert(t.sku_unit).values(article_id=article, color_id=color, size_id=size))


def _order(conn, channel: str, account_id: int, order_id: str, code: str) -> None:
    unit = conn.execute(sa.text(
        "SELECT u.id, u.article_id, u.color_id, u.size_id FROM supplybrain.sku_unit u "
        "JOIN supplybrain.article a ON a.id = u.article_id WHERE a.code = :code "
        "ORDER BY u.id LIMIT 1"), {"code": code}).one()
    now = datetime(2026, 5, 14, 12, tzinfo=UTC)
    conn.execute(sa.insert(t.orders).values(
        channel=channel, account_id=account_id, order_id=order_id, ordered_at=now,
        item_key=f"sku:{unit.id}", sku_unit_id=unit.id, article_id=unit.article_id,
        color_id=unit.color_id, size_id=unit.size_id, quantity=1, is_cancelled=False,
        last_change_at=now))


def _stock(conn, channel: str, account_id: int, code: str) -> None:
    unit = conn.execute(sa.text(
        "SELECT u.id, u.article_id FROM supplybrain.sku_unit u JOIN supplybrain.article a "
        "ON a.id = u.article_id WHERE a.code = :code ORDER BY u.id LIMIT 1"),
        {"code": code}).one()
    conn.execute(sa.insert(t.stock).values(
        channel=channel, account_id=account_id, location="NSK", item_key=f"sku:{unit.id}",
        sku_unit_id=unit.id, article_id=unit.article_id, quantity=5,
        as_of=datetime(2026, 5, 14, tzinfo=UTC)))


@pytest.fixture
def seeded(migrated_db_url, sandbox):
    """The user's rows, then the sandbox's seed, then rows of the running pipeline: a sandbox
    WB order of MC-1001 with its cursor and a planning-health row, stock of MC-1003 in a
    sandbox MoySklad store, and an imported order of MC-1002."""
    eng = engine(migrated_db_url)
    try:
        with eng.begin() as conn:
            _user_rows(conn)
            seed_sandbox(conn, sandbox)
            wb_id = conn.execute(sa.select(t.wb_integration_accounts.c.id)
                                 .order_by(t.wb_integration_accounts.c.id).limit(1)).scalar()
            _order(conn, "wb", wb_id, "srid-1", "MC-1001")
            _order(conn, "wb", 99, "own-1", "MC-1002")  # imported, for the user's account 99
            ms_id = conn.execute(sa.select(t.moysklad_integration_accounts.c.id)).scalar()
            _stock(conn, "own", ms_id, "MC-1003")  # a sandbox MoySklad store's stock
            conn.execute(sa.insert(t.ingest_cursors).values(
                account_kind="wb", account_id=wb_id, endpoint="orders", cursor_raw="x",
                cursor_at=datetime(2026, 5, 14, tzinfo=UTC)))
            conn.execute(sa.text("""
                INSERT INTO supplybrain.planning_health (run_id, article_id, as_of,
                    worst_cover_risk, sku_units, sku_units_to_produce, total_recommended,
                    dominant_constraint)
                SELECT 'r1', id, DATE '2026-05-15', 'ok', 1, 0, 0, 'none'
                FROM supplybrain.article WHERE code IN ('MC-1001', 'USR-1')"""))
        yield migrated_db_url, eng
    finally:
        eng.dispose()


def test_the_seed_records_only_the_rows_it_inserted(seeded):
    url, _ = seeded
    recorded = dict(fetch_all(url, "SELECT table_name, count(*) FROM supplybrain.sandbox_rows "
                                   "GROUP BY 1"))
    # 13 sizes of which S was the user's; 3 accounts; 12 articles; 330 SKU units.
    assert recorded["size"] == 12
    assert recorded["article"] == 12
    assert recorded["sku_unit"] == 330
    assert recorded["wb_integration_accounts"] == 2
    assert recorded["moysklad_integration_accounts"] == 1
    assert "global_planning_settings" not in recorded


def test_remove_takes_the_sandbox_out_and_keeps_the_users_rows(seeded):
    url, eng = seeded
    with eng.begin() as conn:
        done = remove_sandbox(conn)
    assert done.kept_articles == ["MC-1002"]  # an imported order names it
    assert done.deleted["wb_integration_accounts"] == 2
    assert done.deleted["moysklad_integration_accounts"] == 1
    assert done.deleted["article"] == 11
    assert done.deleted["orders"] == 1  # the sandbox's WB order; the imported one stays
    assert done.deleted["ingest_cursors"] == 1
    assert done.deleted["stock"] == 1  # MoySklad's store stock is channel 'own'
    assert done.deleted["planning_health"] == 1  # MC-1001's row, not USR-1's
    assert scalar(url, "SELECT count(*) FROM supplybrain.wb_integration_accounts") == 0
    assert scalar(url, "SELECT count(*) FROM supplybrain.moysklad_integration_accounts") == 0
    assert [r[0] for r in fetch_all(url, "SELECT code FROM supplybrain.article ORDER BY code")] \
        == ["MC-1002", "USR-1"]
    assert fetch_all(url, "SELECT channel, order_id FROM supplybrain.orders") == [
        ("wb", "own-1")]
    assert scalar(url, "SELECT count(*) FROM supplybrain.planning_health") == 1
    # MC-1002 keeps its 24 SKU units (4 colours × 6 sizes), USR-1 its one.
    assert scalar(url, "SELECT count(*) FROM supplybrain.sku_unit") == 25
    # Sizes: the user's S plus XS, M, L, XL, XXL that MC-1002 still names; the numeric seven go.
    assert [r[0] for r in fetch_all(url, "SELECT label FROM supplybrain.size ORDER BY label")] \
        == ["L", "M", "S", "XL", "XS", "XXL"]
    assert scalar(url, "SELECT count(*) FROM supplybrain.color WHERE inner_code = 'USR-RED'") \
        == 1
    assert scalar(url, "SELECT count(*) FROM supplybrain.global_planning_settings") == 1
    with eng.begin() as conn:
        assert was_removed(conn)
        assert removal.summary(conn) == {"accounts": 0, "articles": 0}


def test_a_second_remove_finds_nothing(seeded):
    _, eng = seeded
    with eng.begin() as conn:
        remove_sandbox(conn)
    with eng.begin() as conn:
        assert remove_sandbox(conn).deleted == {}


def test_seeding_again_clears_the_removed_marker(seeded, sandbox):
    _, eng = seeded
    with eng.begin() as conn:
        remove_sandbox(conn)
        seed_sandbox(conn, sandbox)
        assert not was_removed(conn)
        assert removal.summary(conn) == {"accounts": 3, "articles": 11}


def test_a_real_account_deactivates_the_sandbox_accounts(seeded):
    url, eng = seeded
    with eng.begin() as conn:
        conn.execute(sa.insert(t.wb_integration_accounts).values(
            name="own shop", api_token_encrypted="gAAAAAx", base_url=None))
        assert has_real_accounts(conn)
        assert deactivate_sandbox_accounts(conn) == 3
    assert fetch_all(url, "SELECT name, is_active FROM supplybrain.wb_integration_accounts "
                          "ORDER BY id") == [("maconly-wb-main", False),
                                             ("maconly-wb-outlet", False), ("own shop", True)]


def test_every_table_with_an_account_id_is_scoped():
    with_account = {table.name for table in t.metadata.sorted_tables
                    if "account_id" in table.c and table.name not in (
                        "wb_integration_accounts", "moysklad_integration_accounts")}
    assert with_account == set(ACCOUNT_SCOPED)


def test_cli_remove_and_the_offer_when_a_real_account_is_added(seeded, monkeypatch):
    url, _ = seeded
    monkeypatch.setenv("SUPPLYBRAIN_DATABASE_URL", url.render_as_string(hide_password=False))
    runner = CliRunner()
    added = runner.invoke(cli, ["accounts", "add", "--kind", "wb", "--name", "own shop",
                                "--no-check"], input="a-real-looking-token-1234\n")
    assert added.exit_code == 0, added.output
    assert "The sandbox's made-up business (3 accounts, 12 articles)" in added.output
    assert "supplybrain sandbox remove" in added.output
    removed = runner.invoke(cli, ["sandbox", "remove", "--yes"])
    assert removed.exit_code == 0, removed.output
    assert "kept (orders or stock of your own name them): MC-1002" in removed.output
    again = runner.invoke(cli, ["sandbox", "remove", "--yes"])
    assert again.output == "no sandbox business in this database; nothing removed\n"
    assert scalar(url, "SELECT name FROM supplybrain.wb_integration_accounts") == "own shop"


def test_the_removal_keeps_no_partial_state_on_failure(seeded, monkeypatch):
    """A failure half-way (after the accounts and articles are deleted) leaves every table as
    it was: the removal is one transaction."""
    url, eng = seeded
    before = scalar(url, "SELECT count(*) FROM supplybrain.article")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(removal, "_remove_leftovers", boom)
    with pytest.raises(RuntimeError), eng.begin() as conn:
        remove_sandbox(conn)
    assert scalar(url, "SELECT count(*) FROM supplybrain.article") == before
    assert scalar(url, "SELECT count(*) FROM supplybrain.wb_integration_accounts") == 2
