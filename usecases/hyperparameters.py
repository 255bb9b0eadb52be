"""The hyperparameters of the model the loop trains (`core.model`), as one dataclass: a task
input, read without scikit-learn.

It sits beside the declaration because a use case overrides its defaults (`UseCase.hyperparameters`)
and the declaration is checked against its fields at load; it imports nothing of the project."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Hyperparameters:
    """Gradient-boosted trees on ordinal category codes. The defaults are set by hand;
    `workflows/tuning.py` searches a grid on a validation month before the holdout."""

    learning_rate: float = 0.06
    max_iter: int = 400
    max_leaf_nodes: int = 63
    min_samples_leaf: int = 80
    l2_regularization: float = 1.0
    max_bins: int = 255
    early_stopping: bool = True
    validation_fraction: float = 0.1
    n_iter_no_change: int = 30
    threshold: float = 0.35  # a row scoring at or above this is flagged positive (the use case's)
    random_state: int = 42
    # False: the model without the use case's online (operational) features, for comparison
    # (`scripts.replay --without-operational-features`): their columns are held constant in the
    # fit, so no tree splits on them and whatever the store gives at scoring time changes nothing.
    operational_features: bool = True

    def as_params(self) -> dict:
        return asdict(self)
