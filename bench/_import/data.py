"""A generated ``orders.csv`` of any size for the scenario_small master data (standard library
only, written line by line so that generating 5 million rows needs no memory to speak of)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

#: The WB barcodes of ``scenario_small`` (three 4-pack sizes and eight singles).
BARCODES = ("4601234500001", "4601234500002", "4601234500003", "4601234500111",
            "4601234500112", "4601234500201", "4601234500202", "4601234500203",
            "4601234500204", "4601234500205", "4601234500206")
HEADER = "channel,account_id,order_id,ordered_at,barcode,quantity,price,is_cancelled,cancelled_at\n"
START = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)


def order_line(i: int) -> str:
    """Order line ``i``: about 3 000 lines a day from 2025-01-01 on, one line in 12 cancelled."""
    at = START + timedelta(seconds=29 * i)
    price = f"{390 + (i % 7) * 100}.00"
    cancelled = i % 12 == 5
    cancelled_at = (at + timedelta(hours=5)).isoformat() if cancelled else ""
    return (f"wb,1,srid-{i:09d},{at.isoformat()},{BARCODES[i % len(BARCODES)]},1,{price},"
            f"{'true' if cancelled else 'false'},{cancelled_at}\n")


def write_orders(path: Path, rows: int, first: int = 0) -> int:
    """Write ``rows`` order lines (ids from ``first``) with the header; the file's size."""
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for i in range(first, first + rows):
            f.write(order_line(i))
    return path.stat().st_size
