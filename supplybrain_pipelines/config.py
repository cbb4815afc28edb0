"""Where the project's settings come from: environment variables and their derived URLs.

One place names every environment variable the code reads, so that README, dagster.yaml,
docker-compose.yml and the code agree.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url

#: SQLAlchemy URL of the application database (schema ``supplybrain``).
DATABASE_URL_ENV = "SUPPLYBRAIN_DATABASE_URL"
#: Port of the embedded PostgreSQL that ``supplybrain dev`` starts when no URL is given.
EMBEDDED_PORT_ENV = "SUPPLYBRAIN_EMBEDDED_PG_PORT"
#: Below Linux's ephemeral port range (32768-60999), which outgoing connections draw from.
DEFAULT_EMBEDDED_PORT = 25432
#: Name of the database that holds Dagster's run, event and schedule storage.
DAGSTER_DB_ENV = "DAGSTER_PG_DB"
DEFAULT_DAGSTER_DB = "dagster"

APP_SCHEMA = "supplybrain"
#: psycopg 3 for our own engines (COPY support); Dagster storage uses psycopg2 (dagster.yaml).
DRIVER = "postgresql+psycopg"

#: The repository root (workspace.yaml; instance config: deploy/dagster.yaml) of a source checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Where the local default keeps its state (embedded PostgreSQL data, DAGSTER_HOME).
STATE_DIR_ENV = "SUPPLYBRAIN_STATE_DIR"
#: Git-ignored default state folder of a source checkout.
LOCAL_STATE_DIR = Path(os.environ.get(STATE_DIR_ENV) or PROJECT_ROOT / ".local").resolve()


#: The Fernet key(s) that encrypt marketplace tokens at rest (token_crypto.py): comma-separated,
#: the first encrypts, every one decrypts. Or a file of keys, one a line (compose: a secret).
TOKEN_KEY_ENV = "SUPPLYBRAIN_TOKEN_KEY"
TOKEN_KEY_FILE_ENV = "SUPPLYBRAIN_TOKEN_KEY_FILE"
#: Without either, the local default's key file, created once by ``supplybrain dev``.
LOCAL_TOKEN_KEY_NAME = "token.key"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def normalize_database_url(url: str) -> URL:
    """Parse ``url`` and pin our driver (psycopg 3).

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, and we want that explicit, so
    ``postgres://`` and ``postgresql://`` are rewritten to ``postgresql+psycopg://``.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with the URL (and password) in it
        raise ConfigError(
            f"{DATABASE_URL_ENV} is not a valid database URL; expected "
            "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DBNAME."
        ) from exc
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ConfigError(
            f"{DATABASE_URL_ENV} must point at PostgreSQL, not {parsed.get_backend_name()!r}."
        )
    return parsed.set(drivername=DRIVER)


def database_url_from_env() -> URL | None:
    """The application database URL from the environment, or None when it is unset."""
    raw = os.environ.get(DATABASE_URL_ENV, "").strip()
    return normalize_database_url(raw) if raw else None


def dagster_storage_env(app_url: URL, db_name: str = DEFAULT_DAGSTER_DB) -> dict[str, str]:
    """The ``DAGSTER_PG_*`` variables that dagster.yaml reads, for a database beside ``app_url``.

    Dagster's storage lives in its own database on the same server as the application data.
    """
    return {
        "DAGSTER_PG_HOST": app_url.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(app_url.port or 5432),
        "DAGSTER_PG_USER": app_url.username or "postgres",
        "DAGSTER_PG_PASSWORD": app_url.password or "",
        DAGSTER_DB_ENV: db_name,
    }


def redact(url: URL | str) -> str:
    """A URL safe to print: the password is replaced by ``***``."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


def embedded_port() -> int:
    raw = os.environ.get(EMBEDDED_PORT_ENV, "").strip()
    return int(raw) if raw else DEFAULT_EMBEDDED_PORT


def embedded_database_url(database: str = APP_SCHEMA) -> URL:
    """URL of the local default: the embedded server that ``supplybrain dev`` runs."""
    return URL.create(DRIVER, username="postgres", host="127.0.0.1", port=embedded_port(),
                      database=database)


def resolve_database_url() -> URL:
    """``SUPPLYBRAIN_DATABASE_URL`` when set, else the embedded local default."""
    return database_url_from_env() or embedded_database_url()


def url_to_env(url: URL) -> str:
    """The URL as a string for a child process's environment (password included)."""
    return url.render_as_string(hide_password=False)


#: Seconds between two WB requests of one account and method (WB: 60; the sandbox: 0).
WB_MIN_INTERVAL_ENV = "SUPPLYBRAIN_WB_MIN_INTERVAL_SECONDS"


def wb_min_interval_seconds() -> float:
    raw = os.environ.get(WB_MIN_INTERVAL_ENV, "").strip()
    return float(raw) if raw else 60.0


#: IANA time zone of the brand's business day (daily rollups, as-of dates, stock history).
BUSINESS_TZ_ENV = "SUPPLYBRAIN_BUSINESS_TZ"
DEFAULT_BUSINESS_TZ = "Europe/Moscow"


def business_timezone_name() -> str:
    """The business time zone's IANA name (``SUPPLYBRAIN_BUSINESS_TZ``, default Europe/Moscow);
    ConfigError when the name is not a known zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = os.environ.get(BUSINESS_TZ_ENV) or DEFAULT_BUSINESS_TZ
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{BUSINESS_TZ_ENV}={name!r} is not a known IANA time zone; use a "
                          "name such as Europe/Moscow.") from None
    return name


def business_today():
    """Today's date in the business time zone (the default as-of date of planning)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(business_timezone_name())).date()
