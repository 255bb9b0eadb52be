"""Dataclass fields whose default is the current use case's monitoring threshold or gate setting
(its `monitoring` or `gate` override, else the base value of `usecases.loop_defaults`), read when
an instance is made: `core.monitoring.MonitoringThresholds` and `core.gate.GateConfig` are made of
them, as `usecases.hyperparameters.Hyperparameters` is of the model's."""

from __future__ import annotations

from dataclasses import field
from functools import partial
from typing import Any

import usecases
from usecases.loop_defaults import SECTIONS


def declared(section: str, name: str) -> Any:
    """The current use case's value of `name` in `section` (`monitoring` or `gate`): its
    override, else the base (a list is copied: each instance owns its own)."""
    value = getattr(usecases.current(), section).get(name, SECTIONS[section][name])
    return list(value) if isinstance(value, (list, tuple)) else value


def loop_default(section: str, name: str) -> Any:
    """A dataclass field whose default is `declared(section, name)` when an instance is made."""
    return field(default_factory=partial(declared, section, name))
