"""Rebuild a registered version from its recorded data and hyperparameters (core.reproduce)."""

from __future__ import annotations

from pathlib import Path

import flytekit

from core.reproduce import Reproduction
from tasks.training import TRAIN_RESOURCES
from tasks.util import Service, pipeline_task


class NotReproduced(RuntimeError):
    """The rebuilt model file differs from the registered one."""


# Not cached on purpose: a rebuild answered from the cache would prove nothing.
@pipeline_task(cache=False, calls=[Service.TRACKING], requests=TRAIN_RESOURCES)
def rebuild_version(tracking_uri: str, model_name: str, version: str) -> Reproduction:
    """Fit `version` again from the frames its run keeps (digests checked) and the
    hyperparameters its bundle names; fails unless the model file has the registered sha256."""
    from core.reproduce import rebuild

    directory = Path(flytekit.current_context().working_directory) / f"reproduce-{version}"
    directory.mkdir(parents=True, exist_ok=True)
    reproduction = rebuild(model_name, version, directory)
    if not reproduction.identical:
        raise NotReproduced(
            f"version {version} rebuilt to model.skops sha256 {reproduction.rebuilt_sha256}, "
            f"registered {reproduction.registered_sha256}"
        )
    return reproduction
