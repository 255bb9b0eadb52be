"""Batch inference workflow: score the events of [start, end) (whole days) with the champion,
or a given version, one mapped task per day.

    pyflyte run workflows/batch_inference.py batch_inference_workflow \
        --start 2013-07-01 --end 2013-08-01
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from flytekit import map_task, workflow

from tasks.batch import (
    PredictionFrame,
    collect_predictions,
    days_from,
    period_features,
    resolve_model,
    score_partition,
    split_days,
)
from tasks.data import DataConfig, load_source
from tasks.frames import USE_CASE
from tasks.util import tracking_target, truth_known_at

# Concurrency bounds the pods a cluster runs at once; locally the days run one after another.
SCORE_CONCURRENCY = 16


@workflow
def batch_inference_workflow(
    start: datetime,
    end: datetime,
    model_version: str = "",
    model_name: str = USE_CASE.model_name,
    data: DataConfig = DataConfig(),
    days_per_partition: int = 7,
    reasons: bool = False,
) -> PredictionFrame:
    """Predictions (key, time, slices, score, flag, truth, version, run id), by time.

    Partitions are weeks by default: each `predict_proba` call has a fixed cost that ~930-row days
    pay 184 times over half a year (by day and by week: docs/performance.md); a cluster still fans
    the weeks out. `days_per_partition=1` scores (and caches) by day.

    `reasons=True` adds each row's top three reasons (reason_1 .. reason_3: the feature, and
    reason_k_contribution: how far it moved the log-odds from the model's base value); it costs a
    few milliseconds a row (docs/explanations.md)."""
    resolved = resolve_model(tracking_uri=tracking_target(), model_name=model_name, version=model_version)
    loaded = load_source(source_dir=data.source_dir, start=start, end=end)
    table = period_features(raw=loaded.raw, known_at=truth_known_at(end=end))
    days = split_days(table=table, days_per_partition=days_per_partition)
    scored = map_task(
        partial(score_partition, model=resolved.model, bundle=resolved.bundle, reasons=reasons),
        concurrency=SCORE_CONCURRENCY,
    )(partition=days)
    return collect_predictions(parts=scored, model=resolved.model)


@workflow
def daily_batch_inference_workflow(
    kickoff_time: datetime,
    days: int = 1,
    model_version: str = "",
    model_name: str = USE_CASE.model_name,
    data: DataConfig = DataConfig(),
) -> PredictionFrame:
    """Score the events of the kickoff's date (and of the `days - 1` after it)."""
    period = days_from(kickoff=kickoff_time, days=days, before=False)
    return batch_inference_workflow(
        start=period.start,
        end=period.end,
        model_version=model_version,
        model_name=model_name,
        data=data,
    )
