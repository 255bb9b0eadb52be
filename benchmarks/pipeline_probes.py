"""Measurements that need a process of their own (peak RSS, a store of their own).

python benchmarks/pipeline_probes.py mlflow-overhead | kept-frames | cost-parts | training-memory
"""

from __future__ import annotations

import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pandas as pd

from contract.bundle import Metadata, load_bundle
from core import registry
from core.bundle import build_reference, build_schema, write_bundle
from core.evaluation import evaluate, slice_table
from core.features import month_window, split_by_time
from core.model import Hyperparameters, fit, predict_scores, refit
from core.reports import evaluation_figure, feature_importance
from scoring.parity import check_parity
from usecases.flights.features import build_features
from usecases.flights.schemas import LABEL
from usecases.flights.source import load_window


def mlflow_overhead(repeats: int = 3) -> dict:
    """Median seconds of what `evaluate_model` and `register_model` spend beyond fitting and
    scoring: write the bundle (model.skops, compiled trees, schema, reference, metadata), copy and
    reload it, check the compiled trees' parity on the whole holdout, and log + register it (run,
    params, metrics, two dataset inputs, evaluation figures, bundle, version, metadata with the
    version) on a store that already exists. Same window as `make demo`'s first training
    (as_of=2013-07-01: January-May 2013, June held out) and the default model
    (`Hyperparameters()`), refitted with another seed each time so that every repeat registers a
    new version. Fitting, the holdout scores, the metrics and the figures are not part of the
    overhead: the workflow computes them for the evaluation whether or not it registers anything.
    The fit and the refit on training + holdout (a training's two fits) are timed beside it."""
    window = month_window(datetime(2013, 7, 1), 5, 1)
    table = build_features(load_window("", window.train_start, window.end))
    train, holdout = split_by_time(table, window.holdout_start)
    known = pd.concat([train, holdout], ignore_index=True)
    registry.experiment_id()  # first use of a SQLite store runs its migrations: not timed
    hyperparameters = Hyperparameters()
    parts: dict[str, list[float]] = {
        "bundle": [],
        "parity": [],
        "mlflow": [],
        "total": [],
        "fit": [],
        "refit": [],
    }
    trees = []
    for seed in range(repeats + 1):
        seeded = replace(hyperparameters, random_state=seed)
        started = time.perf_counter()
        model = fit(train, seeded)
        fitted = time.perf_counter()
        refit(known, seeded, model)  # a training's second fit: what its run registers
        parts["fit"].append(fitted - started)
        parts["refit"].append(time.perf_counter() - fitted)
        trees.append(int(model[-1].n_iter_))
        for name, seconds in timed_registration(model, train, holdout, hyperparameters).items():
            parts[name].append(seconds)
    # the first repeat pays one-off imports (treelite, mlflow's logging paths): not counted
    return {
        **{name: statistics.median(values[1:]) for name, values in parts.items()},
        **deck_seconds(model, table, holdout, hyperparameters.threshold),
        **dataset_inputs(train, holdout, repeats),
        "trees": trees[1:],
        "train_rows": len(train),
        "holdout_rows": len(holdout),
    }


def timed_registration(model, train, holdout, hyperparameters) -> dict[str, float]:
    """Seconds of each part of one registration of a fitted `model`: bundle files, parity check,
    MLflow run and version. The holdout scores, metrics and figures are made first, untimed."""
    scores = predict_scores(model, holdout)
    metrics = evaluate(holdout[LABEL].to_numpy(), scores, hyperparameters.threshold)
    figures = Path(tempfile.mkdtemp())
    (figures / "evaluation.png").write_bytes(
        evaluation_figure(holdout[LABEL].to_numpy(), scores, hyperparameters.threshold)
    )
    slice_table(holdout, scores).to_csv(figures / "slices.csv", index=False)

    started = time.perf_counter()
    directory = Path(tempfile.mkdtemp())
    reference = build_reference(train, scores, float(train[LABEL].mean()))
    write_bundle(directory, model, build_schema(train, hyperparameters.threshold), reference, Metadata())
    registered_dir = Path(tempfile.mkdtemp())
    shutil.copytree(directory, registered_dir, dirs_exist_ok=True)
    bundled = time.perf_counter()
    loaded = load_bundle(registered_dir, require_reference=False)
    parity = check_parity(loaded, holdout)
    checked = time.perf_counter()
    registry.log_training_run(
        bundle_dir=registered_dir,
        metadata=replace(
            loaded.metadata,
            compiled=replace(
                parity.compiled, parity_rows=parity.rows, parity_max_abs_diff=parity.compiled_max_abs_diff
            ),
        ),
        params=hyperparameters.as_params(),
        metrics=metrics.as_dict(),
        train=train,
        holdout=holdout,
        evaluation_dir=figures,
    )
    ended = time.perf_counter()
    return {
        "bundle": bundled - started,
        "parity": checked - bundled,
        "mlflow": ended - checked,
        "total": ended - started,
    }


