"""Tests of ``supplybrain import``; ``SCENARIO_SMALL`` is a small business other tests reuse."""

from pathlib import Path

#: Two articles, four colours (two share a Pantone), three sizes, a 4-pack with its recipe,
#: barcodes for bundles and singles, one own warehouse, settings, stock, 60 days of WB orders
#: (2026-09-01 … 2026-10-30, UTC) and one open purchase order. See its README.md.
SCENARIO_SMALL = Path(__file__).resolve().parent / "scenario_small"
