"""The one MetaData that every table module registers its tables in, and column helpers.

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


def pk() -> sa.Column:
    """The integer surrogate key ``id`` (SERIAL, as in the old backend)."""
    return sa.Column("id", sa.Integer, primary_key=True)


def fk(name: str, target: str, *, nullable: bool = False) -> sa.Column:
    """An integer column referencing ``<target>.id`` in our schema, with an index of its own."""
    return sa.Column(
        name, sa.Integer, sa.ForeignKey(f"{APP_SCHEMA}.{target}.id"), nullable=nullable, index=True
    )


def timestamp(name: str) -> sa.Column:
    """A NOT NULL ``timestamptz`` that defaults to the time of the insert."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())
