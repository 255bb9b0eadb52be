"""Rebuild a registered version's model file from what the version records, and compare.

The version keeps its frames (`core.version_data`, checked on read) and its bundle's metadata
names the hyperparameters and the row weights; the model is fit again the way training fits it
(the judged model on the training frame, then its refit on training + holdout, which is what the
version holds) and written in skops' canonical form (`contract.canonical`). The same sha256 as
the registered model.skops means the version is reproduced byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from contract.bundle import MODEL_FILE, dump_model, read_metadata


@dataclass
class Reproduction:
    model_name: str = ""
    version: str = ""
    registered_sha256: str = ""
    rebuilt_sha256: str = ""
    training_rows: int = 0
    holdout_rows: int = 0

    @property
    def identical(self) -> bool:
        return bool(self.registered_sha256) and self.rebuilt_sha256 == self.registered_sha256


def rebuild(model_name: str, version: str, directory: Path) -> Reproduction:
    """Fit the version again from its own frames and hyperparameters into `directory`."""
    import pandas as pd

    from core import registry
    from core.features import recency_weights
    from core.model import Hyperparameters, fit, refit
    from core.version_data import load_version_frames
    from usecases import current

    frames = load_version_frames(registry.client(), model_name, version)
    metadata = read_metadata(registry.download_bundle(model_name, version, directory / "registered"))
    hyperparameters = Hyperparameters(**metadata.hyperparameters)
    timestamp = current().timestamp
    half_life = metadata.training_window.recency_half_life_months
    train = frames["training"]
    judged = fit(train, hyperparameters, recency_weights(train[timestamp], half_life))
    known = pd.concat([train, frames["holdout"]], ignore_index=True)
    model = refit(known, hyperparameters, judged, recency_weights(known[timestamp], half_life))
    rebuilt = dump_model(model, directory / MODEL_FILE)
    return Reproduction(
        model_name=model_name,
        version=version,
        registered_sha256=metadata.model_sha256,
        rebuilt_sha256=rebuilt,
        training_rows=len(frames["training"]),
        holdout_rows=len(frames["holdout"]),
    )
