"""``supplybrain db``: schema migrations."""

from __future__ import annotations

import os

import click

from supplybrain_pipelines.config import (
    APP_SCHEMA,
    DAGSTER_DB_ENV,
    DEFAULT_DAGSTER_DB,
    redact,
    resolve_database_url,
)
from supplybrain_pipelines.db.migrate import upgrade as run_upgrade
from supplybrain_pipelines.db.migrate import wait_for_database
from supplybrain_pipelines.devstack.embedded import create_missing_databases


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command()
@click.option("--timeout", default=30.0, show_default=True,
              help="Seconds to wait for the database to answer.")
@click.option("--create-databases", is_flag=True,
              help="Create the application database and Dagster's (DAGSTER_PG_DB) if missing; "
              "needs the CREATEDB privilege.")
def upgrade(timeout: float, create_databases: bool) -> None:
    """Apply the migrations (forward-only). Running it again changes nothing."""
    url = resolve_database_url()
    if create_databases:
        wait_for_database(url.set(database="postgres"), timeout_s=timeout)
        dagster_db = os.environ.get(DAGSTER_DB_ENV, DEFAULT_DAGSTER_DB)
        for name in create_missing_databases(url.set(database=url.database or APP_SCHEMA),
                                             dagster_db):
            click.echo(f"created database {name}")
    applied = run_upgrade(url, timeout_s=timeout)
    if applied:
        click.echo(f"{redact(url)}: applied {', '.join(applied)}")
    else:
        click.echo(f"{redact(url)}: already at the latest revision, nothing to do")
