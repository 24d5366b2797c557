"""The stack's Prometheus configuration and alert rules, checked and unit-tested by promtool itself."""

from __future__ import annotations

import subprocess

import yaml

from devkit.processes import REPO_ROOT, find_program

FOLDER = REPO_ROOT / "prometheus"
PROMTOOL = find_program("PROMTOOL", ("promtool",), "/usr/bin/promtool")
ALERTS = {"PredictorDown", "PredictorErrorRate", "PredictorNoModel", "PredictionsUnsure", "FeedbackCorrectsTheModel"}


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PROMTOOL), *args], cwd=FOLDER, capture_output=True, text=True, timeout=60)


def test_the_configuration_and_the_rules_are_valid():
    for args in (("check", "config", "prometheus.yml"), ("check", "rules", "alerts.yml")):
        result = promtool(*args)
        assert result.returncode == 0, result.stdout + result.stderr


def test_each_alert_fires_when_it_should_and_stays_quiet_otherwise():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    tests = yaml.safe_load((FOLDER / "alerts_test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"]}
    fired = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert tested == fired == ALERTS, "every alert is tested firing and quiet"


def test_the_rules_test_would_catch_a_broken_rule(tmp_path):
    """Loosen one threshold: promtool's test of it must fail (the tests assert something)."""
    broken = (FOLDER / "alerts.yml").read_text().replace("> 0.01", "> 0.5")
    (tmp_path / "alerts.yml").write_text(broken)
    (tmp_path / "alerts_test.yml").write_text((FOLDER / "alerts_test.yml").read_text())
    result = subprocess.run(
        [str(PROMTOOL), "test", "rules", "alerts_test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "PredictorErrorRate" in result.stdout + result.stderr
