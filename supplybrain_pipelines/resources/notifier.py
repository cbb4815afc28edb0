"""The webhook notifier: one JSON POST per event, retried, recorded, and never raising.

:meth:`WebhookNotifier.send` renders an event (see ``logic/monitoring/messages.py``) in the
configured format, POSTs it, and records the outcome in ``supplybrain.monitoring_notifications``
under the caller's ``event_key`` (UNIQUE), so an event that was sent once is not sent again:

* no URL configured → ``disabled``: nothing is posted or recorded;
* ``event_key`` already recorded as ``sent`` → ``duplicate``: nothing is posted;
* otherwise up to ``max_attempts`` POSTs; 5xx, 429 (after its Retry-After, capped) and network
  errors are retried with exponential backoff, any other non-2xx answer is final;
* the row is upserted with ``sent`` or ``failed``; ``attempts`` adds up over re-sends. The
  body that was posted is stored as ``payload``, after the project's secret stripping (keys that
  look secret are dropped, URL parts masked) — the same body is what gets posted.

``sent`` means delivered *and* recorded; when the POST went through but the row could not be
written, the outcome is ``failed`` (a later send of the same key posts again: at least once).
Nothing here raises: a failure to notify must never fail the run that notifies.

The URL is a secret (Slack hook paths and Telegram bot tokens live in it). Only its
``scheme://host[:port]`` is stored (``destination``); errors and logs never contain it.
"""

import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import dagster as dg
import httpx
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from supplybrain_pipelines.db.tables import monitoring_notifications
from supplybrain_pipelines.logic.monitoring.messages import (
    FORMATS,
    KINDS,
    render,
    scrub_text,
    truncate,
)
from supplybrain_pipelines.logic.tokens import strip_secrets
from supplybrain_pipelines.resources.marketplace._base import header_seconds
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

WEBHOOK_URL_ENV = "SUPPLYBRAIN_WEBHOOK_URL"
WEBHOOK_FORMAT_ENV = "SUPPLYBRAIN_WEBHOOK_FORMAT"
TELEGRAM_CHAT_ID_ENV = "SUPPLYBRAIN_TELEGRAM_CHAT_ID"

#: Error text kept in the outcome and the row.
MAX_ERROR_CHARS = 500
#: Longest wait between two attempts, whatever the backoff or a Retry-After header says.
MAX_WAIT_SECONDS = 30.0

_LOG = logging.getLogger("supplybrain_pipelines.resources.notifier")

Status = Literal["sent", "failed", "duplicate", "disabled"]


@dataclass(frozen=True)
class NotificationOutcome:
    """What :meth:`WebhookNotifier.send` did. ``attempts`` counts this call's POSTs only."""

    status: Status
    attempts: int
    error: str | None = None


class _PostError(Exception):
    """One failed POST, already phrased without the URL."""

    def __init__(self, message: str, *, retryable: bool, retry_after_s: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s


class _RedactUrl(logging.Filter):
    """Masks the webhook URL in records of the ``httpx`` logger, which logs every request's
    full URL at INFO ("HTTP Request: POST https://…")."""

    def __init__(self, secrets: tuple[str, ...]):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            record.msg, record.args = scrub_text(message, self.secrets), None
        return True


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _PostError) and exc.retryable


