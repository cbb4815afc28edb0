"""Monitoring: the 15-minute snapshot, its alerts and notifications, and its gap check."""

from supplybrain_pipelines.assets.monitoring.checks import no_missing_windows
from supplybrain_pipelines.assets.monitoring.snapshot import monitoring_snapshot

MONITORING_ASSETS = [monitoring_snapshot]
MONITORING_CHECKS = [no_missing_windows]

__all__ = ["MONITORING_ASSETS", "MONITORING_CHECKS", "monitoring_snapshot", "no_missing_windows"]
