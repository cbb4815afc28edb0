"""Planning statements stay within PostgreSQL's limits at catalogue sizes (a VALUES list with
3 binds per SKU unit broke above 21 845 SKU units)."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from supplybrain_pipelines.assets.planning import demand, supply
from supplybrain_pipelines.checks import CHECKS
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import url_text

CATALOGUE = """
INSERT INTO supplybrain.article (code) SELECT 'A' || g FROM generate_series(1, 25) g;
INSERT INTO supplybrain.color (inner_code) SELECT 'C' || g FROM generate_series(1, 30) g;
INSERT INTO supplybrain.size (label, sort_order) SELECT 'S' || g, g FROM generate_series(1, 30) g;
INSERT INTO supplybrain.sku_unit (article_id, color_id, size_id)
SELECT a.id, c.id, s.id FROM supplybrain.article a, supplybrain.color c, supplybrain.size s;
"""


def test_supply_and_its_check_handle_22_500_sku_units(migrated_db_url, dagster_instance):
    engine = sa.create_engine(migrated_db_url)
    with engine.begin() as conn:
        for statement in CATALOGUE.split(";"):
            if statement.strip():
                conn.execute(sa.text(statement))
    result = dg.materialize([demand, supply, *CHECKS], instance=dagster_instance,
                            resources={"warehouse": PostgresWarehouse(
                                database_url=url_text(migrated_db_url))})
    assert result.success
    with engine.connect() as conn:
        history = conn.execute(sa.text("SELECT count(*) FROM supplybrain.stock_history")).scalar()
    engine.dispose()
    assert history == 22_500
    assert all(e.passed for e in result.get_asset_check_evaluations())
