"""The parts of ``bench/planning_scale.py``: data sets, the timed child, runs, what-if, report.

``data`` generates and resets the data sets, ``child`` is the timed process, ``runs`` starts
children and collects their results per phase, ``what_if`` patches the known blockers, and
``report`` prints the tables and verdicts. Only the standard library is imported at module level.
"""
