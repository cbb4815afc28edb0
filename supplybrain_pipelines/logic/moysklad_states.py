"""Which MoySklad customer-order states are "cancelled" for an account.

MoySklad counts every customer order as demand unless it is not posted (``applicable`` false).
Our rule (``assets/ingest/moysklad.py``, ``MARK_CANCELLED``): an order is cancelled, and leaves
demand like a cancelled WB order, when it is not posted, or lies in the recycle bin, or is in
one of the account's cancelled states. States are per account (each has its own ids), so the
account names them (``moysklad_integration_accounts.cancelled_states``, by default MoySklad's
standard "Отменен") and each run turns the names into that account's state ids here.

"Возврат" (MoySklad's other standard final-negative state) is not cancelled by default: the
goods were ordered and shipped, and a return is not negative demand (the WB side treats
returns the same way). Add it to ``cancelled_states`` to count such orders out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: MoySklad's standard cancelled state of a customer order.
DEFAULT_CANCELLED_STATES: tuple[str, ...] = ("Отменен",)


def normalise_state_name(name: str) -> str:
    """A state name compared without case, surrounding or repeated spaces, or ё/е spelling
    ("  ОТМЕНЁН " and "Отменен" are the same state)."""
    return " ".join(name.split()).casefold().replace("ё", "е")


def cancelled_state_ids(states: Iterable[Mapping[str, Any]],
                        cancelled_names: Iterable[str]) -> frozenset[str]:
    """The ids of the account's ``states`` (``/entity/customerorder/metadata`` ``states``:
    ``{"id", "name", …}``) whose name is one of ``cancelled_names``. A state without an id or a
    name is skipped; a configured name that matches no state matches nothing."""
    wanted = {normalise_state_name(n) for n in cancelled_names if isinstance(n, str)}
    return frozenset(
        s["id"] for s in states
        if isinstance(s, Mapping) and isinstance(s.get("id"), str) and s["id"]
        and isinstance(s.get("name"), str) and normalise_state_name(s["name"]) in wanted)
