"""Which MoySklad states count as cancelled: configured names -> the account's state ids."""

from __future__ import annotations

from supplybrain_pipelines.logic.moysklad_states import (
    DEFAULT_CANCELLED_STATES,
    cancelled_state_ids,
    normalise_state_name,
)

#: MoySklad's standard customer-order states, shaped like /entity/customerorder/metadata's.
STATES = [
    {"id": "s-new", "name": "Новый", "stateType": "Regular"},
    {"id": "s-shipped", "name": "Отгружен", "stateType": "Regular"},
    {"id": "s-delivered", "name": "Доставлен", "stateType": "Successful"},
    {"id": "s-return", "name": "Возврат", "stateType": "Unsuccessful"},
    {"id": "s-cancelled", "name": "Отменен", "stateType": "Unsuccessful"},
]


def test_the_default_is_moysklads_standard_cancelled_state_only():
    assert DEFAULT_CANCELLED_STATES == ("Отменен",)
    assert cancelled_state_ids(STATES, DEFAULT_CANCELLED_STATES) == {"s-cancelled"}


def test_names_compare_without_case_spaces_or_yo():
    assert normalise_state_name("  ОТМЕНЁН ") == "отменен"
    assert normalise_state_name("Ждёт   оплаты") == "ждет оплаты"
    assert cancelled_state_ids(STATES, ["отменён", " ВОЗВРАТ"]) == {"s-cancelled", "s-return"}


def test_an_unknown_name_or_a_broken_state_matches_nothing():
    broken = [{"id": "", "name": "Отменен"}, {"name": "Отменен"}, {"id": "x", "name": None},
              "not a state"]
    assert cancelled_state_ids(STATES, ["Закрыт"]) == frozenset()
    assert cancelled_state_ids(broken, ["Отменен"]) == frozenset()
    assert cancelled_state_ids(STATES, []) == frozenset()


def test_an_account_with_its_own_state_names():
    own = [{"id": "a1", "name": "Отказ клиента"}, {"id": "a2", "name": "Отменен"}]
    assert cancelled_state_ids(own, ["Отказ клиента"]) == {"a1"}
