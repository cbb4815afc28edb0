"""Planning assets: demand, supply, planning_proposals, bundle_risk, planning_health, and the
evidence for the proposals: forecast_accuracy, policy_backtest."""

from supplybrain_pipelines.assets.planning.accuracy import forecast_accuracy
from supplybrain_pipelines.assets.planning.backtest import policy_backtest
from supplybrain_pipelines.assets.planning.demand import demand
from supplybrain_pipelines.assets.planning.proposals import planning_proposals
from supplybrain_pipelines.assets.planning.risk import bundle_risk, planning_health
from supplybrain_pipelines.assets.planning.supply import supply

PLANNING_ASSETS = [demand, supply, planning_proposals, bundle_risk, planning_health,
                   forecast_accuracy, policy_backtest]
