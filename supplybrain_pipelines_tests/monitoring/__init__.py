"""Tests of the monitoring snapshot, its alert rules, status and notifications."""
