"""The webhook notifier: a notification outbox in PostgreSQL and its sender.

**Queue.** :meth:`WebhookNotifier.enqueue` writes an event (see ``logic/monitoring/messages``)
into ``supplybrain.monitoring_notifications`` with status ``pending``, *on the caller's
connection*, so it commits or rolls back with the state that causes it (the snapshot row; the
run-failure sensor's record). The body is rendered then, in the configured format, after the
project's secret stripping (keys that look secret dropped, URL parts masked). ``event_key`` is
UNIQUE: queuing the same event twice keeps one row.

**Send.** :meth:`WebhookNotifier.deliver` posts due events in the order they were queued (id),
at most ``batch_size`` per call and none started after ``time_budget_seconds``; the snapshot,
the run-failure sensor and the outbox sensor call it, so a pending event goes out on every
later snapshot or sensor tick. Only one sender runs at
a time (a PostgreSQL advisory lock; a second one returns at once). Each row is claimed with
``SELECT … FOR UPDATE SKIP LOCKED``, POSTed (``resources/webhook_post.py``: up to
``max_attempts`` times within the call, one HTTP client per call; 5xx, 429 after its
Retry-After, and network errors are retried with exponential backoff) and
marked in the transaction that claimed it: ``sent``, or ``failed``/``refused`` with the next
round's time (``logic/monitoring/delivery.next_attempt_at``: about doubling, 60 s to 1 h by
default), until ``expires_at`` (24 h by default), when it becomes ``expired``. A ``failed``
event (receiver down) holds back the later ones, so events arrive in order once it is back.

**At least once.** A ``sent`` row is never posted again. But a crash (or a lost database
connection) after the receiver accepted a POST and before the mark commits leaves the row
undelivered, and the next round posts it again. Every POST therefore carries the header
``Idempotency-Key: <event_key>``, the same on every retry, so a receiver can drop the repeat;
Slack and Telegram ignore the header, so there a repeat is possible in that crash window.

Nothing here raises from :meth:`deliver` or :meth:`send`: a failure to notify must never fail
the run that notifies. :meth:`enqueue` raises only what the caller's transaction raises.

The URL is a secret (Slack hook paths and Telegram bot tokens live in it). Only its
``scheme://host[:port]`` is stored (``destination``); errors and logs never contain it.
"""

import logging
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import dagster as dg
import httpx
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from supplybrain_pipelines.db.tables import monitoring_notifications
from supplybrain_pipelines.logic.monitoring.delivery import (
    UNDELIVERED,
    failure_status,
    holds_back,
    next_attempt_at,
)
from supplybrain_pipelines.logic.monitoring.messages import (
    FORMATS,
    KINDS,
    render,
    scrub_text,
    truncate,
)
from supplybrain_pipelines.logic.tokens import strip_secrets
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.resources.webhook_post import post_with_retries, webhook_client
from supplybrain_pipelines.resources.webhook_url import (  # noqa: F401 (re-exported)
    RedactUrl,
    destination_of,
    url_secrets,
)

WEBHOOK_URL_ENV = "SUPPLYBRAIN_WEBHOOK_URL"
WEBHOOK_FORMAT_ENV = "SUPPLYBRAIN_WEBHOOK_FORMAT"
TELEGRAM_CHAT_ID_ENV = "SUPPLYBRAIN_TELEGRAM_CHAT_ID"

#: Error text kept in the outcome and the row.
MAX_ERROR_CHARS = 500

_LOG = logging.getLogger("supplybrain_pipelines.resources.notifier")

#: Session-level advisory lock key of the one sender (any constant unique in the database).
SENDER_LOCK_KEY = 0x5B_0E7B0C5  # "sb outbox"

Status = Literal["sent", "failed", "refused", "queued", "duplicate", "disabled"]


