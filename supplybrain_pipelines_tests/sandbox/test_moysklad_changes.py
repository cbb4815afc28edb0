"""The MoySklad emulator's states, recycle bin and changes over time (real HTTP)."""

from __future__ import annotations

from supplybrain_pipelines.sandbox.model import MS_PREFIX
from supplybrain_pipelines.sandbox.moysklad_api import MoySkladApi
from supplybrain_pipelines.sandbox.moysklad_data import state_id
from supplybrain_pipelines_tests.sandbox.conftest import ms_headers

ORDERS = f"{MS_PREFIX}/entity/customerorder"
EARLY = "2019-01-01 00:00:00"


def test_metadata_lists_the_standard_states_and_every_order_points_at_one(business, http):
    account = business.moysklad_accounts[0].external_id
    body = http.get(f"{ORDERS}/metadata", headers=ms_headers(business)).json()
    names = [(s["name"], s["stateType"]) for s in body["states"]]
    assert names == [("Новый", "Regular"), ("Подтвержден", "Regular"), ("Собран", "Regular"),
                     ("Отгружен", "Regular"), ("Доставлен", "Successful"),
                     ("Возврат", "Unsuccessful"), ("Отменен", "Unsuccessful")]
    ids = {s["id"] for s in body["states"]}
    assert state_id(account, "Отменен") in ids
    rows = http.get(ORDERS, headers=ms_headers(business)).json()["rows"]
    served = {r["state"]["meta"]["href"].rsplit("/", 1)[1] for r in rows}
    assert served <= ids and state_id(account, "Отменен") not in served


def test_recycle_bin_hides_an_order_until_asked_for(business, sandbox, http):
    api = MoySkladApi.of(sandbox.state)
    order = business.ms_customer_orders[3]
    total = len(business.ms_customer_orders)
    api.delete_order(order["id"])

    def listed(filter_: str | None = None) -> list[dict]:
        params = {"filter": filter_} if filter_ else {}
        return http.get(ORDERS, params=params, headers=ms_headers(business)).json()["rows"]

    assert order["id"] not in {r["id"] for r in listed()} and len(listed()) == total - 1
    in_bin = listed("isDeleted=true")
    assert [r["id"] for r in in_bin] == [order["id"]] and in_bin[0]["deleted"]
    assert [r["id"] for r in listed(f"isDeleted=true;deleted>={in_bin[0]['deleted'][:19]}")] \
        == [order["id"]]
    assert listed("isDeleted=true;deleted>=2099-01-01 00:00:00") == []
    assert len(listed("isDeleted=true;isDeleted=false")) == total
    # the generated business the tests share is not changed
    assert "deleted" not in order

    api.restore_order(order["id"])
    back = [r for r in listed(f"updated>={in_bin[0]['deleted'][:19]}")]
    assert [r["id"] for r in back] == [order["id"]]
    assert back[0]["deleted"] == in_bin[0]["deleted"]  # MoySklad keeps the last deletion
    assert listed("isDeleted=true") == []
    bad = http.get(ORDERS, params={"filter": "isDeleted=maybe"}, headers=ms_headers(business))
    assert bad.status_code == 400


def test_a_state_change_and_an_item_change_are_read_by_updated(business, sandbox, http):
    api = MoySkladApi.of(sandbox.state)
    account = business.moysklad_accounts[0].external_id
    order = business.ms_customer_orders[0]
    changed = api.set_order_state(order["id"], "Отменен")
    since = changed["updated"][:19]
    rows = http.get(ORDERS, params={"filter": f"updated>={since}"},
                    headers=ms_headers(business)).json()["rows"]
    assert [r["id"] for r in rows] == [order["id"]]
    assert rows[0]["state"]["meta"]["href"].endswith(state_id(account, "Отменен"))
    # served last: the list stays in `updated` order
    every = http.get(ORDERS, headers=ms_headers(business)).json()["rows"]
    assert every[-1]["id"] == order["id"]

    item = business.ms_assortment[2]
    api.update_item(item["id"], name="Новое имя")
    assortment = http.get(f"{MS_PREFIX}/entity/assortment", params={
        "filter": f"updated>={since}"}, headers=ms_headers(business)).json()["rows"]
    assert [(r["id"], r["name"]) for r in assortment] == [(item["id"], "Новое имя")]
    assert item["name"] != "Новое имя"
