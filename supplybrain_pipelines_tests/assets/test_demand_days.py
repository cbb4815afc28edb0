"""How the demand asset reads the stock history: in-stock days and the per-day mask."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from supplybrain_pipelines.assets.planning.demand import days_in_stock, in_stock_mask

AS_OF = date(2026, 11, 26)
WINDOW = 30
START = AS_OF - timedelta(days=WINDOW - 1)


def history(known: int, in_stock: int, out: int, first: date | None):
    return SimpleNamespace(known_days=known, in_stock_days=in_stock, out_days=out,
                           first_in_stock=first)


def test_no_history_uses_calendar_days_and_flags_it():
    assert days_in_stock(WINDOW, START, AS_OF, None) == (30, "calendar", False)
    assert in_stock_mask(WINDOW, START, None, []) is None


def test_full_history_counts_only_in_stock_days():
    known = history(30, 20, 10, START - timedelta(days=100))
    assert days_in_stock(WINDOW, START, AS_OF, known) == (20, "in_stock", True)


def test_partial_history_assumes_unknown_days_in_stock():
    known = history(10, 4, 6, START - timedelta(days=5))
    assert days_in_stock(WINDOW, START, AS_OF, known) == (24, "in_stock", False)


def test_a_new_sku_counts_from_its_first_day_in_stock():
    first = AS_OF - timedelta(days=9)
    known = history(10, 8, 2, first)
    assert days_in_stock(WINDOW, START, AS_OF, known) == (8, "since_first_stock", False)
    mask = in_stock_mask(WINDOW, START, known, [AS_OF - timedelta(days=3)])
    assert mask.count(True) == 9
    assert mask[:20] == [False] * 20
    assert mask[-4] is False
