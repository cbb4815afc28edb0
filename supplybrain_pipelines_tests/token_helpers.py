"""Reading stored account rows in tests: the encrypted token column opened with the session's
test key (conftest.TEST_TOKEN_KEY), so assertions compare plain literals."""

from __future__ import annotations

from sqlalchemy.engine import URL

from supplybrain_pipelines.token_crypto import CIPHERTEXT_PREFIX, decrypt_token
from supplybrain_pipelines_tests.fixtures_db import fetch_all


def opened(rows: list[tuple]) -> list[tuple]:
    """``rows`` with every Fernet ciphertext replaced by the token it holds."""
    return [tuple(decrypt_token(v) if isinstance(v, str) and v.startswith(CIPHERTEXT_PREFIX)
                  else v for v in row) for row in rows]


def fetch_opened(url: URL, query: str, **params) -> list[tuple]:
    """``fetch_all`` with the encrypted tokens opened."""
    return opened(fetch_all(url, query, **params))
