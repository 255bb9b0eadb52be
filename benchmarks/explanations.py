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
    from core import features
    from core.model import Hyperparameters, fit
    from usecases.flights import source
    from usecases.flights.features import build_features

    window = features.month_window(datetime(2013, 7, 1), 5, 1)
    table = build_features(source.load_window("", window.train_start, window.holdout_start))
    return fit(table, Hyperparameters())


def _per_row_ms(call, rows: int) -> float:
    """One call over `rows` rows, in milliseconds per row."""
    began = time.perf_counter()
    call()
    return (time.perf_counter() - began) * 1000 / rows


def _june_rows(rows: int):
    from usecases.flights import source
    from usecases.flights.features import build_features
    from usecases.flights.schemas import FEATURES

    june = build_features(source.load_window("", datetime(2013, 6, 1), datetime(2013, 7, 1)))
    return june[FEATURES].sample(rows, random_state=0)


def _build_explainer(model):
    """The engine's explainer, with its size and build time printed."""
    from explain import TreeExplainer

    began = time.perf_counter()
    explainer = TreeExplainer.from_pipeline(model)
    build_s = time.perf_counter() - began
    print(
        f"model: {model[-1].n_iter_} trees, {explainer.n_leaves} leaves, at most "
        f"{explainer.max_path_features} features on a path; explainer built in {build_s:.2f} s"
    )
    return explainer


def _engine_results(explainer, model, rows, encoded, repeats: int) -> list[tuple[str, float, float]]:
    """The engine one row and all rows, and the model's one-row predict_proba."""
    one = encoded[:1]
    frame_one = rows.iloc[:1]
    results = [
        (
            "explain.TreeExplainer, one encoded row",
            *_per_call_ms(lambda: explainer.explain_encoded(one), repeats),
        ),
        (
            "predict_proba, one row (Pipeline)",
            *_per_call_ms(lambda: model.predict_proba(frame_one), repeats),
        ),
    ]
    batch_ms = _per_row_ms(lambda: explainer.explain_encoded(encoded), len(rows))
    results.append((f"explain.TreeExplainer, {len(rows)} rows in one call", batch_ms, batch_ms))
    return results


def _shap_results(model, encoded, contributions, repeats: int) -> list[tuple[str, float, float]]:
    """shap's TreeExplainer one row and all rows, and its agreement with the engine; nothing when
    shap is not importable."""
    try:
        import shap
    except ImportError:
        return []
    tree = shap.TreeExplainer(model[-1])
    one = encoded[:1]
    results = [
        (
            "shap TreeExplainer, one encoded row",
            *_per_call_ms(lambda: tree.shap_values(one), repeats),
        )
    ]
    shap_ms = _per_row_ms(lambda: tree.shap_values(encoded), len(encoded))
    results.append((f"shap TreeExplainer, {len(encoded)} rows in one call", shap_ms, shap_ms))
    agreement = np.abs(tree.shap_values(encoded) - contributions).max()
    print(f"largest |engine - shap| contribution on {len(encoded)} rows: {agreement:.2e}")
    return results


def _print_results(results: list[tuple[str, float, float]]) -> None:
    reference = results[0][1]
    print(f"{'per row':45} {'median ms':>10} {'p90 ms':>8} {'vs engine':>10}")
    for name, median, p90 in results:
        print(f"{name:45} {median:10.3f} {p90:8.3f} {median / reference:9.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", help="a bundle directory; default: train as of 2013-07-01")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    model = _model(args.bundle)
    rows = _june_rows(args.rows)
    encoded = model[:-1].transform(rows)
    explainer = _build_explainer(model)
    explained = explainer.explain_encoded(encoded)
    gap = np.abs(explained.raw - model[-1].decision_function(encoded)).max()
    print(f"largest |base + contributions - raw| on {len(rows)} June rows: {gap:.2e} log-odds")

    results = _engine_results(explainer, model, rows, encoded, args.repeats)
    results += _shap_results(model, encoded, explained.contributions, args.repeats)
    _print_results(results)


if __name__ == "__main__":
    main()
