"""Imported by Python at start-up in every Dagster process ``supplybrain dev`` and the tests
start (``devstack/environment.py`` puts this folder on their PYTHONPATH): keeps Dagster's log
lines single after a database outage.

Upstream bug, dagster-io/dagster#23732 (open): ``dagster_postgres.utils.retry_pg_connection_fn``
warns through the root logger (``logging.warning``), which on a root logger without handlers
calls ``logging.basicConfig()``; from then on every ``dagster.*`` line, already printed by
Dagster's own handler, is printed a second time by the new root handler ("INFO:dagster.daemon...").

The fix gives the root logger a handler first, so ``basicConfig`` does nothing; it prints to
stderr what no logger below the root printed already (the retry warnings, once each).
Standard library only: this runs before anything else in those processes.
"""

import logging
import sys

FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"


def printed_below_root(name: str) -> bool:
    """True when a record of logger ``name`` met a handler (or a stop) before the root."""
    logger = logging.getLogger(name)
    while logger is not None and logger is not logging.root:
        if logger.handlers or not logger.propagate:
            return True
        logger = logger.parent
    return False


class NotPrintedYet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not printed_below_root(record.name)


def install_root_handler() -> None:
    root = logging.getLogger()
    if any(isinstance(f, NotPrintedYet) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(NotPrintedYet())
    root.addHandler(handler)


install_root_handler()
