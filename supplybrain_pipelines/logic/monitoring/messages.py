"""Notification messages: neutral events, and their bodies in the three webhook formats.

An *event* is a plain, JSON-safe dict that says what happened, independent of where it goes::

    {"kind": "status_change" | "run_failure", "source": "supplybrain",
     "title": "...", "text": "...", ...the fields of that kind}

:func:`render` turns an event into the JSON body of one webhook format:

* ``generic``  — the event itself;
* ``slack``    — a Slack incoming-webhook message (``text`` as the fallback, plus ``blocks``);
* ``telegram`` — a Telegram Bot API ``sendMessage`` body (``chat_id``, ``text``, ``parse_mode``).

:func:`scrub_text` and :func:`truncate` prepare free text (error messages) for a message: known
secrets and secret-shaped strings (JWTs, bearer tokens, bot tokens, URL passwords, Slack hook
paths) are masked, and the text is cut to a bounded length.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from supplybrain_pipelines.logic.tokens import strip_secrets

FORMATS = ("generic", "slack", "telegram")
KINDS = ("status_change", "run_failure")
SOURCE = "supplybrain"
#: Alerts listed in a message's text; the rest are counted ("… and 3 more").
MAX_ALERT_LINES = 10
#: Alerts carried in the event's ``alerts`` field.
MAX_ALERTS = 50
#: Error text kept in a run-failure event.
MAX_ERROR_CHARS = 1500
# Limits of the receiving APIs (Slack header/section block text, Telegram message text).
SLACK_HEADER_CHARS = 150
SLACK_SECTION_CHARS = 3000
TELEGRAM_TEXT_CHARS = 4096

MASK = "***"
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # user:password@ in any URL (database URLs, basic auth)
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/:@]+:[^\s/@]+@"), rf"\1{MASK}@"),
    # Slack incoming-webhook paths are the secret
    (re.compile(r"(hooks\.slack\.com/)[A-Za-z0-9/_-]+"), rf"\1{MASK}"),
    # Telegram bot tokens (123456789:AA…), with or without the /bot prefix of the API URL
    (re.compile(r"(?<![0-9])\d{5,}:[A-Za-z0-9_-]{30,}"), MASK),
    # JWTs (WB tokens are JWTs)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    # Authorization header values
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    # token=…, api_key: …, password=… in text, query strings and JSON
    (re.compile(r"(?i)\b([a-z_]*(?:token|api[_-]?key|password|secret|authorization))"
                r"(['\"]?\s*[=:]\s*['\"]?)[^\s,;&'\"}]+"), rf"\1\2{MASK}"),
)


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` and every secret-shaped substring replaced by ``***``.

    ``secrets`` are exact values known to be secret (account tokens, the webhook URL); the
    patterns catch what nobody listed. Empty secrets are ignored.
    """
    known = tuple(sorted((s for s in secrets if s), key=len, reverse=True))  # longest first
    text = strip_secrets(text, known)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marked with ``…`` when it was cut."""
    if limit < 1:
        raise ValueError(f"limit must be >= 1, not {limit}")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_safe(value: Any) -> Any:
    """``value`` with every part made JSON-serialisable: datetimes and dates as ISO-8601,
    Decimals as int or float, UUIDs as text, tuples and sets as lists, NaN/inf as None,
    mapping keys as text; anything else unknown as its ``str``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _number(value: Any) -> str:
    safe = json_safe(value)
    if isinstance(safe, float):
        return f"{safe:g}"
    return str(safe)


def _alert_line(alert: Mapping[str, Any]) -> str:
    name = alert.get("rule_name") or alert.get("name") or alert.get("metric") or "alert"
    line = f"[{alert.get('severity', '?')}] {name}"
    if alert.get("metric") is not None and alert.get("current_value") is not None:
        line += f": {alert['metric']} = {_number(alert['current_value'])}"
        if alert.get("threshold_type") and alert.get("threshold_value") is not None:
            line += f" ({alert['threshold_type']} {_number(alert['threshold_value'])})"
    return line


