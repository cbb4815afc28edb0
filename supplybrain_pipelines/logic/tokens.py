"""Token handling that never needs the token to be shown: JWT expiry and payload scrubbing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

SECRET_KEYS = ("token", "authorization", "password", "secret", "api_key", "apikey")


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT-shaped token (WB tokens are JWTs), or None.

    The signature is not checked: we only want to warn before the token expires.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
        return datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
    except (ValueError, KeyError, TypeError, OverflowError):
        return None


def strip_secrets(value: Any, secrets: tuple[str, ...] = ()) -> Any:
    """``value`` with secret-looking keys removed and any of ``secrets`` masked, recursively.

    Quarantined payloads pass through this before they are stored.
    """
    if isinstance(value, dict):
        return {k: strip_secrets(v, secrets) for k, v in value.items()
                if not any(word in str(k).lower() for word in SECRET_KEYS)}
    if isinstance(value, list):
        return [strip_secrets(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret and secret in value:
                value = value.replace(secret, "***")
    return value
