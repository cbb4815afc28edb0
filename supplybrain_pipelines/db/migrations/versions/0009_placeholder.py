"""Demand: one in-stock mask, TSB, first-activity evidence (filled in by the demand work)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SCHEMA = "supplybrain"


def upgrade() -> None:
    pass
