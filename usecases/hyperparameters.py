"""The hyperparameters of the model the loop trains (`core.model`), as one dataclass: a task
input, read without scikit-learn.

It sits beside the declaration because a use case overrides its defaults (`UseCase.hyperparameters`)
and the declaration is checked against its fields at load. Each field's default is the current use
case's (its override, its threshold) when an instance is made, not when this module loads: a
partial `--hyperparameters '{"max_iter": 60}'` given to `pyflyte run` keeps the use case's
threshold instead of the base value."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any


def _declared(name: str, base: Any) -> Any:
    """The current use case's default of field `name`: its override, its threshold, else `base`."""
    import usecases  # here, not above: the declaration's check imports this module

    case = usecases.current()
    if name in case.hyperparameters:
        return case.hyperparameters[name]
    return float(case.threshold) if name == "threshold" else base


def _default(name: str, base: Any) -> Any:
    return field(default_factory=partial(_declared, name, base))


@dataclass
class Hyperparameters:
    """Gradient-boosted trees on ordinal category codes. The defaults are set by hand;
    `workflows/tuning.py` searches a grid on a validation month before the holdout."""

    learning_rate: float = _default("learning_rate", 0.06)
    max_iter: int = _default("max_iter", 400)
    max_leaf_nodes: int = _default("max_leaf_nodes", 63)
    min_samples_leaf: int = _default("min_samples_leaf", 80)
    l2_regularization: float = _default("l2_regularization", 1.0)
    max_bins: int = _default("max_bins", 255)
    early_stopping: bool = _default("early_stopping", True)
    validation_fraction: float = _default("validation_fraction", 0.1)
    n_iter_no_change: int = _default("n_iter_no_change", 30)
    # A row scoring at or above this is flagged positive: by default the use case's threshold.
    threshold: float = _default("threshold", None)
    random_state: int = _default("random_state", 42)
    # False: the model without the use case's online (operational) features, for comparison
    # (`scripts.replay --without-operational-features`): their columns are held constant in the
    # fit, so no tree splits on them and whatever the store gives at scoring time changes nothing.
    operational_features: bool = _default("operational_features", True)

    def as_params(self) -> dict:
        return asdict(self)
