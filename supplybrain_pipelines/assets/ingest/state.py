"""Per-account ingestion state: active accounts, cursors, health, quarantine and unmatched items.

Every function takes the caller's connection, so a page's rows, its quarantined records and the
cursor move commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, Integer, Text, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, insert

from supplybrain_pipelines.assets.ingest.suspension import suspend_if_due
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.records import Rejected
from supplybrain_pipelines.logic.screening import record_digest, storable
from supplybrain_pipelines.logic.tokens import jwt_expiry, strip_secrets
from supplybrain_pipelines.resources.marketplace import Account, ApiError, ErrorClass
from supplybrain_pipelines.token_crypto import TokenKeyError, configured_keys, decrypt_token


def active_accounts(conn: Connection, kind: str, only: Iterable[int] | None = None,
                    skip: Callable[[str], None] | None = None) -> list[Account]:
    """The active accounts of ``kind`` (only the ids in ``only``, if given), tokens decrypted.

    Without any configured key: a ``TokenKeyError`` (one sentence, no token), and the run stops.
    An account whose token no configured key opens is left out with that sentence passed to
    ``skip`` (the run's logger), or, without ``skip``, the error is raised."""
    table = t.ACCOUNT_TABLES[kind]
    query = select(table.c.id, table.c.name, table.c.api_token_encrypted, table.c.base_url
                   ).where(table.c.is_active).order_by(table.c.id)
    if only is not None:
        query = query.where(table.c.id.in_(list(only)))
    rows = conn.execute(query).all()
    keys = configured_keys() if rows else None
    accounts = []
    for row in rows:
        try:
            token = decrypt_token(row.api_token_encrypted, keys,
                                  what=f"the token of {kind} account {row.id}")
        except TokenKeyError as exc:
            if skip is None:
                raise
            skip(f"{kind} account {row.id} skipped: {exc}")
            continue
        accounts.append(Account(kind=kind, id=row.id, name=row.name, token=token,
                                base_url=row.base_url))
    return accounts


def read_cursor(conn: Connection, account: Account, endpoint: str) -> datetime | None:
    c = t.ingest_cursors.c
    return conn.execute(select(c.cursor_at).where(
        c.account_kind == account.kind, c.account_id == account.id, c.endpoint == endpoint)
    ).scalar_one_or_none()


def advance_cursor(conn: Connection, account: Account, endpoint: str, raw: str,
                   at: datetime) -> None:
    """Move the cursor forward to ``at`` (never back)."""
    stmt = insert(t.ingest_cursors).values(account_kind=account.kind, account_id=account.id,
                                           endpoint=endpoint, cursor_raw=raw, cursor_at=at)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["account_kind", "account_id", "endpoint"],
        set_={"cursor_raw": raw, "cursor_at": at, "updated_at": func.now()},
        where=t.ingest_cursors.c.cursor_at < stmt.excluded.cursor_at,
    ))


def quarantine(conn: Connection, account: Account, endpoint: str,
               rejected: Iterable[Rejected], run_id: str | None) -> int:
    """Quarantine ``rejected`` records: how many. A record is one row per (account, endpoint,
    ``record_digest`` of the original record); seeing it again (the cursor's overlap, a retry)
    adds to ``sightings``, moves ``last_seen_at`` and takes the latest reason, while
    ``quarantined_at`` and ``run_id`` stay the first time's. The stored ``record`` is
    ``screening.storable``'s form (NUL and lone surrogates escaped, long text cut, with the
    original size in ``record_size``), with the token masked before anything is cut and
    secret-looking keys removed (``strip_secrets``)."""
    secrets = (account.token,)
    rows: dict[str, dict] = {}
    for r in rejected:
        digest = record_digest(r.record)
        if digest in rows:  # the same record twice in one call: one row, counted twice
            rows[digest]["sightings"] += 1
            continue
        form, size = storable(r.record, mask=lambda text: strip_secrets(text, secrets))
        rows[digest] = {"account_kind": account.kind, "account_id": account.id,
                        "endpoint": endpoint, "reason_code": r.reason_code,
                        "reason": strip_secrets(r.reason, secrets), "run_id": run_id,
                        "record": strip_secrets(form, secrets), "record_digest": digest,
                        "record_size": size, "sightings": 1}
    if rows:
        q = t.quarantine
        stmt = insert(q)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["account_kind", "account_id", "endpoint", "record_digest"],
            set_={"sightings": q.c.sightings + stmt.excluded.sightings,
                  "last_seen_at": func.now(), "reason_code": stmt.excluded.reason_code,
                  "reason": stmt.excluded.reason}), list(rows.values()))
    return sum(row["sightings"] for row in rows.values())


def note_unmatched(conn: Connection, source: str, account: Account,
                   items: dict[str, str]) -> None:
    """Record ``item_key → detail`` as unmatched (first and last seen). Two array parameters,
    however many items: one bind parameter per value would stop at 65 535."""
    if not items:
        return
    u = t.unmatched_items
    pairs = func.unnest(bindparam("keys", list(items), type_=ARRAY(Text)),
                        bindparam("details", list(items.values()), type_=ARRAY(Text))
                        ).table_valued("item_key", "detail").render_derived()
    stmt = insert(u).from_select(
        ["source", "account_id", "item_key", "detail"],
        select(literal(source, Text), literal(account.id, Integer), pairs.c.item_key,
               pairs.c.detail))
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["source", "account_id", "item_key"],
        set_={"last_seen_at": func.now(), "detail": stmt.excluded.detail}))


def record_health(conn: Connection, account: Account, endpoint: str,
                  error: ApiError | None = None) -> None:
    """One attempt of ``endpoint`` for ``account``: success resets the failure count. A 401/403
    extends the endpoint's ``consecutive_unauthorized`` streak (anything else resets it) and may
    suspend the account (``suspension.suspend_if_due``, same transaction)."""
    now = datetime.now(UTC)
    expires = jwt_expiry(account.token)
    days_left = None if expires is None else int((expires - now).total_seconds() // 86400)
    h = t.account_health
    values = {"account_kind": account.kind, "account_id": account.id, "endpoint": endpoint,
              "token_expires_at": expires, "token_days_left": days_left,
              "last_attempt_at": now}
    if error is None:
        values |= {"last_success_at": now, "consecutive_failures": 0,
                   "consecutive_unauthorized": 0}
        update = {**values}
    else:
        unauthorized = error.error_class is ErrorClass.UNAUTHORIZED
        values |= {"consecutive_failures": 1, "last_error_class": str(error.error_class),
                   "last_error_at": now, "last_error": str(error)[:500],
                   "consecutive_unauthorized": int(unauthorized)}
        update = {**values, "consecutive_failures": h.c.consecutive_failures + 1,
                  "consecutive_unauthorized": (h.c.consecutive_unauthorized + 1
                                               if unauthorized else 0)}
    stmt = insert(h).values(values)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["account_kind", "account_id", "endpoint"], set_=update))
    if error is not None and error.error_class is ErrorClass.UNAUTHORIZED:
        suspend_if_due(conn, t.ACCOUNT_TABLES[account.kind], account, error)
