"""Maconly Supply Brain data platform: Dagster assets on PostgreSQL.

Data flow, by folder: ``resources/`` (warehouse, API clients) → ``assets/`` (sources, ingest,
demand, supply, planning, monitoring) with the maths in ``logic/``; ``db/`` owns the schema and
migrations; ``definitions.py`` wires it all; ``cli/`` is the operator command.
"""

import warnings

# Observable source assets are "beta" in Dagster 1.13; we use them on purpose with the Dagster
# set pinned, so the warning would only be noise in every process that loads the code.
warnings.filterwarnings("ignore", message=r".*is currently in beta.*")
