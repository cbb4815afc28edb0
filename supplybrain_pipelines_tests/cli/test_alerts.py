"""``supplybrain alerts`` as an operator runs it (the console script, in a subprocess): rules
are validated against the metric catalog before they are written."""

from __future__ import annotations

import subprocess

from supplybrain_pipelines_tests.fixtures_db import SUPPLYBRAIN, cli_env, execute, fetch_all


def alerts(url, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SUPPLYBRAIN), "alerts", *args], env=cli_env(url),
                          capture_output=True, text=True, timeout=120)


def test_add_validates_against_the_catalog_and_list_flags_hand_written_rules(migrated_db_url):
    refused = alerts(migrated_db_url, "add", "odd", "--metric", "risk_everything",
                     "--when", "above", "--threshold", "1", "--severity", "warning")
    assert refused.returncode == 2
    assert "unknown metric 'risk_everything'" in refused.stderr

    added = alerts(migrated_db_url, "add", "Stale WB sync", "--metric", "max_sync_age_minutes",
                   "--when", "above", "--threshold", "60", "--severity", "critical")
    assert added.returncode == 0, added.stderr
    rows = fetch_all(migrated_db_url, "SELECT name, metric, threshold_type, threshold_value, "
                     "severity, is_active FROM supplybrain.monitoring_alert_rules "
                     "WHERE name = 'Stale WB sync'")
    assert rows == [("Stale WB sync", "max_sync_age_minutes", "above", 60, "critical", True)]

    execute(migrated_db_url, "INSERT INTO supplybrain.monitoring_alert_rules (name, metric, "
            "threshold_type, threshold_value, severity) VALUES ('typo', 'risk_critcal', "
            "'above', 0, 'critical')")
    listed = alerts(migrated_db_url, "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 12  # 10 default rules, the added one, the hand-written one
    assert [line for line in lines if "INVALID" in line] == [
        line for line in lines if "typo" in line]


def test_a_metric_name_from_before_migration_0016_is_stored_under_its_new_name(
        migrated_db_url):
    added = alerts(migrated_db_url, "add", "Old habit", "--metric", "risk_warning",
                   "--when", "above", "--threshold", "2", "--severity", "warning")
    assert added.returncode == 0, added.stderr
    assert "note: metric 'risk_warning' is now 'bundle_risk_warning'" in added.stderr
    rows = fetch_all(migrated_db_url, "SELECT metric FROM supplybrain.monitoring_alert_rules "
                     "WHERE name = 'Old habit'")
    assert rows == [("bundle_risk_warning",)]
    # A row written by hand with the old name is valid (the snapshot reads it as the new one).
    execute(migrated_db_url, "INSERT INTO supplybrain.monitoring_alert_rules (name, metric, "
            "threshold_type, threshold_value, severity) VALUES ('by hand', 'risk_ok', "
            "'below', 1, 'warning')")
    (line,) = [x for x in alerts(migrated_db_url, "list").stdout.splitlines() if "by hand" in x]
    assert "INVALID" not in line and "(old name of bundle_risk_ok)" in line


def test_metrics_lists_the_catalog_and_seed_is_idempotent(migrated_db_url):
    metrics = alerts(migrated_db_url, "metrics")
    assert "orders_vs_prev_7d_pct" in metrics.stdout
    names = [line.split()[0] for line in metrics.stdout.splitlines()]
    assert "bundle_risk_critical" in names and "slot_busy_pct" in names
    assert "risk_critical" not in names
    assert "risk_critical -> bundle_risk_critical" in metrics.stdout
    assert alerts(migrated_db_url, "seed").stdout.startswith("0 default rules created")
    execute(migrated_db_url, "DELETE FROM supplybrain.monitoring_alert_rules WHERE id = 2")
    assert alerts(migrated_db_url, "seed").stdout.startswith("1 default rules created")
