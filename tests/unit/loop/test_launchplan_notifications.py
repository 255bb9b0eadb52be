"""A scheduled run that fails or times out reaches a person: the launch plans' Flyte notifications,
their recipients per environment (launchplans/notifications.yaml), serialized offline as
registration would send them (flytekit's get_serializable)."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest
from flytekit import LaunchPlan
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.tools.translator import get_serializable

from launchplans import notifications
from launchplans.monitoring import daily_monitoring
from launchplans.notifications import CONFIG_FILE, NotificationConfigError, load, on_failure
from launchplans.retrain import monthly_retrain
from launchplans.scoring import daily_scoring
from workflows.training import training_workflow

SEVERITY = {"monthly_retrain": "ticket", "daily_scoring": "page", "daily_monitoring": "ticket"}
CHANNEL_FIELD = {"email": "email", "slack": "slack", "pagerduty": "pager_duty"}


def _serialized(plan: LaunchPlan):
    """The launch plan's protobuf as `pyflyte register` sends it to flyteadmin."""
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project="p", domain="d", version="v"
    )
    return get_serializable(OrderedDict(), settings, plan).to_flyte_idl()


def _recipients(serialized) -> dict[str, list[str]]:
    """Each notification's channel and recipients; every one fires on failure and timeout."""
    found = {}
    for notification in serialized.spec.entity_metadata.notifications:
        assert list(notification.phases) == [WorkflowExecutionPhase.FAILED, WorkflowExecutionPhase.TIMED_OUT]
        channel = notification.WhichOneof("type")
        found[channel] = list(getattr(notification, channel).recipients_email)
    return found


def _expected(environment: str, severity: str) -> dict[str, list[str]]:
    section = load(CONFIG_FILE, environment)[severity]
    return {CHANNEL_FIELD[channel]: list(emails) for channel, emails in section.by_channel.items()}


@pytest.mark.parametrize("plan", [monthly_retrain, daily_scoring, daily_monitoring], ids=lambda p: p.name)
def test_every_launch_plan_notifies_on_failure_and_timeout(plan):
    """Built without MLOPS_ENVIRONMENT (the tests' environment): the development recipients."""
    found = _recipients(_serialized(plan))
    assert found, f"{plan.name} notifies nobody"
    assert found == _expected("development", SEVERITY[plan.name])


@pytest.mark.parametrize("environment", ["development", "staging", "production"])
def test_the_environment_chooses_the_recipients(environment, monkeypatch):
    monkeypatch.setenv("MLOPS_ENVIRONMENT", environment)
    for severity in ("page", "ticket"):
        plan = LaunchPlan.get_or_create(
            training_workflow, name=f"notify_{environment}_{severity}", notifications=on_failure(severity)
        )
        assert _recipients(_serialized(plan)) == _expected(environment, severity)
    production = load(CONFIG_FILE, "production")
    assert "pagerduty" in production["page"].by_channel  # production pages the on-call tool


def test_another_file_replaces_the_default(tmp_path, monkeypatch):
    own = tmp_path / "notifications.yaml"
    own.write_text(
        "environments:\n  prod-eu:\n    page: {email: [oncall@team.example]}\n"
        "    ticket: {slack: [alerts@team.slack.example]}\n"
    )
    monkeypatch.setenv("MLOPS_NOTIFICATIONS_FILE", str(own))
    monkeypatch.setenv("MLOPS_ENVIRONMENT", "prod-eu")
    plan = LaunchPlan.get_or_create(
        training_workflow, name="notify_own_file", notifications=on_failure("ticket")
    )
    assert _recipients(_serialized(plan)) == {"slack": ["alerts@team.slack.example"]}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notifications.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "environment", "message"),
    [
        (
            "environments:\n  production: {page: {email: [a@b.co]}, ticket: {email: [a@b.co]}}\n",
            "prod",
            r"environments\.prod: no such environment \(set by MLOPS_ENVIRONMENT; known: production\)",
        ),
        (
            "environments:\n  e: {page: {email: [a@b.co]}}\n",
            "e",
            r"environments\.e\.ticket: no recipients: a failed run would reach nobody",
        ),
        (
            "environments:\n  e: {page: {email: [a@b.co]}, ticket: {}}\n",
            "e",
            r"environments\.e\.ticket: no recipients",
        ),
        (
            "environments:\n  e: {page: {sms: [a@b.co]}, ticket: {email: [a@b.co]}}\n",
            "e",
            r"environments\.e\.page\.sms: unknown channel \(known: email, slack, pagerduty\)",
        ),
        (
            "environments:\n  e: {page: {email: [a@b.co, oncall]}, ticket: {email: [a@b.co]}}\n",
            "e",
            r"environments\.e\.page\.email\[1\]: 'oncall' is not an email address",
        ),
        (
            "environments:\n  e: {page: {email: []}, ticket: {email: [a@b.co]}}\n",
            "e",
            r"environments\.e\.page\.email: must be a non-empty list of addresses",
        ),
        (
            "environments:\n  e: {page: {email: [a@b.co]}, ticket: {email: [a@b.co]}, info: {}}\n",
            "e",
            r"environments\.e\.info: unknown severity \(known: page, ticket\)",
        ),
        ("recipients: [a@b.co]\n", "e", r"environments: missing"),
        ("environments: [\n", "e", r"file: cannot be read as YAML"),
    ],
    ids=[
        "environment",
        "severity-missing",
        "severity-empty",
        "channel",
        "address",
        "empty-list",
        "unknown-severity",
        "no-environments",
        "yaml",
    ],
)
def test_a_bad_config_is_refused_naming_the_field(tmp_path, text, environment, message):
    path = _write(tmp_path, text)
    with pytest.raises(NotificationConfigError, match=message) as raised:
        load(path, environment)
    assert str(path) in str(raised.value)


def test_a_launch_plan_severity_is_page_or_ticket():
    with pytest.raises(ValueError, match="severity 'urgent': one of"):
        notifications.on_failure("urgent")


def test_cd_registers_production_with_its_recipients():
    import yaml

    from core.paths import PROJECT_ROOT

    cd = yaml.safe_load((PROJECT_ROOT / ".github" / "workflows" / "cd.yml").read_text())
    steps = [s for s in cd["jobs"]["register"]["steps"] if "pyflyte" in str(s.get("run", ""))]
    assert len(steps) == 1 and "--domain production" in steps[0]["run"]
    assert steps[0]["env"]["MLOPS_ENVIRONMENT"] == "production"
