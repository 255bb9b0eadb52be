"""Reproduce workflow: rebuild a registered version byte for byte from what it records.

pyflyte run workflows/reproduce.py reproduce_workflow --version 2     (make reproduce VERSION=2)
"""

from __future__ import annotations

from flytekit import workflow

from core.reproduce import Reproduction
from tasks.frames import USE_CASE
from tasks.reproduce import rebuild_version
from tasks.util import tracking_target


@workflow
def reproduce_workflow(version: str, model_name: str = USE_CASE.model_name) -> Reproduction:
    """The version's model file, fit again from its kept training frame and hyperparameters;
    fails unless it has the registered sha256."""
    return rebuild_version(tracking_uri=tracking_target(), model_name=model_name, version=version)
