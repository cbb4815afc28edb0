"""Marketplace tokens encrypted at rest (issue 13).

``wb_integration_accounts`` and ``moysklad_integration_accounts`` lose the plain ``api_token``
and get ``api_token_encrypted`` (a Fernet token, CHECK ``LIKE 'gAAAAA%'``) and ``token_hint``
(the last 4 characters of a token of 16 or more, else empty; what ``accounts list`` shows).

Existing tokens are encrypted here under the configured key (``token_crypto.configured_keys``:
``SUPPLYBRAIN_TOKEN_KEY``, ``SUPPLYBRAIN_TOKEN_KEY_FILE`` or the local ``.local/token.key`` that
``supplybrain dev`` creates before it migrates). When tokens exist and no key is configured the
migration refuses with one sentence (a ``TokenKeyError``) and, as every migration runs in one
transaction, nothing changes; empty tables need no key.

The plain values stay in the tables' dead row versions and in the WAL until PostgreSQL reclaims
them: run ``VACUUM FULL`` on both tables after upgrading, and treat tokens that older backups hold
as exposed.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from supplybrain_pipelines.token_crypto import (
    TokenKeyError,
    configured_keys,
    encrypt_token,
    token_hint,
)

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"
TABLES = ("wb_integration_accounts", "moysklad_integration_accounts")
log = logging.getLogger(__name__)


def upgrade() -> None:
    conn = op.get_bind()
    plain = {table: conn.execute(sa.text(
        f"SELECT id, api_token FROM {SCHEMA}.{table} ORDER BY id")).all() for table in TABLES}
    count = sum(len(rows) for rows in plain.values())
    keys = configured_keys(required=False)
    if count and keys is None:
        raise TokenKeyError(
            f"Migration 0015 encrypts the {count} stored marketplace token(s) and needs a key: "
            "set SUPPLYBRAIN_TOKEN_KEY or SUPPLYBRAIN_TOKEN_KEY_FILE (`supplybrain accounts "
            "new-key` prints a new one) and upgrade again; nothing was changed.")
    for table in TABLES:
        op.add_column(table, sa.Column("api_token_encrypted", sa.Text, nullable=True),
                      schema=SCHEMA)
        op.add_column(table, sa.Column("token_hint", sa.Text, nullable=False,
                                       server_default=""), schema=SCHEMA)
        if plain[table]:
            conn.execute(
                sa.text(f"UPDATE {SCHEMA}.{table} SET api_token_encrypted = :encrypted, "
                        "token_hint = :hint WHERE id = :id"),
                [{"id": row.id, "encrypted": encrypt_token(row.api_token, keys),
                  "hint": token_hint(row.api_token)} for row in plain[table]])
        op.alter_column(table, "api_token_encrypted", nullable=False, schema=SCHEMA)
        op.drop_column(table, "api_token", schema=SCHEMA)
        op.create_check_constraint(f"ck_{table}_token_is_encrypted", table,
                                   "api_token_encrypted LIKE 'gAAAAA%'", schema=SCHEMA)
    if count:
        log.info("encrypted %d marketplace token(s) under the key from %s", count, keys.source)


def downgrade() -> None:
    raise NotImplementedError("forward-only migration")