def destination_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL (no user, path or query), else None."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of ``url`` that must never be shown: the URL itself, its path and query, and
    each path segment, user and password long enough to be a token."""
    try:
        parts = urlsplit(url.strip())
        user, password = parts.username, parts.password
    except ValueError:
        return (url,)
    pieces = [url, url.strip(), parts.path, parts.query, user or "", password or ""]
    pieces += [segment for segment in parts.path.split("/") if len(segment) >= 8]
    return tuple(sorted({p for p in pieces if p and p != "/"}, key=len, reverse=True))


class WebhookNotifier(dg.ConfigurableResource):
    """Posts monitoring events to one webhook (generic JSON, Slack or Telegram).

    Configure ``url`` with ``dg.EnvVar("SUPPLYBRAIN_WEBHOOK_URL")`` (see :func:`notifier_from_env`)
    so the URL never lands in the run config or the UI. Without a URL, notifications are off.
    """

    url: str | None = None
    format: str = "generic"
    telegram_chat_id: str | None = None
    max_attempts: int = 4
    backoff_seconds: float = 1.0
    timeout_seconds: float = 10.0

    def send(self, warehouse: PostgresWarehouse, *, event_key: str, kind: str,
             event: dict) -> NotificationOutcome:
        """Post ``event`` once per ``event_key`` and record the outcome; never raises.

        ``kind`` is ``status_change`` or ``run_failure``; ``event`` comes from
        ``logic/monitoring/messages`` (``status_change_event`` / ``run_failure_event``).
        """
        try:
            return self._send(warehouse, event_key, kind, event)
        except Exception as exc:  # the last guard: a notification never fails its caller
            error = self._describe(f"notifier error ({type(exc).__name__}: {exc})")
            _LOG.warning("Notification %s failed: %s", event_key, error)
            return NotificationOutcome("failed", 0, error)

    # -- steps ---------------------------------------------------------------------------------
    def _send(self, warehouse: PostgresWarehouse, event_key: str, kind: str,
              event: dict) -> NotificationOutcome:
        if not self.url or not self.url.strip():
            return NotificationOutcome("disabled", 0)
        fmt = (self.format or "generic").strip().lower()
        if fmt not in FORMATS:  # cannot be recorded either (CHECK on format)
            error = f"unknown webhook format {self.format!r}; use one of {', '.join(FORMATS)}"
            _LOG.warning("Notification %s not sent: %s", event_key, error)
            return NotificationOutcome("failed", 0, error)
        if kind not in KINDS:  # cannot be recorded (CHECK on kind): a caller's bug
            error = f"unknown notification kind {kind!r}; use one of {', '.join(KINDS)}"
            _LOG.warning("Notification %s not sent: %s", event_key, error)
            return NotificationOutcome("failed", 0, error)
        if self._already_sent(warehouse, event_key):
            return NotificationOutcome("duplicate", 0)

        secrets = url_secrets(self.url)
        destination = destination_of(self.url)
        attempts, error = 0, None
        try:
            payload = strip_secrets(
                render(fmt, event, telegram_chat_id=self.telegram_chat_id), secrets)
        except ValueError as exc:
            payload, error = strip_secrets(event, secrets), str(exc)
        if destination is None:
            error = f"{WEBHOOK_URL_ENV} is not an http(s) URL with a host"
        if error is None:
            attempts, error = self._post(payload)
        error = self._describe(error) if error else None
        status: Status = "sent" if error is None else "failed"
        if error:
            _LOG.warning("Notification %s failed after %d attempt(s): %s",
                         event_key, attempts, error)
        try:
            self._record(warehouse, event_key=event_key, kind=kind, fmt=fmt,
                         destination=destination or "(invalid url)", status=status,
                         attempts=attempts, error=error, payload=payload)
        except Exception as exc:
            note = self._describe(f"recording the outcome failed ({type(exc).__name__})")
            _LOG.warning("Notification %s: %s", event_key, note)
            prefix = "delivered, but " if status == "sent" else f"{error}; "
            return NotificationOutcome("failed", attempts, truncate(prefix + note,
                                                                    MAX_ERROR_CHARS))
        return NotificationOutcome(status, attempts, error)

    def _already_sent(self, warehouse: PostgresWarehouse, event_key: str) -> bool:
        """True when ``event_key`` is recorded as sent. If the table cannot be read, send anyway:
        a run failure caused by the database is exactly what must still be announced."""
        n = monitoring_notifications.c
        try:
            with warehouse.transaction() as conn:
                status = conn.execute(select(n.status).where(n.event_key == event_key)).scalar()
        except Exception as exc:
            _LOG.warning("Notification %s: could not check for an earlier send (%s); sending.",
                         event_key, type(exc).__name__)
            return False
        return status == "sent"

    def _post(self, payload: Any) -> tuple[int, str | None]:
        """POST with retries; (attempts made, None or the last error)."""
        attempts = 0

        def attempt(client: httpx.Client) -> None:
            nonlocal attempts
            attempts += 1
            self._post_once(client, payload)

        retrying = Retrying(stop=stop_after_attempt(max(1, self.max_attempts)),
                            wait=self._wait, retry=retry_if_exception(_retryable),
                            before_sleep=self._log_retry, sleep=time.sleep, reraise=True)
        headers = {"Content-Type": "application/json", "User-Agent": "supplybrain-notifier"}
        redact, httpx_log = _RedactUrl(url_secrets(self.url)), logging.getLogger("httpx")
        httpx_log.addFilter(redact)
        try:
            with httpx.Client(timeout=self.timeout_seconds, headers=headers,
                              follow_redirects=False) as client:
                retrying(attempt, client)
        except _PostError as exc:
            return attempts, str(exc)
        finally:
            httpx_log.removeFilter(redact)
        return attempts, None

    def _post_once(self, client: httpx.Client, payload: Any) -> None:
        try:
            response = client.post(self.url.strip(), json=payload)
        except httpx.TimeoutException as exc:
            raise _PostError(f"no answer within {self.timeout_seconds:g} s "
                             f"({type(exc).__name__})", retryable=True) from None
        except httpx.TransportError as exc:
            raise _PostError(f"the request failed ({type(exc).__name__}: {exc})",
                             retryable=True) from None
        code = response.status_code
        if 200 <= code < 300:
            return
        body = " ".join(response.text[:300].split())
        message = f"HTTP {code}" + (f": {body}" if body else "")
        if code == 429:
            raise _PostError(message, retryable=True,
                             retry_after_s=header_seconds(response.headers, "Retry-After"))
        raise _PostError(message, retryable=code >= 500)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _PostError) and exc.retry_after_s is not None:
            return min(exc.retry_after_s, MAX_WAIT_SECONDS)
        backoff = wait_exponential(multiplier=max(self.backoff_seconds, 0.0),
                                   max=MAX_WAIT_SECONDS)
        return backoff(state)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        _LOG.warning("Webhook attempt %d of %d failed (%s); retrying in %.2f s.",
                     state.attempt_number, self.max_attempts,
                     self._describe(str(exc)), wait)

    def _record(self, warehouse: PostgresWarehouse, *, event_key: str, kind: str, fmt: str,
                destination: str, status: str, attempts: int, error: str | None,
                payload: Any) -> None:
        n = monitoring_notifications
        row = {"event_key": event_key, "kind": kind, "format": fmt, "destination": destination,
               "status": status, "attempts": attempts, "error": error, "payload": payload}
        stmt = insert(n).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[n.c.event_key],
            set_={"kind": stmt.excluded.kind, "format": stmt.excluded.format,
                  "destination": stmt.excluded.destination, "status": stmt.excluded.status,
                  "attempts": n.c.attempts + stmt.excluded.attempts,
                  "error": stmt.excluded.error, "payload": stmt.excluded.payload,
                  "updated_at": func.now()})
        with warehouse.transaction() as conn:
            conn.execute(stmt)

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
