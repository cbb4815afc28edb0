"""Marketplace times: WB and MoySklad send naive Moscow time; we store UTC ``timestamptz``."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")


def parse_marketplace_time(value: object) -> datetime:
    """A WB/MoySklad time as an aware UTC datetime.

    Accepts ISO-8601 (``2026-03-04T18:08:31``, with optional fraction) and MoySklad's
    ``2026-03-04 18:08:31.123``. No zone means Moscow time; ``Z`` or an offset is honoured.
    Raises ValueError with a short reason for anything else.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a date-time string, got {type(value).__name__}")
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"unparseable date-time {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=MOSCOW)
    return parsed.astimezone(UTC)


def to_moscow_naive(moment: datetime) -> datetime:
    """``moment`` as the naive Moscow wall-clock time the marketplace APIs expect."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(MOSCOW).replace(tzinfo=None)


def wb_query_time(moment: datetime) -> str:
    """The ``dateFrom`` string for WB: naive Moscow time to the second."""
    return to_moscow_naive(moment).isoformat(timespec="seconds")


def moysklad_query_time(moment: datetime) -> str:
    """The ``filter=updated>=…`` string for MoySklad: naive Moscow ``YYYY-MM-DD HH:MM:SS``."""
    return to_moscow_naive(moment).strftime("%Y-%m-%d %H:%M:%S")

