"""The per-page helpers of the ingestion assets on real PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from supplybrain_pipelines.assets.ingest._run import drop_stale
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.records import WbOrder

ORDER = {"srid": "s-0", "date": "2026-03-04T18:08:31", "lastChangeDate": "2026-03-06T10:11:07",
         "barcode": "2037401340280", "totalPrice": 100, "isCancel": False}


def test_stale_check_handles_a_page_larger_than_the_bind_parameter_limit(migrated_db_url):
    # WB pages hold up to 80 000 rows; PostgreSQL allows 65 535 bind parameters per statement.
    rows = [WbOrder.model_validate({**ORDER, "srid": f"s-{n}"}) for n in range(70_000)]
    engine = sa.create_engine(migrated_db_url)
    with engine.begin() as conn:
        conn.execute(sa.insert(t.wb_orders).values(
            srid="s-69999", account_id=1, ordered_at=rows[0].date,
            last_change_at=rows[0].last_change + (rows[0].last_change - rows[0].date),
            barcode="2037401340280", is_cancel=False))
        keep, stale = drop_stale(conn, t.wb_orders, "srid", rows)
    engine.dispose()
    assert len(keep) == 69_999
    assert [r.reason_code for r in stale] == ["stale_duplicate"]
    assert stale[0].record["srid"] == "s-69999"
