"""Planning outputs: demand, supply, stock history, proposals, bundle risk, planning health.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Adds ``article_planning_settings.pack_multiple`` (production quantities round up to it) and the
views ``planning_proposals_latest`` and ``planning_health_latest`` (the newest run's rows).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LATEST_VIEWS = {
    "planning_proposals_latest": "planning_proposals",
    "planning_health_latest": "planning_health",
}


def upgrade() -> None:
    op.create_table(
        "bundle_risk",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("bundle_type_id", sa.Integer(), nullable=False),
        sa.Column("wb_ready", sa.Float(), nullable=False),
        sa.Column("potential_from_singles", sa.Float(), nullable=False),
        sa.Column("total_available", sa.Float(), nullable=False),
        sa.Column("avg_daily", sa.Float(), nullable=False),
        sa.Column("days_of_cover", sa.Float(), nullable=True),
        sa.Column("safety_days", sa.Integer(), nullable=False),
        sa.Column("alert_days", sa.Integer(), nullable=False),
        sa.Column("overstock_days", sa.Integer(), nullable=False),
        sa.Column("risk_level", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "risk_level IN ('critical', 'warning', 'ok', 'overstock', 'no_data')",
            name=op.f("ck_bundle_risk_risk_level"),
        ),
        sa.PrimaryKeyConstraint("article_id", "bundle_type_id", name=op.f("pk_bundle_risk")),
        schema="supplybrain",
    )
    op.create_table(
        "demand",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("sku_unit_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("color_id", sa.Integer(), nullable=False),
        sa.Column("size_id", sa.Integer(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("units_single", sa.Float(), nullable=False),
        sa.Column("units_from_bundles", sa.Float(), nullable=False),
        sa.Column("days_used", sa.Integer(), nullable=False),
        sa.Column("days_basis", sa.Text(), nullable=False),
        sa.Column("history_complete", sa.Boolean(), nullable=False),
        sa.Column("velocity", sa.Float(), nullable=False),
        sa.Column("sigma_daily", sa.Float(), nullable=False),
        sa.Column("adi", sa.Float(), nullable=True),
        sa.Column("cv2", sa.Float(), nullable=True),
        sa.Column("demand_class", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "days_basis IN ('in_stock', 'calendar', 'since_first_stock')",
            name=op.f("ck_demand_days_basis"),
        ),
        sa.PrimaryKeyConstraint("sku_unit_id", name="pk_demand"),
        schema="supplybrain",
    )
    op.create_table(
        "demand_barcode",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("barcode", sa.Text(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("bundle_type_id", sa.Integer(), nullable=True),
        sa.Column("size_id", sa.Integer(), nullable=True),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("avg_daily", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("barcode", name=op.f("pk_demand_barcode")),
        schema="supplybrain",
    )
    op.create_table(
        "planning_health",
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("worst_risk", sa.Text(), nullable=False),
        sa.Column("sku_units", sa.Integer(), nullable=False),
        sa.Column("sku_units_to_produce", sa.Integer(), nullable=False),
        sa.Column("total_recommended", sa.Integer(), nullable=False),
        sa.Column("dominant_constraint", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "worst_risk IN ('critical', 'warning', 'ok', 'overstock', 'no_data')",
            name=op.f("ck_planning_health_worst_risk"),
        ),
        sa.PrimaryKeyConstraint("run_id", "article_id", name=op.f("pk_planning_health")),
        schema="supplybrain",
    )
    op.create_table(
        "planning_proposals",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sku_unit_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("color_id", sa.Integer(), nullable=False),
        sa.Column("size_id", sa.Integer(), nullable=False),
        sa.Column("demand_rate", sa.Float(), nullable=False),
        sa.Column("sigma_daily", sa.Float(), nullable=False),
        sa.Column("on_hand", sa.Float(), nullable=False),
        sa.Column("on_order_within_lead", sa.Float(), nullable=False),
        sa.Column("position", sa.Float(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("target_coverage_days", sa.Integer(), nullable=False),
        sa.Column("service_level", sa.Float(), nullable=False),
        sa.Column("safety_stock", sa.Float(), nullable=False),
        sa.Column("reorder_point", sa.Float(), nullable=False),
        sa.Column("target_level", sa.Float(), nullable=False),
        sa.Column("raw_quantity", sa.Integer(), nullable=False),
        sa.Column("recommended_quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("days_of_cover", sa.Float(), nullable=True),
        sa.Column("stockout_date", sa.Date(), nullable=True),
        sa.Column("risk_level", sa.Text(), nullable=False),
        sa.Column("limiting_constraint", sa.Text(), nullable=False),
        sa.Column("explanation", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.CheckConstraint(
            "risk_level IN ('critical', 'warning', 'ok', 'overstock', 'no_data')",
            name=op.f("ck_planning_proposals_risk_level"),
        ),
        sa.CheckConstraint(
            "recommended_quantity >= 0", name=op.f("ck_planning_proposals_recommended_non_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planning_proposals")),
        sa.UniqueConstraint("run_id", "sku_unit_id", name="uq_planning_proposals_run_sku"),
        schema="supplybrain",
    )
    op.create_index(
        "ix_planning_proposals_computed_at",
        "planning_proposals",
        ["computed_at"],
        unique=False,
        schema="supplybrain",
    )
    op.create_table(
        "stock_history",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sku_unit_id", sa.Integer(), nullable=False),
        sa.Column("available", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "sku_unit_id", name=op.f("pk_stock_history")),
        schema="supplybrain",
    )
    op.create_table(
        "supply",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("sku_unit_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("color_id", sa.Integer(), nullable=False),
        sa.Column("size_id", sa.Integer(), nullable=False),
        sa.Column("own_stock", sa.Float(), nullable=False),
        sa.Column("wb_single_stock", sa.Float(), nullable=False),
        sa.Column("wb_bundle_stock", sa.Float(), nullable=False),
        sa.Column("in_transit_to_client", sa.Float(), nullable=False),
        sa.Column("in_transit_from_client", sa.Float(), nullable=False),
        sa.Column("on_order_within_lead", sa.Float(), nullable=False),
        sa.Column("on_order_beyond_lead", sa.Float(), nullable=False),
        sa.Column("next_eta", sa.Date(), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Float(), nullable=False),
        sa.Column("position", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sku_unit_id", name="pk_supply"),
        schema="supplybrain",
    )
    op.add_column(
        "article_planning_settings",
        sa.Column("pack_multiple", sa.Integer(), nullable=True),
        schema="supplybrain",
    )
    for view, table in LATEST_VIEWS.items():
        op.execute(f"""
            CREATE VIEW supplybrain.{view} AS
            SELECT * FROM supplybrain.{table}
            WHERE run_id = (SELECT run_id FROM supplybrain.{table}
                            ORDER BY computed_at DESC, run_id DESC LIMIT 1)
        """)


def downgrade() -> None:
    raise NotImplementedError(
        "The supplybrain migrations are forward-only; restore a backup to go back."
    )