@dataclass(frozen=True)
class NotificationOutcome:
    """What happened to one event. ``attempts`` counts this call's POSTs only; ``queued``
    means it waits in the outbox (held back by an earlier event, or its next round is later)."""

    status: Status
    attempts: int
    error: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One :meth:`WebhookNotifier.deliver` call: the outcome of each event it tried, how many
    it expired, how many still wait, and whether another sender held the lock."""

    outcomes: dict[str, NotificationOutcome] = field(default_factory=dict)
    expired: int = 0
    waiting: int = 0
    busy: bool = False
    error: str | None = None


class WebhookNotifier(dg.ConfigurableResource):
    """Queues monitoring events and posts them to one webhook (generic JSON, Slack or Telegram).

    Configure ``url`` with ``dg.EnvVar("SUPPLYBRAIN_WEBHOOK_URL")`` (see :func:`notifier_from_env`)
    so the URL never lands in the run config or the UI. Without a URL, notifications are off:
    nothing is queued or posted.
    """

    url: str | None = None
    format: str = "generic"
    telegram_chat_id: str | None = None
    max_attempts: int = 4
    backoff_seconds: float = 1.0
    timeout_seconds: float = 10.0
    #: Shortest and longest wait between two delivery rounds of one event.
    retry_base_seconds: float = 60.0
    retry_max_seconds: float = 3600.0
    #: An event not delivered this long after it was queued expires.
    expire_after_hours: float = 24.0
    #: Most events one :meth:`deliver` call posts, and the seconds after which it starts no
    #: further one (the rest wait for the next call): a sensor tick or a snapshot run that
    #: delivers stays short even when the receiver is slow. With the defaults, the worst case
    #: is an event started just before 10 s against a receiver that never answers (4 × 10 s
    #: timeouts + 7 s backoff): under a minute, Dagster's sensor evaluation timeout.
    batch_size: int = 50
    time_budget_seconds: float = 10.0

    # -- queue ---------------------------------------------------------------------------------
    def enqueue(self, conn: Connection, *, event_key: str, kind: str,
                event: dict) -> NotificationOutcome:
        """Queue ``event`` on ``conn`` (the caller's transaction); ``queued``, ``duplicate``
        (the key is already queued or sent), ``disabled`` (no URL) or ``failed`` (the format
        settings cannot render it; nothing queued, the reason in ``error``). Database errors
        propagate: the event and its cause commit together or not at all."""
        if not self.url or not self.url.strip():
            return NotificationOutcome("disabled", 0)
        fmt = (self.format or "generic").strip().lower()
        error = None
        if fmt not in FORMATS:  # cannot be stored either (CHECK on format)
            error = f"unknown webhook format {self.format!r}; use one of {', '.join(FORMATS)}"
        elif kind not in KINDS:  # CHECK on kind: a caller's bug
            error = f"unknown notification kind {kind!r}; use one of {', '.join(KINDS)}"
        else:
            try:
                payload = strip_secrets(render(fmt, event, telegram_chat_id=self.telegram_chat_id),
                                        url_secrets(self.url))
            except ValueError as exc:
                error = str(exc)
        if error:
            _LOG.warning("Notification %s not queued: %s", event_key, self._describe(error))
            return NotificationOutcome("failed", 0, self._describe(error))
        n = monitoring_notifications
        now = conn.execute(select(func.now())).scalar_one()
        stmt = insert(n).values(
            event_key=event_key, kind=kind, format=fmt, status="pending", attempts=0,
            destination=destination_of(self.url) or "(invalid url)", payload=payload,
            next_attempt_at=now, expires_at=now + timedelta(hours=self.expire_after_hours),
        ).on_conflict_do_nothing(index_elements=[n.c.event_key]).returning(n.c.id)
        queued = conn.execute(stmt).scalar_one_or_none() is not None
        return NotificationOutcome("queued" if queued else "duplicate", 0)

    def send(self, warehouse: PostgresWarehouse, *, event_key: str, kind: str,
             event: dict) -> NotificationOutcome:
        """Queue ``event`` in a transaction of its own, then :meth:`deliver`; never raises.

        The outcome is this event's: ``sent``, ``failed``/``refused`` (it stays queued),
        ``queued`` (it waits behind an earlier event), ``duplicate`` (already sent),
        ``disabled``. When the database cannot be reached the event is POSTed once directly
        (a database outage is exactly what a run failure may need to announce) and the
        outcome is ``failed`` ("delivered, but …" when the POST went through).
        """
        try:
            with warehouse.transaction() as conn:
                queued = self.enqueue(conn, event_key=event_key, kind=kind, event=event)
        except Exception as exc:
            return self._send_unrecorded(event_key, event, exc)
        if queued.status in ("disabled", "failed"):
            return queued
        delivery = self.deliver(warehouse)
        if event_key in delivery.outcomes:
            return delivery.outcomes[event_key]
        if delivery.error:
            return NotificationOutcome("failed", 0, delivery.error)
        return NotificationOutcome(self._status_of(warehouse, event_key), 0)

    # -- send ----------------------------------------------------------------------------------
    def deliver(self, warehouse: PostgresWarehouse) -> Delivery:
        """Post the due events of the outbox, oldest first; never raises (see the module)."""
        if not self.url or not self.url.strip():
            return Delivery()
        try:
            with warehouse.connection() as conn:
                return self._deliver(conn)
        except Exception as exc:
            error = self._describe(f"delivery stopped ({type(exc).__name__}: {exc})")
            _LOG.warning("Notification outbox: %s", error)
            return Delivery(error=error)

    def _deliver(self, conn: Connection) -> Delivery:
        with ExitStack() as stack:
            opened: list[httpx.Client] = []

            def client() -> httpx.Client:  # opened for the first due event, then reused
                if not opened:
                    opened.append(stack.enter_context(self._client()))
                return opened[0]

            return self._deliver_due(conn, client)

    def _deliver_due(self, conn: Connection, client: Callable[[], httpx.Client]) -> Delivery:
        if not conn.execute(select(func.pg_try_advisory_lock(SENDER_LOCK_KEY))).scalar_one():
            conn.commit()
            return Delivery(busy=True)
        conn.commit()
        n, outcomes = monitoring_notifications, {}
        try:
            with conn.begin():
                expired = conn.execute(
                    update(n).where(n.c.status.in_(UNDELIVERED), n.c.expires_at <= func.now())
                    .values(status="expired", updated_at=func.now())).rowcount
            after, started = 0, time.monotonic()
            for i in range(max(self.batch_size, 1)):
                if i and time.monotonic() - started >= self.time_budget_seconds:
                    break
                with conn.begin():
                    row = conn.execute(
                        select(n.c.id, n.c.event_key, n.c.status, n.c.payload, n.c.created_at,
                               n.c.next_attempt_at, func.now().label("now"))
                        .where(n.c.status.in_(UNDELIVERED), n.c.id > after,
                               n.c.expires_at > func.now())
                        .order_by(n.c.id).limit(1).with_for_update(skip_locked=True)
                    ).one_or_none()
                    if row is None:
                        break
                    after = row.id
                    if row.next_attempt_at > row.now:  # not due
                        if holds_back(row.status):
                            break
                        continue
                    outcome = self._deliver_row(conn, row, client)
                outcomes[row.event_key] = outcome
                if outcome.status == "failed":  # the receiver is down: keep the order
                    break
            with conn.begin():
                waiting = conn.execute(select(func.count()).select_from(n)
                                       .where(n.c.status.in_(UNDELIVERED))).scalar_one()
        finally:
            conn.rollback()
            conn.execute(select(func.pg_advisory_unlock(SENDER_LOCK_KEY)))
            conn.commit()
        return Delivery(outcomes, expired, waiting)

    def _deliver_row(self, conn: Connection, row,
                     client: Callable[[], httpx.Client]) -> NotificationOutcome:
        """POST one claimed row and mark it in the claiming transaction."""
        n = monitoring_notifications
        destination = destination_of(self.url)
        if destination is None:
            attempts, error, status = 0, f"{WEBHOOK_URL_ENV} is not an http(s) URL with a host", \
                "failed"
        else:
            attempts, error, code = self._post(client(), row.payload, row.event_key)
            status = "sent" if error is None else failure_status(code)
        values = {"status": status, "attempts": n.c.attempts + attempts, "updated_at": row.now,
                  "destination": destination or "(invalid url)"}
        if status == "sent":
            values.update(sent_at=row.now, error=None)
        else:
            error = self._describe(error)
            _LOG.warning("Notification %s %s after %d attempt(s): %s",
                         row.event_key, status, attempts, error)
            values.update(error=error, next_attempt_at=next_attempt_at(
                row.created_at, row.now, base_seconds=self.retry_base_seconds,
                max_seconds=self.retry_max_seconds))
        conn.execute(update(n).where(n.c.id == row.id).values(**values))
        return NotificationOutcome(status, attempts, error if status != "sent" else None)

    def _status_of(self, warehouse: PostgresWarehouse, event_key: str) -> Status:
        n = monitoring_notifications.c
        with warehouse.transaction() as conn:
            status = conn.execute(select(n.status).where(n.event_key == event_key)).scalar()
        return "duplicate" if status == "sent" else "queued"

    def _send_unrecorded(self, event_key: str, event: dict,
                         cause: Exception) -> NotificationOutcome:
        note = f"queuing it failed ({type(cause).__name__})"
        _LOG.warning("Notification %s: %s; posting it directly.", event_key, note)
        try:
            fmt = (self.format or "generic").strip().lower()
            payload = strip_secrets(render(fmt, event, telegram_chat_id=self.telegram_chat_id),
                                    url_secrets(self.url))
            if destination_of(self.url):
                with self._client() as client:
                    attempts, error, _ = self._post(client, payload, event_key)
            else:
                attempts, error = 0, f"{WEBHOOK_URL_ENV} is not an http(s) URL"
        except Exception as exc:
            attempts, error = 0, f"{type(exc).__name__}: {exc}"
        prefix = "delivered, but " if error is None else f"{error}; "
        return NotificationOutcome("failed", attempts, self._describe(prefix + note))

    def _client(self) -> AbstractContextManager[httpx.Client]:
        return webhook_client(self.url, self.timeout_seconds)

    def _post(self, client: httpx.Client, payload: Any,
              event_key: str) -> tuple[int, str | None, int | None]:
        return post_with_retries(client, self.url.strip(), payload, event_key,
                                 max_attempts=self.max_attempts,
                                 backoff_seconds=self.backoff_seconds,
                                 timeout_seconds=self.timeout_seconds, describe=self._describe)

    def _describe(self, text: str) -> str:
        """``text`` without the URL (or any part of it) and other secrets, cut to size."""
        secrets = url_secrets(self.url) if self.url else ()
        return truncate(scrub_text(text, secrets), MAX_ERROR_CHARS)


def notifier_from_env() -> WebhookNotifier:
    """The notifier as the code location configures it.

    ``SUPPLYBRAIN_WEBHOOK_URL`` is bound with ``dg.EnvVar`` (the UI shows the variable's name,
    not the URL) when it is set; unset, notifications are disabled.
    ``SUPPLYBRAIN_WEBHOOK_FORMAT`` is ``generic`` (default), ``slack`` or ``telegram``;
    ``SUPPLYBRAIN_TELEGRAM_CHAT_ID`` is the chat for the telegram format.
    """
    url = dg.EnvVar(WEBHOOK_URL_ENV) if os.environ.get(WEBHOOK_URL_ENV, "").strip() else None
    fmt = os.environ.get(WEBHOOK_FORMAT_ENV, "").strip().lower() or "generic"
    chat_id = os.environ.get(TELEGRAM_CHAT_ID_ENV, "").strip() or None
    return WebhookNotifier(url=url, format=fmt, telegram_chat_id=chat_id)
