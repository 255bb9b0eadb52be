"""Cost of exact contributions per row, side by side in one process, on the project's model.

    OMP_NUM_THREADS=1 python benchmarks/explanations.py [--bundle DIR] [--rows 1000] [--repeats 200]

Without `--bundle` it trains the default model as of 2013-07-01 (January-May 2013, holdout June)
in process. Rows are June 2013 flights. It prints, per row:
  - `explain.TreeExplainer` on one encoded row (what the serving route adds to a prediction),
    median and 90th percentile of `--repeats` calls, and on `--rows` rows in one call;
  - the same model's one-row `predict_proba` (the reference point of a prediction);
  - shap 0.49's `TreeExplainer` one row and `--rows` rows, when shap is importable (it is not a
    dependency: run from an environment that has it, with PYTHONPATH=.);
and the largest |base value + contributions - raw score| over the rows.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime

import numpy as np


def _per_call_ms(call, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))]


def _model(bundle_dir: str | None):
    if bundle_dir:
        from contract.bundle import load_bundle

        return load_bundle(bundle_dir, require_reference=False).model
    from core import features, source
    from core.model import Hyperparameters, fit

    window = features.month_window(datetime(2013, 7, 1), 5, 1)
    table = features.build_features(source.load_window("", window.train_start, window.holdout_start))
    return fit(table, Hyperparameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", help="a bundle directory; default: train as of 2013-07-01")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    from core import features, source
    from core.schemas import FEATURES
    from explain import TreeExplainer

    model = _model(args.bundle)
    june = features.build_features(source.load_window("", datetime(2013, 6, 1), datetime(2013, 7, 1)))
    rows = june[FEATURES].sample(args.rows, random_state=0)
    encoded = model[:-1].transform(rows)

    began = time.perf_counter()
    explainer = TreeExplainer.from_pipeline(model)
    build_s = time.perf_counter() - began
    print(
        f"model: {model[-1].n_iter_} trees, {explainer.n_leaves} leaves, at most "
        f"{explainer.max_path_features} features on a path; explainer built in {build_s:.2f} s"
    )
    explained = explainer.explain_encoded(encoded)
    gap = np.abs(explained.raw - model[-1].decision_function(encoded)).max()
    print(f"largest |base + contributions - raw| on {len(rows)} June rows: {gap:.2e} log-odds")

    one = encoded[:1]
    frame_one = rows.iloc[:1]

    def explain_one():
        return explainer.explain_encoded(one)

    def predict_one():
        return model.predict_proba(frame_one)

    results = [
        (
            "explain.TreeExplainer, one encoded row",
            *_per_call_ms(lambda: explainer.explain_encoded(one), args.repeats),
        ),
        (
            "predict_proba, one row (Pipeline)",
            *_per_call_ms(lambda: model.predict_proba(frame_one), args.repeats),
        ),
    ]
    began = time.perf_counter()
    explainer.explain_encoded(encoded)
    batch_ms = (time.perf_counter() - began) * 1000 / len(rows)
    results.append((f"explain.TreeExplainer, {len(rows)} rows in one call", batch_ms, batch_ms))
    try:
        import shap
    except ImportError:
        shap = None
    if shap is not None:
        tree = shap.TreeExplainer(model[-1])
        results.append(
            (
                "shap TreeExplainer, one encoded row",
                *_per_call_ms(lambda: tree.shap_values(one), args.repeats),
            )
        )
        began = time.perf_counter()
        tree.shap_values(encoded)
        shap_ms = (time.perf_counter() - began) * 1000 / len(rows)
        results.append((f"shap TreeExplainer, {len(rows)} rows in one call", shap_ms, shap_ms))
        agreement = np.abs(tree.shap_values(encoded) - explained.contributions).max()
        print(f"largest |engine - shap| contribution on {len(rows)} rows: {agreement:.2e}")
    reference = results[0][1]
    print(f"{'per row':45} {'median ms':>10} {'p90 ms':>8} {'vs engine':>10}")
    for name, median, p90 in results:
        print(f"{name:45} {median:10.3f} {p90:8.3f} {median / reference:9.2f}x")


if __name__ == "__main__":
    main()
