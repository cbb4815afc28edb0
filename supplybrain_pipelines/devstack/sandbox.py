"""The marketplace sandbox as part of the local default.

When the database holds no real account (one whose ``base_url`` does not point at loopback),
``supplybrain dev`` starts the sandbox, fills the master data from the same generated business
and registers the sandbox's WB and MoySklad accounts, so that a new user with no tokens sees the
whole pipeline work. The rows that seed inserts are recorded (``sandbox_rows``), so that
``supplybrain sandbox remove`` can take them out again (``sandbox/removal.py``).

Once a real account exists, the sandbox is not started, and its accounts (which would point at
a port where nothing answers) are deactivated. After ``supplybrain sandbox remove`` the sandbox
is not seeded again by ``supplybrain dev``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.sandbox import removal
from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.seed import load_master_data, register_accounts
from supplybrain_pipelines.sandbox.server import SandboxServer

SANDBOX_PORT_ENV = "SUPPLYBRAIN_SANDBOX_PORT"
DEFAULT_SANDBOX_PORT = 8765
LOOPBACK_PREFIXES = ("http://127.", "http://localhost", "http://[::1]")


def sandbox_port() -> int:
    raw = os.environ.get(SANDBOX_PORT_ENV, "").strip()
    return int(raw) if raw else DEFAULT_SANDBOX_PORT


def has_real_accounts(conn: sa.Connection) -> bool:
    """True when an active account points at a real API (not at a loopback sandbox)."""
    for table in (t.wb_integration_accounts, t.moysklad_integration_accounts):
        urls = conn.execute(sa.select(table.c.base_url).where(table.c.is_active)).scalars()
        if any(url is None or not url.startswith(LOOPBACK_PREFIXES) for url in urls):
            return True
    return False


def seed_sandbox(conn: sa.Connection, server: SandboxServer) -> dict[str, int]:
    """Master data and accounts of the sandbox's business, the rows it inserted recorded as
    the sandbox's; idempotent."""
    before = removal.existing_ids(conn)
    written = load_master_data(conn, server.business)
    register_accounts(conn, server.business, server.url)
    removal.record_seeded(conn, before)
    return written


def deactivate_sandbox_accounts(conn: sa.Connection) -> int:
    """Set the sandbox's accounts inactive (a real account exists, the sandbox is not served);
    returns how many were active."""
    count = 0
    for table in (t.wb_integration_accounts, t.moysklad_integration_accounts):
        ids = removal.seeded(conn, table.name)
        count += conn.execute(sa.update(table).where(table.c.id.in_(ids), table.c.is_active)
                              .values(is_active=False, updated_at=sa.func.now())).rowcount
    return count


def start_if_no_real_accounts(app_url: URL, port: int | None = None,
                              seed: int = 7) -> SandboxServer | None:
    """Start and seed the sandbox unless real accounts exist or it was removed; the caller
    stops it. With real accounts, the sandbox's accounts are deactivated."""
    engine = sa.create_engine(app_url, poolclass=NullPool, hide_parameters=True)
    try:
        with engine.begin() as conn:
            if has_real_accounts(conn):
                deactivate_sandbox_accounts(conn)
                return None
            if removal.was_removed(conn):
                return None
            server = SandboxServer(generate_business(seed=seed),
                                   port=sandbox_port() if port is None else port)
            server.start()
            try:
                seed_sandbox(conn, server)
            except BaseException:
                server.stop()
                raise
            return server
    finally:
        engine.dispose()
