"""Asset checks, one or more on every stage: ingestion per endpoint and the unified orders
(``ingest``), planning's inputs and outputs (``planning``). ``CHECKS`` is what the code location
registers; a job that selects an asset runs its checks in the same run.

The names the planning checks had when this was one module stay importable from here.
"""

from supplybrain_pipelines.checks.ingest import INGEST_CHECKS
from supplybrain_pipelines.checks.planning import (
    DEMAND_CHECK,
    INPUT_CHECKS,
    OUTPUT_CHECKS,
    PLAUSIBLE_FACTOR,
    SUPPLY_CHECK,
    bundle_risk_is_complete,
    demand_is_plausible,
    demand_is_sound,
    plausibility,
    proposals_are_complete,
    supply_is_sound,
)

CHECKS = [*INPUT_CHECKS, *OUTPUT_CHECKS, *INGEST_CHECKS]

__all__ = ["CHECKS", "DEMAND_CHECK", "INGEST_CHECKS", "INPUT_CHECKS", "OUTPUT_CHECKS",
           "PLAUSIBLE_FACTOR", "SUPPLY_CHECK", "bundle_risk_is_complete", "demand_is_plausible",
           "demand_is_sound", "plausibility", "proposals_are_complete", "supply_is_sound"]
