"""deploy/alertmanager/alertmanager.yml checked by Debian's amtool: the config loads, every alert
rule of the project routes by its severity, an alert without one still reaches a person, a
development namespace never pages, and docs/observability.md shows the tree amtool prints."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.support import REPO
from tests.support.system_tools import system_binary

CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
SEVERITIES = {"page", "ticket"}


def amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([system_binary("amtool"), *args], capture_output=True, text=True, timeout=30)


def route(*labels: str) -> str:
    """The receiver amtool resolves for an alert with these labels (`name=value`)."""
    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def project_alerts() -> list[dict]:
    """Every alert of every use case (seldon/k8s/usecases/<name>/rules.yaml)."""
    rules = sorted((REPO / "seldon" / "k8s" / "usecases").glob("*/rules.yaml"))
    assert rules
    groups = [group for path in rules for group in yaml.safe_load(path.read_text())["groups"]]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_the_config_passes_amtool_check_config():
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert " - 2 inhibit rules" in result.stdout and " - 2 receivers" in result.stdout


def test_check_config_refuses_a_route_to_no_receiver(tmp_path):
    config = yaml.safe_load(CONFIG.read_text())
    config["route"]["routes"][0]["receiver"] = "nobody"
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(yaml.safe_dump(config))
    result = amtool("check-config", str(broken))
    assert result.returncode != 0
    assert 'undefined receiver "nobody"' in result.stdout + result.stderr


@pytest.mark.parametrize("rule", project_alerts(), ids=lambda rule: rule["alert"])
def test_every_project_alert_routes_by_its_severity(rule):
    labels = rule["labels"]
    assert labels.get("severity") in SEVERITIES, f"{rule['alert']}: severity page or ticket"
    sent = [f"alertname={rule['alert']}", *(f"{k}={v}" for k, v in labels.items())]
    assert route(*sent, "namespace=flights-prod") == labels["severity"]


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=page", "component=serving", "impact=outage"], "page"),
        (["severity=ticket", "component=monitoring"], "ticket"),
        (["alertname=NoSeverity", "component=serving"], "ticket"),  # a missing label is no drop
        (["severity=critical"], "ticket"),  # nor is a severity nobody routes
        (["severity=page", "namespace=flights-dev"], "ticket"),  # development never pages
        (["severity=page", "namespace=flights-prod"], "page"),
    ],
)
def test_routes(labels, receiver):
    assert route(*labels) == receiver


def test_route_tests_can_fail():
    """amtool exits non-zero when the receiver is not the one expected."""
    result = amtool(
        "config", "routes", "test", f"--config.file={CONFIG}", "--verify.receivers=page", "severity=ticket"
    )
    assert result.returncode != 0
    assert result.stdout.splitlines()[0] == "ticket" and "did not match" in result.stdout


def test_the_docs_show_the_routing_tree():
    tree = amtool("config", "routes", "show", f"--config.file={CONFIG}")
    assert tree.returncode == 0, tree.stderr
    docs = (REPO / "docs" / "observability.md").read_text()
    assert tree.stdout.strip() in docs, "docs/observability.md: paste `amtool config routes show` output"


def test_every_alert_names_its_component_and_each_serving_has_an_outage():
    """The labels the inhibition reads: without an outage alert a serving outage would page once
    for each of its symptoms."""
    alerts = project_alerts()
    assert all(a["labels"].get("component") for a in alerts), [a["alert"] for a in alerts]
    use_cases = {a["labels"]["use_case"] for a in alerts}
    outages = {
        (a["labels"]["use_case"], a["labels"]["component"])
        for a in alerts
        if a["labels"].get("impact") == "outage"
    }
    assert {(use_case, "serving") for use_case in use_cases} <= outages
