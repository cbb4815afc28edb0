"""The one MetaData that every table module registers its tables in, and column helpers.

Every table and column carries a one-line ``comment=``: its description, which ``supplybrain db
upgrade`` writes as the PostgreSQL COMMENT (``migrate.sync_comments``) and the assets show as
their Dagster column schema (``assets/_metadata.py``); a test fails on a column without one.

The naming convention gives every index, constraint and key a predictable name (the old backend
left most of them to PostgreSQL's defaults). Unique constraints that the old backend named keep
their names; the migrations spell every name out literally, so the history does not depend on it.
"""

from __future__ import annotations

import sqlalchemy as sa

from supplybrain_pipelines.config import APP_SCHEMA

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(schema=APP_SCHEMA, naming_convention=NAMING_CONVENTION)


def pk(comment: str = "Surrogate key.") -> sa.Column:
    """The integer surrogate key ``id`` (SERIAL, as in the old backend)."""
    return sa.Column("id", sa.Integer, primary_key=True, comment=comment)


def fk(name: str, target: str, *, nullable: bool = False, comment: str | None = None
       ) -> sa.Column:
    """An integer column referencing ``<target>.id`` in our schema, with an index of its own;
    described as a reference to ``target`` unless ``comment`` says more."""
    return sa.Column(
        name, sa.Integer, sa.ForeignKey(f"{APP_SCHEMA}.{target}.id"), nullable=nullable,
        index=True, comment=comment or f"The {target} row (its id).",
    )


def timestamp(name: str, comment: str | None = None) -> sa.Column:
    """A NOT NULL ``timestamptz`` that defaults to the time of the insert; ``comment`` is its
    one-line description (every column has one: PostgreSQL COMMENT, Dagster column schema)."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False,
                     server_default=sa.func.now(), comment=comment)


#: The descriptions of the usual audit timestamps.
CREATED_AT = "When the row was inserted."
UPDATED_AT = "When the row was last changed."
