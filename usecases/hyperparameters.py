"""The hyperparameters of the model the loop trains (`core.model`), as one dataclass: a task
input, read without scikit-learn.

It sits beside the declaration because a use case overrides its defaults (`UseCase.hyperparameters`,
checked at load against `usecases.model_defaults`). Each field's default is the current use
case's (its override, its threshold) when an instance is made, not when this module loads: a
partial `--hyperparameters '{"max_iter": 60}'` given to `pyflyte run` keeps the use case's
threshold instead of the base value."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import usecases
from usecases.model_defaults import BASE_HYPERPARAMETERS


def _declared(name: str) -> Any:
    """The current use case's default of field `name`: its override, its threshold, else the base."""
    case = usecases.current()
    if name in case.hyperparameters:
        return case.hyperparameters[name]
    return float(case.threshold) if name == "threshold" else BASE_HYPERPARAMETERS[name]


def _default(name: str) -> Any:
    return field(default_factory=partial(_declared, name))


@dataclass
class Hyperparameters:
    """Gradient-boosted trees on ordinal category codes. The defaults are set by hand;
    `workflows/tuning.py` searches a grid on a validation month before the holdout."""

    learning_rate: float = _default("learning_rate")
    max_iter: int = _default("max_iter")
    max_leaf_nodes: int = _default("max_leaf_nodes")
    min_samples_leaf: int = _default("min_samples_leaf")
    l2_regularization: float = _default("l2_regularization")
    max_bins: int = _default("max_bins")
    early_stopping: bool = _default("early_stopping")
    validation_fraction: float = _default("validation_fraction")
    n_iter_no_change: int = _default("n_iter_no_change")
    # A row scoring at or above this is flagged positive: by default the use case's threshold.
    threshold: float = _default("threshold")
    random_state: int = _default("random_state")
    # False: the model without the use case's online (operational) features, for comparison
    # (`scripts.replay --without-operational-features`): their columns are held constant in the
    # fit, so no tree splits on them and whatever the store gives at scoring time changes nothing.
    operational_features: bool = _default("operational_features")

    def as_params(self) -> dict:
        return asdict(self)
