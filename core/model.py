"""The model: one scikit-learn Pipeline (preprocessing inside), hyperparameters as one dataclass."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.schemas import CATEGORICAL_FEATURES, FEATURES, LABEL, NUMERIC_FEATURES
from operational.definitions import OPERATIONAL_FEATURES

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


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
    threshold: float = 0.35  # a flight scoring at or above this is flagged late
    random_state: int = 42
    # False: the model without the operational features, for comparison (`scripts.replay
    # --without-operational-features`): their columns are held constant in the fit, so no tree
    # splits on them and whatever the store gives at scoring time changes nothing.
    operational_features: bool = True

    def as_params(self) -> dict:
        return asdict(self)


def build_pipeline(hp: Hyperparameters, native_categories: bool = False) -> Pipeline:
    """Categories are ordinal-encoded (unknown -> missing, which the trees route like missing);
    numbers pass through untouched: the trees need no scaling.

    The codes are split on as numbers (threshold splits), not as native categorical splits:
    every split is then a threshold, for which exact per-feature contributions exist (TreeSHAP;
    `explain.TreeExplainer`), and the holdout AUC was higher on June, July and August 2013
    (docs/performance.md, `benchmarks/model_encoding.py`). `native_categories=True` builds the
    former model, kept for that comparison only."""
    # scikit-learn is imported here, not at module level: the dataclass above is a task input
    # type, and `pyflyte` should not pay scikit-learn's import time to read a signature.
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    encode = ColumnTransformer(
        [
            (
                "categories",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                    dtype=np.float64,
                ),
                CATEGORICAL_FEATURES,
            ),
            ("numbers", "passthrough", NUMERIC_FEATURES),
        ],
        verbose_feature_names_out=False,
    )
    classifier = HistGradientBoostingClassifier(
        learning_rate=hp.learning_rate,
        max_iter=hp.max_iter,
        max_leaf_nodes=hp.max_leaf_nodes,
        min_samples_leaf=hp.min_samples_leaf,
        l2_regularization=hp.l2_regularization,
        max_bins=hp.max_bins,
        early_stopping=hp.early_stopping,
        validation_fraction=hp.validation_fraction,
        n_iter_no_change=hp.n_iter_no_change,
        categorical_features=list(range(len(CATEGORICAL_FEATURES))) if native_categories else None,
        random_state=hp.random_state,
    )
    return Pipeline([("encode", encode), ("classify", classifier)])


def fit(train: pd.DataFrame, hp: Hyperparameters, sample_weight: np.ndarray | None = None) -> Pipeline:
    if not hp.operational_features:
        train = train.assign(**dict.fromkeys(OPERATIONAL_FEATURES, 0.0))
    pipeline = build_pipeline(hp)
    pipeline.fit(train[FEATURES], train[LABEL].to_numpy(), classify__sample_weight=sample_weight)
    return pipeline


def refit_hyperparameters(hp: Hyperparameters, judged: Pipeline) -> Hyperparameters:
    """The judged model's configuration with the tree count early stopping found, and early
    stopping off: the refit on every known label keeps all of them (no validation split) and
    grows exactly as many trees as the model that was judged."""
    return replace(hp, max_iter=int(judged[-1].n_iter_), early_stopping=False)


def refit(
    known: pd.DataFrame, hp: Hyperparameters, judged: Pipeline, sample_weight: np.ndarray | None = None
) -> Pipeline:
    """The deployed model: the judged model's configuration fit on every row known at `as_of`
    (training and holdout)."""
    return fit(known, refit_hyperparameters(hp, judged), sample_weight)


def predict_scores(model, table: pd.DataFrame) -> np.ndarray:
    """Probability of a late arrival for each row."""
    return model.predict_proba(table[FEATURES])[:, 1]
