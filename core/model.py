"""The model: one scikit-learn Pipeline (preprocessing inside), hyperparameters as one dataclass
(`usecases.hyperparameters`, re-exported here).

The columns come from the use case (`usecases.current()`): its categorical and numeric features
and its label."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import usecases
from core.threads import tree_threads
from usecases.hyperparameters import Hyperparameters

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from usecases import UseCase

__all__ = ["Hyperparameters", "build_pipeline", "fit", "predict_scores", "refit", "use_case_hyperparameters"]


def use_case_hyperparameters(case: UseCase | None = None) -> Hyperparameters:
    """The defaults for a use case (the current one by default): its threshold and its declared
    overrides of `Hyperparameters`' defaults."""
    case = case or usecases.current()
    return replace(Hyperparameters(threshold=float(case.threshold)), **dict(case.hyperparameters))


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

    case = usecases.current()
    categorical = list(case.categorical_features)
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
                categorical,
            ),
            ("numbers", "passthrough", list(case.numeric_features)),
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
        categorical_features=list(range(len(categorical))) if native_categories else None,
        random_state=hp.random_state,
    )
    return Pipeline([("encode", encode), ("classify", classifier)])


def fit(train: pd.DataFrame, hp: Hyperparameters, sample_weight: np.ndarray | None = None) -> Pipeline:
    case = usecases.current()
    if not hp.operational_features and case.online is not None:
        train = train.assign(**dict.fromkeys(case.online.features, 0.0))
    # scikit-learn fails such a fit with "window shape cannot be larger than input array shape"
    empty = [name for name in case.features if not train[name].notna().any()]
    if empty:
        raise ValueError(
            f"feature(s) {empty} have no value in the {len(train):,} rows to fit on: the trees cannot "
            "bin a feature without one (a wider window, or a source that has them)"
        )
    pipeline = build_pipeline(hp)
    with tree_threads():  # every free core, or one thread when the cores are taken (core/threads.py)
        pipeline.fit(
            train[list(case.features)], train[case.label].to_numpy(), classify__sample_weight=sample_weight
        )
    return without_thread_count(pipeline)


def without_thread_count(pipeline: Pipeline) -> Pipeline:
    """The fitted trees' bin mapper keeps the thread count it binned with (used only while
    fitting); the fit's count follows the machine's load, so it is reset to the constructor's
    default, and the same rows give the same model file, bundle and sha256 whatever the load."""
    pipeline[-1]._bin_mapper.n_threads = None
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
    """Probability of the positive class for each row."""
    return model.predict_proba(table[list(usecases.current().features)])[:, 1]
