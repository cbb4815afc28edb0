"""``supplybrain``: the operator command.

Expected failures (no database, bad input) end with one sentence and exit code 1, no traceback.
"""

from __future__ import annotations

import click

from supplybrain_pipelines.cli.accounts import accounts
from supplybrain_pipelines.cli.alerts import alerts
from supplybrain_pipelines.cli.db import db
from supplybrain_pipelines.cli.doctor import doctor
from supplybrain_pipelines.cli.env import env
from supplybrain_pipelines.cli.sandbox import sandbox
from supplybrain_pipelines.config import (
    DATABASE_URL_ENV,
    DEFAULT_EMBEDDED_PORT,
    EMBEDDED_PORT_ENV,
    ConfigError,
    database_url_from_env,
    embedded_database_url,
    redact,
)
from supplybrain_pipelines.db.migrate import DatabaseUnavailable


def database_help() -> str:
    """Which database the commands use, worked out from this environment (for ``--help``)."""
    try:
        url = database_url_from_env()
    except ConfigError as exc:
        return str(exc)
    if url is not None:
        return f"The database is {redact(url)} ({DATABASE_URL_ENV})."
    return (f"The database is {redact(embedded_database_url())}: {DATABASE_URL_ENV} is unset, so "
            f"the embedded local default that `make dev` starts (port: {EMBEDDED_PORT_ENV}, "
            f"default {DEFAULT_EMBEDDED_PORT}).")


class _Group(click.Group):
    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help_text(ctx, formatter)
        with formatter.indentation():
            formatter.write_paragraph()
            formatter.write_text(database_help())


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Operate the Maconly Supply Brain pipelines."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
def dev(host: str, port: int) -> None:
    """Run the local default: PostgreSQL (embedded unless SUPPLYBRAIN_DATABASE_URL is set),
    migrations, and `dg dev`. Ctrl-C stops all of it."""
    from supplybrain_pipelines.devstack.dev import run_dev

    raise SystemExit(run_dev(host=host, port=port))


@cli.command(name="import")
@click.argument("directory", type=click.Path())
@click.option("--max-errors", default=20, show_default=True,
              help="Errors listed per file (0: all).")
@click.option("--progress", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True,
              help="Rows read and rows/s on stderr for a slow file (auto: if it is a terminal).")
@click.option("--progress-after", default=3.0, show_default=True, metavar="SECONDS",
              help="Show progress for files that take longer than this.")
def import_(directory: str, max_errors: int, progress: str, progress_after: float) -> None:
    """Load master data, settings, stock, orders and purchase orders from the CSV files in
    DIRECTORY (one file per table; docs/csv_import.md). Each file is all or nothing; exit
    code 1 when any file was not written."""
    from supplybrain_pipelines.importer import run_import

    raise SystemExit(run_import(directory, max_errors, progress, progress_after))


cli.add_command(db)
cli.add_command(accounts)
cli.add_command(alerts)
cli.add_command(doctor)
cli.add_command(env)
cli.add_command(sandbox)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except (DatabaseUnavailable, ConfigError) as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1) from None
