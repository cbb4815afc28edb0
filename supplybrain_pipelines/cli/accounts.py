"""``supplybrain accounts``: the WB and MoySklad integration accounts.

Tokens are read from a hidden prompt or from standard input, never from argv (where ``ps`` and
shell history would show them), and are never printed: ``list`` shows only the last 4 characters.
"""

from __future__ import annotations

import sys

import click
from sqlalchemy import func, insert, select, update

from supplybrain_pipelines.cli._session import transaction
from supplybrain_pipelines.db import tables as t

KINDS = {
    "wb": (t.wb_integration_accounts, "supplier_id"),
    "moysklad": (t.moysklad_integration_accounts, "account_id"),
}
kind_option = click.option("--kind", type=click.Choice(sorted(KINDS)), required=True,
                           help="Which marketplace or service the account belongs to.")


def mask_token(token: str) -> str:
    """``…`` and the last 4 characters, or only ``…`` for a token too short to hint at."""
    return f"…{token[-4:]}" if len(token) >= 16 else "…"


def _read_token() -> str:
    if sys.stdin.isatty():
        token = click.prompt("API token", hide_input=True, confirmation_prompt=True)
    else:
        token = sys.stdin.read()
    token = token.strip()
    if not token or any(ch.isspace() for ch in token):
        raise click.UsageError("The token read from the prompt or stdin is empty or contains "
                               "whitespace; pass exactly one token.")
    return token


@click.group()
def accounts() -> None:
    """Add, list and deactivate integration accounts."""


@accounts.command()
@kind_option
@click.option("--name", required=True, help="A label for the account, e.g. the shop name.")
@click.option("--external-id", default=None,
              help="WB supplier id or MoySklad account id (optional).")
@click.option("--base-url", default=None,
              help="API base URL override, e.g. the local sandbox; default: the real API.")
def add(kind: str, name: str, external_id: str | None, base_url: str | None) -> None:
    """Add an account. The token is read from a hidden prompt, or from stdin when piped."""
    table, id_column = KINDS[kind]
    token = _read_token()
    with transaction() as conn:
        new_id = conn.execute(
            insert(table).values({"name": name, id_column: external_id, "api_token": token,
                                  "base_url": base_url, "is_active": True})
            .returning(table.c.id)
        ).scalar_one()
    click.echo(f"added {kind} account {new_id} ({name}), token {mask_token(token)}")


@accounts.command(name="list")
@click.option("--kind", type=click.Choice(sorted(KINDS)), default=None,
              help="Only this kind (default: both).")
def list_(kind: str | None) -> None:
    """List accounts; tokens are masked."""
    rows = []
    with transaction() as conn:
        for name in sorted(KINDS) if kind is None else [kind]:
            table, id_column = KINDS[name]
            for row in conn.execute(select(table).order_by(table.c.id)).mappings():
                rows.append((name, str(row["id"]), row["name"], row[id_column] or "-",
                             "active" if row["is_active"] else "inactive",
                             row["base_url"] or "-", mask_token(row["api_token"])))
    if not rows:
        click.echo("no accounts; add one with `supplybrain accounts add --kind wb --name NAME`")
        return
    header = ("kind", "id", "name", "external id", "status", "base url", "token")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


@accounts.command()
@kind_option
@click.argument("account_id", type=int)
def deactivate(kind: str, account_id: int) -> None:
    """Deactivate an account: ingestion skips it from the next run on. The row is kept."""
    table, _ = KINDS[kind]
    with transaction() as conn:
        changed = conn.execute(
            update(table).where(table.c.id == account_id)
            .values(is_active=False, updated_at=func.now()).returning(table.c.id)
        ).first()
    if changed is None:
        raise click.ClickException(f"There is no {kind} account with id {account_id}; "
                                   "see `supplybrain accounts list`.")
    click.echo(f"deactivated {kind} account {account_id}")
