"""Minimums' maximum cover and planning-health flags (filled in by the minimums work)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"


def upgrade() -> None:
    pass
