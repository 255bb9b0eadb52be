"""Flyte notifications of the launch plans: a scheduled run that fails or times out reaches a person.

The recipients live in a small config (`notifications.yaml` beside this module, or the file
MLOPS_NOTIFICATIONS_FILE names), one section per environment; MLOPS_ENVIRONMENT chooses the
section (default `development`). Flyte bakes notifications into a launch plan when it is
registered, so the environment is read when the launch plans are built: register each Flyte
domain with its own MLOPS_ENVIRONMENT. A bad config fails the import (and so `pyflyte register`)
with a message naming the field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from flytekit import Email, PagerDuty, Slack, WorkflowExecutionPhase
from flytekit.core.notification import Notification

CONFIG_FILE = Path(__file__).with_name("notifications.yaml")
CONFIG_ENV = "MLOPS_NOTIFICATIONS_FILE"
ENVIRONMENT_ENV = "MLOPS_ENVIRONMENT"
DEFAULT_ENVIRONMENT = "development"
SEVERITIES = ("page", "ticket")
# Terminal phases a person must hear of; a success is the normal case and an abort was a person's.
PHASES = (WorkflowExecutionPhase.FAILED, WorkflowExecutionPhase.TIMED_OUT)
CHANNELS = {"email": Email, "slack": Slack, "pagerduty": PagerDuty}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class NotificationConfigError(ValueError):
    """A notifications config that cannot work: the message names the file and the field."""

    def __init__(self, source: Path, field: str, problem: str):
        super().__init__(f"{source}: {field}: {problem}")
        self.field = field


@dataclass(frozen=True)
class Recipients:
    """One severity's recipients per channel (email addresses, Slack and PagerDuty included)."""

    by_channel: Mapping[str, tuple[str, ...]]

    def notifications(self) -> list[Notification]:
        return [
            CHANNELS[channel](phases=list(PHASES), recipients_email=list(emails))
            for channel, emails in self.by_channel.items()
        ]


def load(path: Path, environment: str) -> dict[str, Recipients]:
    """The recipients of each severity in `environment`, checked: every severity has at least
    one well-formed address; unknown environments, severities and channels are refused."""
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise NotificationConfigError(path, "file", f"cannot be read as YAML ({exc})") from exc
    environments = (config or {}).get("environments") if isinstance(config, dict) else None
    if not isinstance(environments, dict) or not environments:
        raise NotificationConfigError(path, "environments", "missing: a mapping of environment names")
    if environment not in environments:
        known = ", ".join(sorted(environments))
        raise NotificationConfigError(
            path,
            f"environments.{environment}",
            f"no such environment (set by {ENVIRONMENT_ENV}; known: {known})",
        )
    section = environments[environment] or {}
    field = f"environments.{environment}"
    if not isinstance(section, dict):
        raise NotificationConfigError(path, field, "must map each severity to its recipients")
    unknown = sorted(set(section) - set(SEVERITIES))
    if unknown:
        raise NotificationConfigError(
            path, f"{field}.{unknown[0]}", f"unknown severity (known: {', '.join(SEVERITIES)})"
        )
    return {name: _recipients(path, f"{field}.{name}", section.get(name)) for name in SEVERITIES}


def _recipients(path: Path, field: str, value) -> Recipients:
    if not isinstance(value, dict) or not value:
        raise NotificationConfigError(path, field, "no recipients: a failed run would reach nobody")
    by_channel: dict[str, tuple[str, ...]] = {}
    for channel, emails in value.items():
        if channel not in CHANNELS:
            raise NotificationConfigError(
                path, f"{field}.{channel}", f"unknown channel (known: {', '.join(CHANNELS)})"
            )
        if not isinstance(emails, list) or not emails:
            raise NotificationConfigError(path, f"{field}.{channel}", "must be a non-empty list of addresses")
        for index, email in enumerate(emails):
            if not isinstance(email, str) or not _EMAIL.fullmatch(email):
                raise NotificationConfigError(
                    path, f"{field}.{channel}[{index}]", f"{email!r} is not an email address"
                )
        by_channel[channel] = tuple(emails)
    return Recipients(by_channel)


def on_failure(severity: str) -> list[Notification]:
    """The notifications of a launch plan of this severity, for the environment being registered."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r}: one of {SEVERITIES}")
    path = Path(os.environ.get(CONFIG_ENV) or CONFIG_FILE)
    environment = os.environ.get(ENVIRONMENT_ENV) or DEFAULT_ENVIRONMENT
    return load(path, environment)[severity].notifications()
