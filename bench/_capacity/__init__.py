"""The parts of ``bench/capacity_cycle.py``: its code location."""