def status_change_event(*, window_start: datetime, previous: str | None, current: str,
                        critical_alerts: int, warning_alerts: int,
                        alerts: list[dict]) -> dict:
    """The event for a change of the overall monitoring status.

    ``previous`` is None for the first snapshot ever. ``alerts`` are the snapshot's alerts as
    dicts (``rule_name`` or ``name``, ``metric``, ``severity``, ``threshold_type``,
    ``threshold_value``, ``current_value``; missing keys are tolerated); critical ones are
    listed first. A naive ``window_start`` is taken as UTC.
    """
    window = _utc(window_start)
    ordered = sorted(alerts, key=lambda a: a.get("severity") != "critical")
    if previous is None:
        title = f"SupplyBrain status: {current}"
        opening = f"Overall status is {current} (first snapshot)"
    else:
        title = f"SupplyBrain status: {previous} → {current}"
        opening = f"Overall status changed from {previous} to {current}"
    lines = [f"{opening} for the window starting {window:%Y-%m-%d %H:%M} UTC: "
             f"{critical_alerts} critical, {warning_alerts} warning alert(s)."]
    lines += [f"• {_alert_line(a)}" for a in ordered[:MAX_ALERT_LINES]]
    if len(ordered) > MAX_ALERT_LINES:
        lines.append(f"… and {len(ordered) - MAX_ALERT_LINES} more")
    return {
        "kind": "status_change",
        "source": SOURCE,
        "title": title,
        "text": "\n".join(lines),
        "window_start": window.isoformat(),
        "previous_status": previous,
        "status": current,
        "critical_alerts": int(critical_alerts),
        "warning_alerts": int(warning_alerts),
        "alerts": json_safe(ordered[:MAX_ALERTS]),
    }


def run_failure_event(*, job_name: str, run_id: str, error: str | None) -> dict:
    """The event for a failed Dagster run. ``error`` should already be scrubbed (see
    :func:`scrub_text`); it is cut to :data:`MAX_ERROR_CHARS` here."""
    error = truncate(error.strip(), MAX_ERROR_CHARS) if error and error.strip() else None
    text = f"Run {run_id} of job {job_name} failed."
    if error:
        text += f"\n{error}"
    return {
        "kind": "run_failure",
        "source": SOURCE,
        "title": f"SupplyBrain run failed: {job_name}",
        "text": text,
        "job_name": job_name,
        "run_id": run_id,
        "error": error,
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fit(text: str, limit: int, escape) -> str:
    """``escape(text)`` within ``limit`` characters, cutting the raw text (never an entity):
    the longest raw prefix whose escaped form fits, found by bisection."""
    if len(escape(text)) <= limit:
        return escape(text)
    low, high = 1, min(len(text), limit)  # escape(truncate(text, n)) grows with n
    while low < high:
        mid = (low + high + 1) // 2
        if len(escape(truncate(text, mid))) <= limit:
            low = mid
        else:
            high = mid - 1
    return escape(truncate(text, low))[:limit]


def _slack(event: Mapping[str, Any]) -> dict:
    title, text = str(event.get("title", "")), str(event.get("text", ""))
    blocks: list[dict] = [
        {"type": "header",  # plain_text: no escaping
         "text": {"type": "plain_text", "text": truncate(title or SOURCE, SLACK_HEADER_CHARS)}},
        {"type": "section",
         "text": {"type": "mrkdwn", "text": _fit(text or " ", SLACK_SECTION_CHARS,
                                                 _slack_escape)}},
    ]
    context = [f"{key}: {event[key]}" for key in ("kind", "run_id", "window_start")
               if event.get(key)]
    if context:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": _slack_escape(" · ".join(context))}]})
    fallback = _fit(f"{title}\n{text}".strip(), SLACK_SECTION_CHARS, _slack_escape)
    return {"text": fallback, "blocks": blocks}


def _telegram(event: Mapping[str, Any], chat_id: str | None) -> dict:
    if not chat_id:
        raise ValueError("The telegram format needs a chat id (SUPPLYBRAIN_TELEGRAM_CHAT_ID).")
    title, text = str(event.get("title", "")), str(event.get("text", ""))
    head = f"<b>{html.escape(title, quote=False)}</b>"
    budget = TELEGRAM_TEXT_CHARS - len(head) - 1
    if budget > 0:
        escaped = _fit(text, budget, lambda t: html.escape(t, quote=False))
        return {"chat_id": chat_id, "text": f"{head}\n{escaped}".rstrip(), "parse_mode": "HTML"}
    # A title this long: plain text, cut to the limit.
    return {"chat_id": chat_id, "text": truncate(f"{title}\n{text}", TELEGRAM_TEXT_CHARS)}


def render(fmt: str, event: dict, *, telegram_chat_id: str | None = None) -> dict:
    """The JSON body that announces ``event`` in webhook format ``fmt``.

    ``generic`` is the event itself (made JSON-safe); ``slack`` is an incoming-webhook message;
    ``telegram`` is a Bot API ``sendMessage`` body for ``telegram_chat_id`` (required).
    Raises ValueError for an unknown format or a telegram body without a chat id.
    """
    if fmt == "generic":
        return json_safe(event)
    if fmt == "slack":
        return _slack(event)
    if fmt == "telegram":
        return _telegram(event, telegram_chat_id)
    raise ValueError(f"Unknown webhook format {fmt!r}; expected one of {', '.join(FORMATS)}.")
