"""What every asset reports in the Dagster UI: its owners, and its table's row count, column
schema and name."""

import dagster as dg
from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql

from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

OWNERS = ["team:supplybrain-data"]
_POSTGRES = postgresql.dialect()


def column_schema(table: Table) -> dg.TableSchema:
    """Each column's name, PostgreSQL type (as ``\\d+`` names it, e.g. ``TIMESTAMP WITH TIME
    ZONE``) and description: the ``comment=`` of its SQLAlchemy definition (db/tables/*.py,
    db/views.py), the text PostgreSQL has as the column's COMMENT."""
    return dg.TableSchema(columns=[
        dg.TableColumn(c.name, c.type.compile(dialect=_POSTGRES), description=c.comment)
        for c in table.columns])


def table_metadata(warehouse: PostgresWarehouse, table: Table, **extra) -> dict:
    """``dagster/row_count``, ``dagster/column_schema`` and ``dagster/table_name`` of ``table``,
    plus ``extra``."""
    with warehouse.transaction() as conn:
        count = conn.execute(select(func.count()).select_from(table)).scalar_one()
    return {"dagster/row_count": count, "dagster/column_schema": column_schema(table),
            "dagster/table_name": table.fullname, **extra}
