"""Alembic environment of the application schema (online mode only).

``supplybrain_pipelines.db.migrate`` runs it with an open connection in
``config.attributes["connection"]``; no engine is built here and no logging is configured.
The version table lives in the application schema, which is created first if missing.
"""

from __future__ import annotations

from alembic import context

from supplybrain_pipelines.config import APP_SCHEMA

config = context.config


def _record_applied(ctx, step, heads, run_args) -> None:
    applied = config.attributes.get("applied_revisions")
    if applied is not None and step.is_upgrade and not step.is_stamp:
        applied.append(step.up_revision_id)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "Run the supplybrain migrations through supplybrain_pipelines.db.migrate.upgrade(), "
            "which passes the database connection to Alembic."
        )
    context.configure(
        connection=connection,
        version_table_schema=APP_SCHEMA,
        transaction_per_migration=False,
        on_version_apply=_record_applied,
    )
    with context.begin_transaction():
        # The version table is created before the first migration runs, so its schema first.
        context.execute(f'CREATE SCHEMA IF NOT EXISTS "{APP_SCHEMA}"')
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError(
        "The supplybrain migrations run online only (revision 0002 seeds rows); "
        "use supplybrain_pipelines.db.migrate.upgrade()."
    )
run_migrations_online()
