"""What the planning assets share: the group, the as-of date and the active SKU units."""

from datetime import UTC, date, datetime

import dagster as dg

GROUP = "planning"

#: SKU units that planning covers: those of articles not switched off in either settings table.
ACTIVE_SKUS = """
SELECT su.id AS sku_unit_id, su.article_id, su.color_id, su.size_id
FROM supplybrain.sku_unit su
WHERE NOT EXISTS (SELECT 1 FROM supplybrain.planning_settings ps
                  WHERE ps.article_id = su.article_id AND NOT ps.is_active)
  AND NOT EXISTS (SELECT 1 FROM supplybrain.article_planning_settings aps
                  WHERE aps.article_id = su.article_id AND NOT aps.include_in_planning)
"""


class PlanningConfig(dg.Config):
    """Run config of the planning assets."""

    as_of: str | None = None
    """The as-of date (UTC, YYYY-MM-DD) the windows end at; default: today."""
    window_days: int = 30
    """Length of the demand window in days."""


def as_of_date(config: PlanningConfig) -> date:
    return date.fromisoformat(config.as_of) if config.as_of else datetime.now(UTC).date()
