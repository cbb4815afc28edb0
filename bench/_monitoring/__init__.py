"""The parts of ``bench/monitoring_snapshot.py``: data, snapshot timing, and the tick stack.

``data`` loads the tables, ``timing`` times the snapshot against bare aggregates, ``ticks``
times schedule ticks through the real daemon, on the code location in ``tick_location``.
"""
