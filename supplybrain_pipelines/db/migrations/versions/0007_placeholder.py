"""Business day and settings bounds (filled in by the time-zone/settings work)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"


def upgrade() -> None:
    pass
