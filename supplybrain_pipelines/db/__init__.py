"""The application database: SQLAlchemy Core table metadata (``db.tables``), the forward-only
Alembic migrations shipped in ``db/migrations`` and the code that applies them (``db.migrate``).

Every table lives in the PostgreSQL schema ``supplybrain`` (``config.APP_SCHEMA``).
"""
