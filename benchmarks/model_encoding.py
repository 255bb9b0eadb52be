"""How the three category columns enter the trees: native categorical splits vs ordinal codes split
on as numbers, same hyperparameters, on three monthly holdouts of the real 2013 data.

    python benchmarks/model_encoding.py [--as-of 2013-07-01 2013-08-01 2013-09-01] [--rows 1000]

For each `as_of` (holdout: the month before it; training: the five months before that, as the
training workflow cuts them) it fits both Pipelines (`core.model.build_pipeline`) and prints the
holdout ROC AUC, log loss, Brier score and trees fitted, then how far base value + contributions
lands from the raw score (log-odds) on `--rows` holdout rows:
  - `explain.TreeExplainer` (this project's exact TreeSHAP), for the ordinal model (it refuses native
    categorical splits);
  - shap's `TreeExplainer`, for both models, when shap is importable (it is not a dependency of
    the project: run this script with PYTHONPATH=. from an environment that has shap 0.49).
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from core import features
from core.model import Hyperparameters, build_pipeline
from usecases.flights import source
from usecases.flights.features import build_features
from usecases.flights.schemas import FEATURES, LABEL

TRAIN_MONTHS, HOLDOUT_MONTHS = 5, 1


def _shap_gap(model, rows) -> tuple[float, float] | None:
    """(max |base + sum(shap) - raw|, ms per row) with shap's TreeExplainer, if installed."""
    try:
        import shap
    except ImportError:
        return None
    encoded = model[:-1].transform(rows)
    explainer = shap.TreeExplainer(model[-1])
    began = time.perf_counter()
    values = explainer.shap_values(encoded, check_additivity=False)
    ms = (time.perf_counter() - began) * 1000 / len(rows)
    raw = model[-1].decision_function(encoded)
    return float(np.max(np.abs(explainer.expected_value + values.sum(axis=1) - raw))), ms


def _engine_gap(model, rows) -> float | None:
    try:
        from explain import TreeExplainer
    except ImportError:
        return None
    try:
        explainer = TreeExplainer.from_pipeline(model)
    except ValueError:  # native categorical splits: refused, by design
        return None
    explained = explainer.explain(rows)
    raw = model.decision_function(rows)
    return float(np.max(np.abs(explained.base_value + explained.contributions.sum(axis=1) - raw)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", nargs="+", default=["2013-07-01", "2013-08-01", "2013-09-01"])
    parser.add_argument("--rows", type=int, default=1000, help="holdout rows for the additivity check")
    args = parser.parse_args()

    hp = Hyperparameters()
    header = (
        f"{'holdout':8} {'encoding':17} {'ROC AUC':>8} {'log loss':>8} {'Brier':>7} {'trees':>5} "
        f"{'fit s':>6} {'engine gap':>10} {'shap gap':>9} {'shap ms/row':>11}"
    )
    print(header)
    for as_of in args.as_of:
        window = features.month_window(datetime.fromisoformat(as_of), TRAIN_MONTHS, HOLDOUT_MONTHS)
        table = build_features(source.load_window("", window.train_start, window.end))
        train, holdout = features.split_by_time(table, window.holdout_start)
        sample = holdout.sample(min(args.rows, len(holdout)), random_state=0)[FEATURES]
        for native in (True, False):
            began = time.perf_counter()
            model = build_pipeline(hp, native_categories=native)
            model.fit(train[FEATURES], train[LABEL].to_numpy())
            seconds = time.perf_counter() - began
            scores = model.predict_proba(holdout[FEATURES])[:, 1]
            truth = holdout[LABEL].to_numpy()
            engine = _engine_gap(model, sample)
            shap_result = _shap_gap(model, sample)
            print(
                f"{window.holdout_start:%Y-%m} {'native categories' if native else 'ordinal codes':17} "
                f"{roc_auc_score(truth, scores):8.4f} {log_loss(truth, scores):8.4f} "
                f"{brier_score_loss(truth, scores):7.4f} {model[-1].n_iter_:5d} {seconds:6.1f} "
                f"{'-' if engine is None else f'{engine:.1e}':>10} "
                f"{'-' if shap_result is None else f'{shap_result[0]:.2e}':>9} "
                f"{'-' if shap_result is None else f'{shap_result[1]:.2f}':>11}",
                flush=True,
            )


if __name__ == "__main__":
    main()
