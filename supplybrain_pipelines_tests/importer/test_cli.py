"""``supplybrain import DIR`` as an operator runs it: the installed console script in a
subprocess with SUPPLYBRAIN_DATABASE_URL set. Exit 0 when every file was written, 1 otherwise;
expected failures print sentences, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

from supplybrain_pipelines.config import DRIVER
from supplybrain_pipelines.devstack.embedded import free_port
from supplybrain_pipelines.importer.spec import FILES
from supplybrain_pipelines_tests.fixtures_db import SUPPLYBRAIN, cli_env, fetch_all
from supplybrain_pipelines_tests.importer import SCENARIO_SMALL

PASSWORD = "import-s3cr3t-Pa55word"


def supplybrain_import(directory: Path | str, env: dict[str, str], *extra: str
                       ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(SUPPLYBRAIN), "import", str(directory), *extra], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    assert "Traceback" not in done.stdout + done.stderr
    return done


def test_import_exits_0_and_prints_a_line_per_file(migrated_db_url):
    done = supplybrain_import(SCENARIO_SMALL, cli_env(migrated_db_url))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "articles.csv -> article: 2 rows: 2 inserted, 0 updated, 0 unchanged"
    assert lines[-1] == f"{len(FILES)} files written"
    assert len(lines) == len(FILES) + 1
    assert "orders.csv -> orders: 590 rows: 590 inserted, 0 updated, 0 unchanged; " \
           "orders_daily rebuilt for 60 days" in lines
    assert done.stderr == ""
    again = supplybrain_import(SCENARIO_SMALL, cli_env(migrated_db_url))
    assert again.returncode == 0
    assert "articles.csv -> article: 2 rows: 0 inserted, 0 updated, 2 unchanged" in again.stdout


def test_a_bad_row_exits_1_and_names_file_line_and_problem(migrated_db_url, tmp_path):
    scenario = Path(shutil.copytree(SCENARIO_SMALL, tmp_path / "s"))
    text = (scenario / "purchase_orders.csv").read_text().replace("2026-11-20", "2026-11-31")
    (scenario / "purchase_orders.csv").write_text(text)
    done = supplybrain_import(scenario, cli_env(migrated_db_url))
    assert done.returncode == 1
    out = done.stdout.splitlines()
    assert "purchase_orders.csv -> purchase_order: FAILED, 1 error, nothing written" in out
    assert "  purchase_orders.csv line 2: target_date '2026-11-31' is not a date " \
           "(YYYY-MM-DD)." in out
    assert ("purchase_order_items.csv -> purchase_order_item: NOT LOADED: it refers to "
            "purchase_orders.csv, which failed; fix that and import again") in out
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: 2 files were not written "
                                               "(purchase_orders.csv, purchase_order_items.csv)")
    assert PASSWORD not in done.stderr
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.article") == [(2,)]


def test_errors_listed_per_file_are_capped(migrated_db_url, tmp_path):
    (tmp_path / "sizes.csv").write_text("size_label,sort_order\n"
                                        + "".join(f"S{i},x\n" for i in range(30)))
    done = supplybrain_import(tmp_path, cli_env(migrated_db_url), "--max-errors", "3")
    assert done.returncode == 1
    assert done.stdout.splitlines()[1:5] == [
        "  sizes.csv line 2: sort_order 'x' is not a whole number.",
        "  sizes.csv line 3: sort_order 'x' is not a whole number.",
        "  sizes.csv line 4: sort_order 'x' is not a whole number.",
        "  … and 27 more errors in sizes.csv"]


def test_expected_failures_are_one_sentence_and_exit_1(migrated_db_url, empty_db_url, tmp_path):
    missing = supplybrain_import(tmp_path / "nowhere", cli_env(migrated_db_url))
    assert missing.returncode == 1
    assert missing.stderr.strip() == (f"Error: {tmp_path / 'nowhere'} is not a directory; pass "
                                      "the folder that holds the CSV files")
    empty = supplybrain_import(tmp_path, cli_env(migrated_db_url))
    assert empty.returncode == 1
    assert empty.stderr.strip().startswith(f"Error: {tmp_path} has no import file")
    not_migrated = supplybrain_import(SCENARIO_SMALL, cli_env(empty_db_url))
    assert not_migrated.returncode == 1
    assert not_migrated.stderr.strip() == ("Error: The database has no supplybrain tables yet; "
                                           "run `supplybrain db upgrade` first")
    closed = URL.create(DRIVER, username="supplybrain", password=PASSWORD, host="127.0.0.1",
                        port=free_port(), database="supplybrain")
    down = supplybrain_import(SCENARIO_SMALL, cli_env(closed))
    assert down.returncode == 1
    assert down.stderr.startswith("Error: Could not connect to PostgreSQL at ")
    assert len(down.stderr.strip().splitlines()) == 1
    assert PASSWORD not in down.stdout + down.stderr
