"""Planning maths: pure, typed functions that turn demand and supply into explained proposals.

Modules:

- :mod:`.inventory` — z, safety stock, reorder point, order-up-to target, recommendation, cover,
  stock-out date, lead time (textbook formulas, ``planning_and_marketplace_apis.md`` §3.1), for
  a whole catalogue at once as numpy arrays (:func:`.inventory.plan_replenishments`); the
  one-value functions wrap the same code.
- :mod:`.demand` — the in-stock mask, velocity, σ of daily demand, demand class (ADI, CV²) and
  the rate (TSB for intermittent SKU units), for a whole catalogue at once as numpy matrices
  (§4 of the same file).
- :mod:`.bundles` — bundles turned into singles through the recipes (DESIGN.md §4) and bundle
  capacity from singles (``seed_backend_domain.md`` §2.2).
- :mod:`.risk` — the old backend's bundle risk table, with its exact operators (§2.2), on arrays
  (:func:`.risk.risk_levels`) or one value.
- :mod:`.minimums` — fabric minimum per Pantone group, elastic minimum per article, the cover
  check, pack multiples (``seed_backend_domain.md`` §3.2 and §3.8).
- :mod:`.spreading` — the weights a minimum is spread by and the largest-remainder split.
- :mod:`.explain` — an article's minimum records cut to each SKU unit, as JSON text.
- :mod:`.accuracy` — the project's demand rate at past origins against the units ordered next
  (WAPE, bias; two baselines), rolling-origin.
- :mod:`.backtest` — the reorder-point / order-up-to policy replayed day by day on real demand
  (fill rate, cycle service level, stock-outs, orders).

Nothing here imports dagster, SQLAlchemy or a database driver (numpy is allowed); no function
reads a clock, a file or a database.
"""
