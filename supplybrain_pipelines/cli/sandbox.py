"""``supplybrain sandbox``: serve the marketplace sandbox, or take its business out of the
application database again (``sandbox remove``, ``sandbox/removal.py``)."""

from __future__ import annotations

from collections.abc import Callable

import click

from supplybrain_pipelines.cli._session import transaction


def effective_sandbox_port() -> str:
    from supplybrain_pipelines.devstack.sandbox import SANDBOX_PORT_ENV, sandbox_port

    try:
        return str(sandbox_port())
    except ValueError:
        return f"none: {SANDBOX_PORT_ENV} is not a port number"


class EffectiveDefault(click.Option):
    """An option whose ``[default: ...]`` in ``--help`` is the value this environment gives it
    (``effective()``, read when the help is printed), not a constant."""

    def __init__(self, *args, effective: Callable[[], str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.effective = effective

    def get_help_extra(self, ctx: click.Context) -> dict:
        extra = dict(super().get_help_extra(ctx))
        extra["default"] = self.effective()
        return extra


@click.group(invoke_without_command=True)
@click.option("--port", default=None, type=int, cls=EffectiveDefault,
              effective=effective_sandbox_port,
              help="Loopback port (SUPPLYBRAIN_SANDBOX_PORT, else 8765).")
@click.option("--seed", default=7, show_default=True, help="Seed of the generated business.")
@click.option("--register/--no-register", default=True, show_default=True,
              help="Load the business's master data and register its accounts (pointing at "
              "this sandbox) in the application database.")
@click.pass_context
def sandbox(ctx: click.Context, port: int | None, seed: int, register: bool) -> None:
    """Serve the WB and MoySklad sandbox on loopback until Ctrl-C (`sandbox remove`: take its
    business out of the database)."""
    if ctx.invoked_subcommand is not None:
        return
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


@sandbox.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def remove(yes: bool) -> None:
    """Remove the sandbox's business from the database: its accounts, its master data, and
    the raw and derived rows of both, plus the monitoring history; rows of your own stay.
    `supplybrain dev` does not seed the sandbox again afterwards."""
    from supplybrain_pipelines.sandbox.removal import remove_sandbox, summary

    with transaction() as conn:
        left = summary(conn)
        if not any(left.values()):
            click.echo("no sandbox business in this database; nothing removed")
            return
        if not yes:
            click.confirm(f"Remove the sandbox's {left['accounts']} accounts and "
                          f"{left['articles']} articles, with their orders, stock, plans and "
                          "the monitoring history?", abort=True)
        done = remove_sandbox(conn)
    counts = ", ".join(f"{table} {n}" for table, n in sorted(done.deleted.items()))
    click.echo(f"removed {done.total} rows ({counts})")
    if done.kept_articles:
        click.echo("kept (orders or stock of your own name them): "
                   + ", ".join(done.kept_articles))
