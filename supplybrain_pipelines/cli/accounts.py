"""``supplybrain accounts``: the WB and MoySklad integration accounts.

Tokens are read from a hidden prompt or from standard input, never from argv (where ``ps`` and
shell history would show them), and are never printed: ``list`` shows only the last 4 characters.

Tokens are stored encrypted under the key from ``SUPPLYBRAIN_TOKEN_KEY`` or
``SUPPLYBRAIN_TOKEN_KEY_FILE`` (``token_crypto.py``); ``rotate-key`` re-encrypts them all under a
new key, and ``new-key`` prints one. A missing or wrong key ends the command with one sentence.

``add`` refuses a token no HTTP header can carry and a base URL that is not an http(s) URL
(``logic/accounts.py``), then, unless ``--no-check``, makes one authenticated call (WB
``/ping``, MoySklad ``/context/employee``) and writes the account only if the API accepted the
token. ``activate`` brings back an account that was deactivated or that ingestion suspended
after repeated 401/403.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click
from sqlalchemy import func, insert, select, update

from supplybrain_pipelines.cli._session import transaction
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.accounts import base_url_problem, token_problem
from supplybrain_pipelines.token_crypto import (
    TokenKeys,
    configured_keys,
    decrypt_token,
    encrypt_token,
    generate_key,
    reencrypt_token,
    token_hint,
    write_key_file,
)

if TYPE_CHECKING:
    from supplybrain_pipelines.resources.marketplace import ApiError

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
    problem = token_problem(token)
    if problem is not None:
        raise click.ClickException(problem)
    return token


#: Per command: how a refusal starts, what to fix, and what --no-check would do.
_REFUSALS = {
    "add": ("Not added", "fix the token or --base-url", "add the account"),
    "activate": ("Not activated", "pass a working token with --new-token",
                 "activate the account"),
}


def _refusal(command: str, kind: str, host: str, error: ApiError) -> str:
    """One sentence saying why the check refused the account (never the token)."""
    from supplybrain_pipelines.resources.marketplace import ErrorClass

    label = "WB" if kind == "wb" else "MoySklad"
    status = f"HTTP {error.status}" if error.status is not None else "no answer"
    if error.error_class is ErrorClass.UNAUTHORIZED:
        why = f"the {label} API at {host} rejected the token ({status})"
    elif error.error_class is ErrorClass.NETWORK:
        why = f"{host} could not be reached ({error.hint})"
    else:
        why = f"the check call to {host} failed with {error.error_class} ({status}: {error.hint})"
    head, fix, action = _REFUSALS[command]
    return (f"{head}: {why}. Nothing was written; {fix}, or pass --no-check to {action} "
            "without checking.")


def _check(command: str, kind: str, token: str, base_url: str | None) -> str:
    """Make the check call; return the checked host, or end the command with one sentence.
    The clients are imported here: they pull in Dagster, which the other commands skip."""
    from supplybrain_pipelines.resources.marketplace import Account
    from supplybrain_pipelines.resources.marketplace.check import CHECK_TIMEOUT_S, check_account

    account = Account(kind=kind, id=0, name="new account", token=token, base_url=base_url)
    host = urlsplit(account.effective_base_url).hostname or account.effective_base_url
    error = check_account(account, timeout_s=CHECK_TIMEOUT_S)
    if error is not None:
        raise click.ClickException(_refusal(command, kind, host, error))
    return host


@click.group()
def accounts() -> None:
    """Add, list, deactivate and activate integration accounts."""


@accounts.command()
@kind_option
@click.option("--name", required=True, help="A label for the account, e.g. the shop name.")
@click.option("--external-id", default=None,
              help="WB supplier id or MoySklad account id (optional).")
@click.option("--base-url", default=None,
              help="API base URL override, e.g. the local sandbox; default: the real API.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Make one authenticated call (WB /ping, MoySklad /context/employee) and "
                   "write the account only if the API accepts it.")
def add(kind: str, name: str, external_id: str | None, base_url: str | None,
        check: bool) -> None:
    """Add an account. The token is read from a hidden prompt, or from stdin when piped."""
    table, id_column = KINDS[kind]
    if base_url is not None:
        problem = base_url_problem(base_url)
        if problem is not None:
            raise click.ClickException(problem)
    token = _read_token()
    keys = configured_keys()  # no key: one sentence before any call
    with transaction() as conn:
        # The database first (not migrated, not answering: one line, no call to the API).
        conn.execute(select(table.c.id).limit(0))
        checked = _check("add", kind, token, base_url) if check else None
        new_id = conn.execute(
            insert(table).values({"name": name, id_column: external_id,
                                  "api_token_encrypted": encrypt_token(token, keys),
                                  "token_hint": token_hint(token),
                                  "base_url": base_url, "is_active": True})
            .returning(table.c.id)
        ).scalar_one()
        left = sandbox_left(conn, base_url)
    how = f"accepted by {checked}" if checked else "not checked"
    click.echo(f"added {kind} account {new_id} ({name}), token {mask_token(token)}, {how}")
    if left:
        click.echo(left)


def sandbox_left(conn, base_url: str | None) -> str | None:
    """For a real account (not on loopback), the offer to remove the sandbox's business when
    it is still in the database."""
    from supplybrain_pipelines.devstack.sandbox import LOOPBACK_PREFIXES
    from supplybrain_pipelines.sandbox.removal import summary

    if base_url is not None and base_url.startswith(LOOPBACK_PREFIXES):
        return None
    left = summary(conn)
    if not any(left.values()):
        return None
    return (f"The sandbox's made-up business ({left['accounts']} accounts, {left['articles']} "
            "articles) is still in this database and would be planned with yours: "
            "`supplybrain sandbox remove` takes it out (before you import your own files).")


def _status(is_active: bool, suspended_at: object) -> str:
    if is_active:
        return "active"
    return "inactive" if suspended_at is None else "suspended"


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
                             _status(row["is_active"], row["suspended_at"]),
                             row["base_url"] or "-", f"…{row['token_hint']}"))
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
            .values(is_active=False, suspended_at=None, suspended_reason=None,
                    updated_at=func.now()).returning(table.c.id)
        ).first()
    if changed is None:
        raise _no_such_account(kind, account_id)
    click.echo(f"deactivated {kind} account {account_id}")


@accounts.command()
@kind_option
@click.argument("account_id", type=int)
@click.option("--new-token", is_flag=True,
              help="Replace the account's token first, read like `add` reads it (hidden prompt "
                   "or stdin).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Make one authenticated call and activate only if the API accepts the "
                   "(new) credentials.")
def activate(kind: str, account_id: int, new_token: bool, check: bool) -> None:
    """Activate an account again: a deactivated one, or one that ingestion suspended after
    repeated 401/403 (fix the token with --new-token). Its 401 streaks restart from 0; the
    account sync sensor then runs its sources from their cursors (90 days back at most)."""
    table, _ = KINDS[kind]
    h = t.account_health
    token = _read_token() if new_token else None
    keys = configured_keys() if token is not None or check else None
    with transaction() as conn:
        before = conn.execute(select(table.c.is_active, table.c.suspended_at,
                                     table.c.api_token_encrypted, table.c.base_url)
                              .where(table.c.id == account_id).with_for_update()).first()
        if before is None:
            raise _no_such_account(kind, account_id)
        if check:
            stored = token or decrypt_token(before.api_token_encrypted, keys,
                                            what=f"the token of {kind} account {account_id}")
            checked = _check("activate", kind, stored, before.base_url)
        else:
            checked = None
        values = {"is_active": True, "suspended_at": None, "suspended_reason": None}
        if token is not None:
            values |= {"api_token_encrypted": encrypt_token(token, keys),
                       "token_hint": token_hint(token)}
        if token is not None or not before.is_active:
            conn.execute(update(table).where(table.c.id == account_id)
                         .values(**values, updated_at=func.now()))
        conn.execute(update(h).where(h.c.account_kind == kind, h.c.account_id == account_id)
                     .values(consecutive_unauthorized=0))
    line = (f"{kind} account {account_id} is already active" if before.is_active
            else f"activated {kind} account {account_id}")
    if before.suspended_at is not None and not before.is_active:
        line += f" (suspended since {before.suspended_at:%Y-%m-%d %H:%M} UTC)"
    if token is not None:
        line += f", new token {mask_token(token)}"
    if checked:
        line += f", accepted by {checked}"
    click.echo(line)


def _no_such_account(kind: str, account_id: int) -> click.ClickException:
    return click.ClickException(f"There is no {kind} account with id {account_id}; "
                                "see `supplybrain accounts list`.")


@accounts.command(name="new-key")
def new_key() -> None:
    """Print a new random token key (Fernet), for SUPPLYBRAIN_TOKEN_KEY or a key file."""
    click.echo(generate_key())


@accounts.command(name="rotate-key")
@click.option("--generate", is_flag=True,
              help="Put a new key first in the key file (SUPPLYBRAIN_TOKEN_KEY_FILE or the "
                   "local .local/token.key), re-encrypt, then leave only the new key in it.")
def rotate_key(generate: bool) -> None:
    """Re-encrypt every stored token under the first configured key, in one transaction: with
    SUPPLYBRAIN_TOKEN_KEY=NEW,OLD every token ends under NEW; then drop OLD. A token that no
    configured key opens stops it, and nothing is written."""
    keys = configured_keys()
    new = None
    if generate:
        if keys.file is None:
            raise click.ClickException(
                f"--generate rewrites a key file, but the key comes from {keys.source}; put a "
                "new key (`supplybrain accounts new-key`) first in it, keep the old one after a "
                "comma, run `supplybrain accounts rotate-key`, then remove the old one.")
        new = generate_key()
        old = [key.decode("ascii") for key in keys.keys]
        _write_keys(keys, [new, *old])  # a crash from here on leaves a file that opens both
        keys = TokenKeys((new.encode("ascii"), *keys.keys), keys.source, keys.file)
    count = 0
    with transaction() as conn:
        for kind, (table, _) in sorted(KINDS.items()):
            rows = conn.execute(select(table.c.id, table.c.api_token_encrypted)
                                .order_by(table.c.id).with_for_update()).all()
            for row in rows:
                value = reencrypt_token(row.api_token_encrypted, keys,
                                        what=f"the token of {kind} account {row.id}")
                conn.execute(update(table).where(table.c.id == row.id)
                             .values(api_token_encrypted=value))
            count += len(rows)
    if new is not None:
        _write_keys(keys, [new])
        click.echo(f"re-encrypted {count} token(s) under a new key; {keys.file} holds only it "
                   "now (read again on every use: nothing to restart)")
    else:
        click.echo(f"re-encrypted {count} token(s) under the first key of {keys.source}; "
                   "every other key there can be removed now")


def _write_keys(keys: TokenKeys, values: list[str]) -> None:
    try:
        write_key_file(keys.file, values)
    except OSError as exc:
        raise click.ClickException(f"Cannot write the key file {keys.file} ({exc.strerror}); "
                                   "every token still opens with the keys in it.") from None