def deck_seconds(model, table, holdout, threshold: float) -> dict[str, float]:
    """Seconds of the two decks a training renders, as its tasks render them: the evaluation deck
    (metrics, figures, permutation importance, exact contributions on a sample, slices) and the
    data deck of the feature table."""
    from core.refusals import RefusedRows, row_account
    from tasks.data_deck import render_data_deck
    from tasks.evaluation_deck import render_evaluation_deck

    scores = predict_scores(model, holdout)
    metrics = evaluate(holdout[LABEL].to_numpy(), scores, threshold)
    slices = slice_table(holdout, scores)
    started = time.perf_counter()
    importance = feature_importance(model, holdout)
    render_evaluation_deck(model, holdout, scores, threshold, metrics, slices, importance)
    evaluated = time.perf_counter()
    render_data_deck(table, row_account(RefusedRows(rows_read=len(table)), len(table), table, LABEL))
    return {"evaluation_deck": evaluated - started, "data_deck": time.perf_counter() - evaluated}


def dataset_inputs(train, holdout, repeats: int) -> dict[str, float]:
    """Median seconds of the dataset records `log_training_run` logs for the two frames, side by
    side: MLflow computing the digest and inferring the schema from every value (`from_pandas`
    alone), and `core.mlflow_datasets` (what the registry logs), asserting the same answers."""
    from mlflow.data.pandas_dataset import from_pandas

    from core.mlflow_datasets import frame_digest, frame_schema

    figures = {}
    for context, frame in (("training", train), ("holdout", holdout)):
        times: dict[str, list[float]] = {"digest_whole": [], "schema_whole": [], "digest": [], "schema": []}
        for _ in range(repeats):
            marks = [time.perf_counter()]
            dataset = from_pandas(frame, name=context, targets=LABEL)
            marks.append(time.perf_counter())
            inferred = dataset.schema
            marks.append(time.perf_counter())
            digest = frame_digest(frame)
            marks.append(time.perf_counter())
            schema = frame_schema(frame)
            marks.append(time.perf_counter())
            assert (digest, schema) == (dataset.digest, inferred), f"{context}: not MLflow's answers"
            for name, begin, end in zip(times, marks, marks[1:], strict=False):
                times[name].append(end - begin)
        figures.update({f"{context}_{name}": statistics.median(values) for name, values in times.items()})
    return figures


def kept_frames(repeats: int = 3) -> dict:
    """Median seconds of keeping a version's two frames with its run (`core.version_data`:
    parquet files, their sha256, logged as artifacts) on `make demo`'s first window, in a run of
    a store that already exists."""
    import mlflow

    window = month_window(datetime(2013, 7, 1), 5, 1)
    table = build_features(load_window("", window.train_start, window.end))
    train, holdout = split_by_time(table, window.holdout_start)
    seconds = []
    with mlflow.start_run(experiment_id=registry.experiment_id()):
        for _ in range(repeats):
            started = time.perf_counter()
            registry._keep_frames(train, holdout)
            seconds.append(time.perf_counter() - started)
    return {"seconds": statistics.median(seconds), "rows": len(train) + len(holdout)}


def training_memory() -> tuple[float, int]:
    """Peak RSS (MiB) of loading, featurizing and fitting the as_of=2013-07-01 training window."""
    window = month_window(datetime(2013, 7, 1), 5, 1)
    table = build_features(load_window("", window.train_start, window.end))
    train, _ = split_by_time(table, window.holdout_start)
    fit(train, Hyperparameters())
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, len(train)


def cost_parts() -> dict[str, float]:
    """CPU seconds of the parts of a cold training that are not the fit, beside the fit, on
    `make demo`'s first window and the default model (run it with OMP_NUM_THREADS=1: CPU time
    on one thread is what a loaded machine moves least)."""
    from core import drift, explanations
    from tasks.frames import hash_frame
    from usecases.flights.schemas import FeatureTable, RawFlights

    parts: dict[str, float] = {}

    def cpu(name: str, work):
        started = time.process_time()
        result = work()
        parts[name] = time.process_time() - started
        return result

    window = month_window(datetime(2013, 7, 1), 5, 1)
    raw = cpu("load window", lambda: load_window("", window.train_start, window.end))
    table = cpu("build features", lambda: build_features(raw))
    train, holdout = split_by_time(table, window.holdout_start)
    model = cpu("fit", lambda: fit(train, Hyperparameters()))
    known = pd.concat([train, holdout], ignore_index=True)
    cpu("refit", lambda: refit(known, Hyperparameters(), model))
    cpu("holdout scores", lambda: predict_scores(model, holdout))
    importance = cpu("permutation importance (deck)", lambda: feature_importance(model, holdout))
    cpu("drift weights from it", lambda: drift.importance_weights(importance))
    cpu("explainer", lambda: explanations.explainer_for(model))
    sample = holdout.sample(min(explanations.GLOBAL_SAMPLE, len(holdout)), random_state=0)
    cpu("contributions of the explained sample", lambda: explanations.contributions_frame(model, sample))
    cpu("validate training frame", lambda: FeatureTable.validate(train, lazy=True))
    cpu("validate raw window", lambda: RawFlights.validate(raw, lazy=True))
    cpu("hash training frame", lambda: hash_frame(train))
    return {name: round(seconds, 2) for name, seconds in parts.items()}


PROBES = {
    "mlflow-overhead": lambda: json.dumps(mlflow_overhead()),
    "kept-frames": lambda: json.dumps(kept_frames()),
    "cost-parts": lambda: json.dumps(cost_parts()),
    "training-memory": lambda: " ".join(str(value) for value in training_memory()),
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in PROBES:
        raise SystemExit(f"usage: pipeline_probes.py {' | '.join(PROBES)}")
    print(PROBES[sys.argv[1]]())
