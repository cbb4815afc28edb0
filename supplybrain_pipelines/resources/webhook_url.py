"""The webhook URL is a secret (Slack hook paths and Telegram bot tokens live in it): what of it
may be shown (``scheme://host[:port]``), which of its parts must be masked, and a filter that
masks them in the ``httpx`` logger's records."""

import logging
from urllib.parse import urlsplit

from supplybrain_pipelines.logic.monitoring.messages import scrub_text


class RedactUrl(logging.Filter):
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
