"""``supplybrain env``: the environment of ``supplybrain dev``'s Dagster processes, as shell
exports, so that Dagster's own CLIs (``dg launch``, ``dg list defs``, ``dagster ...``) talk to
the local default with one command: ``eval "$(.venv/bin/supplybrain env)"``."""

from __future__ import annotations

import click

from supplybrain_pipelines.config import LOCAL_STATE_DIR, resolve_database_url


@click.command(name="env")
def env() -> None:
    """Print `export ...` lines for DAGSTER_HOME, DAGSTER_PG_* and SUPPLYBRAIN_DATABASE_URL, as
    `supplybrain dev` sets them (the database of SUPPLYBRAIN_DATABASE_URL, else the embedded
    local default): eval "$(.venv/bin/supplybrain env)", then e.g. `dg launch --job ingest`.
    Creates DAGSTER_HOME (a link to deploy/dagster.yaml) if missing."""
    from supplybrain_pipelines.devstack.environment import (
        dagster_env,
        prepare_dagster_home,
        shell_exports,
    )

    home = prepare_dagster_home(LOCAL_STATE_DIR / "dagster_home")
    click.echo(shell_exports(dagster_env(resolve_database_url(), home)))
