"""What an integration account must be before it is written, and when ingestion gives up on it.

Pure functions: the ``supplybrain accounts`` command and the ingestion assets call them. No
message here ever contains the token.

- **Token.** It travels in the ``Authorization`` header. Tokens of both vendors are printable
  ASCII without spaces (a WB JWT, a MoySklad hex or base64 string), so anything else, e.g. a
  control character pasted with it, can never authenticate: HTTP clients reject the header, or
  the API answers 400 on every call.
- **Base URL.** ``http`` or ``https``, a host, optionally a port and a path; no query, fragment
  or user name/password (endpoint paths are appended to it, and a password in a URL would be
  printed by ``accounts list``).
- **Suspension.** Every ingestion attempt of an endpoint for an account is one per ingest run.
  ``account_health.consecutive_unauthorized`` counts, per (account, endpoint), the attempts in a
  row that ended in 401/403 (``unauthorized``); a success or any other outcome resets it to 0.
  An account is suspended when every endpoint it has health for has a count of at least
  :data:`SUSPEND_AFTER_UNAUTHORIZED_RUNS`: that is, N ingest runs in a row in which every
  endpoint attempted answered 401/403. One endpoint that still works keeps the account in.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

#: Consecutive ingest runs whose every endpoint answered 401/403 before an account is suspended.
SUSPEND_AFTER_UNAUTHORIZED_RUNS = 3

_HEADER_SAFE = frozenset(chr(c) for c in range(0x21, 0x7F))  # visible ASCII, no space


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be an API token, as one sentence without the token; None if it can.

    Empty and whitespace-containing tokens are the caller's first check (they usually mean two
    tokens, or a blank line); this one names the first character no HTTP header can carry.
    """
    for position, char in enumerate(token, start=1):
        if char not in _HEADER_SAFE:
            what = ("a control character" if ord(char) < 0x20 or ord(char) == 0x7F
                    else "a space" if char == " " else "a non-ASCII character")
            return (f"The token contains {what} (U+{ord(char):04X}) at position {position}, "
                    "which no HTTP header can carry; paste the token exactly as the vendor "
                    "issued it.")
    return None


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an account's API base URL, as one sentence; None if it can."""
    shown = repr(url if len(url) <= 80 else url[:77] + "...")
    if any(not ch.isprintable() or ch.isspace() for ch in url):
        return f"--base-url {shown} contains spaces or control characters; it must be an " \
               "http(s) URL such as https://statistics-api.wildberries.ru."
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number in 0..65535
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"--base-url {shown} is not an http(s) URL such as " \
               "https://statistics-api.wildberries.ru."
    if parts.username is not None or parts.password is not None:
        return "--base-url must not carry a user name or password; the token authenticates."
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return f"--base-url {shown} must not have a query or fragment; endpoint paths are " \
               "appended to it."
    if port == 0:
        return f"--base-url {shown} names port 0, which no server listens on."
    return None


def due_for_suspension(unauthorized_streaks: Iterable[int],
                       threshold: int = SUSPEND_AFTER_UNAUTHORIZED_RUNS) -> bool:
    """True when an account's per-endpoint 401/403 streaks all reach ``threshold``.

    ``unauthorized_streaks`` holds ``consecutive_unauthorized`` of each endpoint the account has
    health for; no endpoint at all is no evidence, so it is not suspended.
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, not {threshold}")
    streaks = list(unauthorized_streaks)
    return bool(streaks) and min(streaks) >= threshold


def suspension_reason(status: int | None,
                      threshold: int = SUSPEND_AFTER_UNAUTHORIZED_RUNS) -> str:
    """The ``suspended_reason`` stored with a suspension (shown by ``accounts list``)."""
    answer = f"HTTP {status}" if status is not None else "401/403"
    return (f"every endpoint answered {answer} (token rejected) in {threshold} ingest runs in "
            "a row; fix the token, then `supplybrain accounts activate`")
