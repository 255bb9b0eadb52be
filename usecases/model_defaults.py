"""The base defaults of the model's hyperparameters, as plain data: what a use case's
`hyperparameters` overrides. A leaf module: the declaration's check reads the names here, and
`usecases.hyperparameters` (which looks up the current use case) builds the dataclass from them,
so neither imports the other."""

from __future__ import annotations

from typing import Any

BASE_HYPERPARAMETERS: dict[str, Any] = {
    "learning_rate": 0.06,
    "max_iter": 400,
    "max_leaf_nodes": 63,
    "min_samples_leaf": 80,
    "l2_regularization": 1.0,
    "max_bins": 255,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 30,
    "threshold": None,  # the use case's threshold
    "random_state": 42,
    "operational_features": True,
}
