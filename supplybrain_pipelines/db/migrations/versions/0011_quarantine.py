"""An idempotent quarantine: one row per distinct raw record, with how often it was seen.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

Reads start 30 minutes before the cursor and a failed page is read again, so the same bad
record used to be quarantined again by every run. Now a record is one row per (account kind,
account id, endpoint, ``record_digest``), and a new sighting adds to ``sightings`` and moves
``last_seen_at`` (``quarantined_at`` stays the first time):

- ``record_digest``: SHA-256 of the original raw record's canonical JSON
  (``logic/screening.record_digest``); ``record_size``: its JSON's length in characters, since
  the stored ``record`` may be escaped or cut (``logic/screening.storable``); ``sightings``;
  ``last_seen_at``.
- Existing rows get their digest in Python, with the same function, in batches of 5 000, from
  the stored record (which had its secrets stripped; nothing was cut then). Rows of the same
  record are merged into the first one (lowest id): sightings add up, ``last_seen_at`` is the
  latest ``quarantined_at``, the others are deleted. Then the unique index
  ``uq_quarantine_record`` is added.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from supplybrain_pipelines.logic.screening import record_digest

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"
BATCH = 5_000
log = logging.getLogger("supplybrain_pipelines.db.migrations")


def _backfill_digests(conn: sa.Connection) -> int:
    done, last_id = 0, 0
    while True:
        rows = conn.execute(sa.text(
            f"SELECT id, record FROM {SCHEMA}.quarantine WHERE id > :last ORDER BY id "
            "LIMIT :batch"), {"last": last_id, "batch": BATCH}).all()
        if not rows:
            return done
        conn.execute(sa.text(
            f"UPDATE {SCHEMA}.quarantine q SET record_digest = d.digest "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:digests AS text[])) AS d(id, digest) "
            "WHERE q.id = d.id"),
            {"ids": [row.id for row in rows],
             "digests": [record_digest(row.record) for row in rows]})
        done += len(rows)
        last_id = rows[-1].id


def upgrade() -> None:
    table = f"{SCHEMA}.quarantine"
    op.execute(f"ALTER TABLE {table} ADD COLUMN record_digest text, "
               "ADD COLUMN record_size integer, "
               "ADD COLUMN sightings integer NOT NULL DEFAULT 1, "
               "ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now()")
    op.execute(f"UPDATE {table} SET last_seen_at = quarantined_at")
    conn = op.get_bind()
    done = _backfill_digests(conn)
    merged = conn.execute(sa.text(f"""
        WITH groups AS (
            SELECT account_kind, account_id, endpoint, record_digest, min(id) AS keep,
                   count(*) AS seen, max(quarantined_at) AS latest
            FROM {table} GROUP BY 1, 2, 3, 4 HAVING count(*) > 1),
        kept AS (
            UPDATE {table} q SET sightings = g.seen, last_seen_at = g.latest
            FROM groups g WHERE q.id = g.keep RETURNING q.id)
        DELETE FROM {table} q USING groups g
        WHERE q.account_kind = g.account_kind AND q.account_id = g.account_id
          AND q.endpoint = g.endpoint AND q.record_digest = g.record_digest AND q.id <> g.keep
    """)).rowcount
    log.info("quarantine: %d rows given a digest, %d duplicates merged", done, merged)
    op.execute(f"ALTER TABLE {table} ALTER COLUMN record_digest SET NOT NULL")
    op.create_index("uq_quarantine_record", "quarantine",
                    ["account_kind", "account_id", "endpoint", "record_digest"], unique=True,
                    schema=SCHEMA)


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
