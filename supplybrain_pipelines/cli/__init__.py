"""``supplybrain``: the operator command.

Expected failures (no database, bad input) end with one sentence and exit code 1, no traceback.
"""

from __future__ import annotations

import click

from supplybrain_pipelines.cli.accounts import accounts
from supplybrain_pipelines.cli.alerts import alerts
from supplybrain_pipelines.cli.db import db
from supplybrain_pipelines.cli.doctor import doctor
from supplybrain_pipelines.config import ConfigError
from supplybrain_pipelines.db.migrate import DatabaseUnavailable


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Operate the Maconly Supply Brain pipelines.

    The database is SUPPLYBRAIN_DATABASE_URL, or the embedded local default that `make dev`
    starts (127.0.0.1:25432) when it is unset.
    """


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
def dev(host: str, port: int) -> None:
    """Run the local default: PostgreSQL (embedded unless SUPPLYBRAIN_DATABASE_URL is set),
    migrations, and `dagster dev`. Ctrl-C stops all of it."""
    from supplybrain_pipelines.devstack.dev import run_dev

    raise SystemExit(run_dev(host=host, port=port))


@cli.command()
@click.option("--port", default=None, type=int,
              help="Loopback port (default: SUPPLYBRAIN_SANDBOX_PORT or 8765).")
@click.option("--seed", default=7, show_default=True, help="Seed of the generated business.")
@click.option("--register/--no-register", default=True, show_default=True,
              help="Load the business's master data and register its accounts (pointing at "
              "this sandbox) in the application database.")
def sandbox(port: int | None, seed: int, register: bool) -> None:
    """Serve the WB and MoySklad sandbox on loopback until Ctrl-C."""
    import time

    import sqlalchemy as sa

    from supplybrain_pipelines.config import resolve_database_url
    from supplybrain_pipelines.devstack.sandbox import sandbox_port, seed_sandbox
    from supplybrain_pipelines.sandbox.generator import generate_business
    from supplybrain_pipelines.sandbox.server import SandboxServer

    with SandboxServer(generate_business(seed=seed),
                       port=sandbox_port() if port is None else port) as server:
        if register:
            engine = sa.create_engine(resolve_database_url(), hide_parameters=True)
            with engine.begin() as conn:
                seed_sandbox(conn, server)
            engine.dispose()
            click.echo("master data loaded; sandbox accounts registered")
        click.echo(f"sandbox serving on {server.url} (MoySklad under /api/remap/1.2); "
                   "Ctrl-C stops it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            click.echo("sandbox stopped")


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


def main() -> None:
    try:
        cli(standalone_mode=True)
    except (DatabaseUnavailable, ConfigError) as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1) from None
