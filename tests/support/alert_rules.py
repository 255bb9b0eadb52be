"""promtool unit tests of a use case's rules: the test files under tests/data are templates
(`string.Template`: ${prefix}, ${alert}, ${name}, ...), rendered for the use case and run by
promtool next to the use case's generated rules.yaml."""

from __future__ import annotations

import string
import subprocess
from pathlib import Path

import yaml

from contract.names import metric_label
from seldon.k8s import generate, rules
from tests.support import REPO
from tests.support.system_tools import system_binary
from usecases.spec import UseCase

SERVING_TESTS = REPO / "tests" / "data" / "serving" / "alerts_test.yaml"
MONITORING_TESTS = REPO / "tests" / "data" / "operator" / "monitoring_alerts_test.yaml"


def placeholders(case: UseCase) -> dict[str, str]:
    return {
        "prefix": case.metric_prefix,
        "alert": rules.alert_stem(case),
        "name": case.name,
        "model_name": case.model_name,
        "positive": rules.positive_label(case),
        "negative": metric_label(case.negative_class),
        "positive_class": case.positive_class,
        "online_features": ", ".join(case.online.features) if case.online else "",
    }


def render(template: Path, case: UseCase) -> dict:
    """The template's tests for `case`, of the alerts it has: the online-store alert only when it
    has online features, a judged signal's alert only when its monitoring has the signal on."""
    document = yaml.safe_load(string.Template(template.read_text()).substitute(placeholders(case)))
    present = set(alerts(case))
    document["tests"] = [
        test
        for test in document["tests"]
        if all(check["alertname"] in present for check in test["alert_rule_test"])
    ]
    return document


def alerts(case: UseCase) -> dict[str, dict]:
    """The use case's alert rules, by name."""
    groups = rules.rule_groups(case)
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def promtool_test(template: Path, case: UseCase, directory: Path) -> subprocess.CompletedProcess:
    """`promtool test rules` of the rendered template against the use case's rules: the groups
    the template tests (promtool evaluates every group at every step: the serving groups' day-long
    windows would cost the monitoring tests' 84 hours four times as much)."""
    groups = rules.rule_groups(case)
    monitoring = [g for g in groups if g["name"].endswith("monitoring.alerts")]
    chosen = monitoring if template == MONITORING_TESTS else [g for g in groups if g not in monitoring]
    (directory / "rules.yaml").write_text(generate.dump({"groups": chosen}))
    (directory / template.name).write_text(yaml.safe_dump(render(template, case), sort_keys=False))
    return subprocess.run(
        [system_binary("promtool"), "test", "rules", template.name],
        cwd=directory,
        capture_output=True,
        text=True,
    )


def seen(template: Path, case: UseCase) -> dict[str, set[bool]]:
    """For each alert the tests check: whether they see it firing (True), quiet (False), or both."""
    outcomes: dict[str, set[bool]] = {}
    for test in render(template, case)["tests"]:
        for check in test["alert_rule_test"]:
            outcomes.setdefault(check["alertname"], set()).add(bool(check["exp_alerts"]))
    return outcomes
