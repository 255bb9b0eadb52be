"""Measurements that need a process of their own (peak RSS, a store of their own).

python benchmarks/pipeline_probes.py mlflow-overhead | training-memory
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from contract.bundle import Metadata, load_bundle, read_metadata
from core import registry
from core.bundle import build_reference, build_schema, write_bundle
from core.features import build_features, month_window, split_by_time
from core.model import Hyperparameters, fit, predict_scores
from core.source import load_window
from scoring.compiled import check_parity


def mlflow_overhead(repeats: int = 3) -> float:
    """Median seconds to write a bundle (model.skops, compiled trees), check the compiled trees'
    parity on the holdout, and log + register it, on a store that already exists. The model is
    the default one (`Hyperparameters()`, up to 400 trees), refitted with another seed each time
    so that every repeat registers a new version."""
    table = build_features(load_window("", datetime(2013, 1, 1), datetime(2013, 3, 1)))
    train, holdout = split_by_time(table, datetime(2013, 2, 1))
    registry.experiment_id()  # first use of a SQLite store runs its migrations: not timed
    times = []
    for seed in range(repeats + 1):
        model = fit(train, Hyperparameters(random_state=seed))
        directory = Path(tempfile.mkdtemp())
        started = time.perf_counter()
        reference = build_reference(train, predict_scores(model, train), float(train["late"].mean()))
        write_bundle(directory, model, build_schema(train, 0.35), reference, Metadata())
        check_parity(load_bundle(directory, require_reference=False), holdout)
        registry.log_training_run(
            bundle_dir=directory,
            metadata=read_metadata(directory),
            params=Hyperparameters().as_params(),
            metrics={"roc_auc": 0.7},
            train=train,
            holdout=holdout,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])  # the first pays one-off imports


def training_memory() -> tuple[float, int]:
    """Peak RSS (MiB) of loading, featurizing and fitting the as_of=2013-07-01 training window."""
    window = month_window(datetime(2013, 7, 1), 5, 1)
    table = build_features(load_window("", window.train_start, window.end))
    train, _ = split_by_time(table, window.holdout_start)
    fit(train, Hyperparameters())
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, len(train)


if __name__ == "__main__":
    if sys.argv[1] == "mlflow-overhead":
        print(mlflow_overhead())
    else:
        print(*training_memory())
