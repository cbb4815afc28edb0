"""The run's page budget (issue 13): an ingestion run stops asking incremental feeds for pages
once its budget is spent, and the next run goes on from the cursor, losing nothing."""

from __future__ import annotations

from collections.abc import Iterator

from supplybrain_pipelines.assets.ingest._run import Outcome, PageBudget
from supplybrain_pipelines.resources.marketplace import Account
from supplybrain_pipelines_tests.assets.test_ingest_e2e import (  # noqa: F401 (fixtures)
    business,
    counts,
    ingest,
)

ACCOUNT = Account(kind="wb", id=1, name="probe", token="t", base_url="http://127.0.0.1:1")


class Clock:
    """Returns the given times in turn, one per call."""

    def __init__(self, *times: float) -> None:
        self.times = list(times)
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.times.pop(0)


def requested(log: list[int], n: int) -> Iterator[int]:
    """Pages 1..n, each logged when it is requested (as a client's page generator would)."""
    for page in range(1, n + 1):
        log.append(page)
        yield page


def test_no_page_is_requested_once_the_deadline_has_passed():
    log: list[int] = []
    outcome = Outcome(ACCOUNT)
    # checked before pages 2, 3 and 4: 50 and 99.9 are before the deadline, 100 is not
    budget = PageBudget(deadline=100.0, clock=Clock(50.0, 99.9, 100.0))
    assert list(budget.pages(requested(log, 6), outcome)) == [1, 2, 3]
    assert log == [1, 2, 3]
    assert outcome.budget_spent is True
    assert outcome.notes == ["page budget spent after 3 pages; the next run goes on from the "
                             "cursor"]


def test_the_first_page_is_read_even_when_the_budget_is_spent():
    log: list[int] = []
    outcome = Outcome(ACCOUNT)
    clock = Clock(500.0)
    assert list(PageBudget(deadline=100.0, clock=clock).pages(requested(log, 4), outcome)) == [1]
    assert log == [1]
    assert clock.calls == 1
    assert outcome.budget_spent is True


def test_a_feed_that_ends_within_the_budget_is_read_whole():
    log: list[int] = []
    outcome = Outcome(ACCOUNT)
    # checked before each request after the first: pages 2 and 3, and the one that ends it
    budget = PageBudget(deadline=100.0, clock=Clock(1.0, 2.0, 3.0))
    assert list(budget.pages(requested(log, 3), outcome)) == [1, 2, 3]
    assert outcome.budget_spent is False
    assert outcome.notes == []


def test_no_budget_reads_everything():
    outcome = Outcome(ACCOUNT)
    assert list(PageBudget(deadline=None).pages(iter(range(7)), outcome)) == list(range(7))
    assert outcome.budget_spent is False


def _out_of_budget(result, asset: str) -> int:
    metadata = result.asset_materializations_for_node(asset)[0].metadata
    return metadata["accounts_out_of_page_budget"].value


def test_a_spent_budget_reads_one_page_per_account_and_the_next_run_catches_up(
        seeded_db, dagster_instance, business):  # noqa: F811 (fixtures)
    served_wb = sum(len(rows) for rows in business.wb_orders_by_account.values())
    served_ms = len(business.ms_customer_orders)
    first = ingest(seeded_db, dagster_instance, page_budget_seconds=0)
    assert first.success
    # both WB accounts and the MoySklad account have more than one page (page_cap=300)
    assert _out_of_budget(first, "wb_orders") == 2
    assert _out_of_budget(first, "wb_sales") == 2
    assert _out_of_budget(first, "moysklad_customer_orders") == 1
    # snapshot feeds read whole whatever the budget
    assert _out_of_budget(first, "wb_stocks") == 0
    after_first = counts(seeded_db)
    assert 0 < after_first["wb_orders"] < served_wb
    assert 0 < after_first["ms_customer_orders"] < served_ms
    second = ingest(seeded_db, dagster_instance)  # the default budget: 420 s
    assert second.success
    assert _out_of_budget(second, "wb_orders") == 0
    after_second = counts(seeded_db)
    assert after_second["wb_orders"] == served_wb
    assert after_second["ms_customer_orders"] == served_ms
