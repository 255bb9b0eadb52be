"""Batch scoring: split a feature table into day partitions, score one partition with a bundle,
summarise the predictions. Plain pandas; `tasks/batch.py` wraps it as a map task.

The predictions table follows the use case (`usecases.current()` unless one is given): its key,
event timestamp and slice columns, the score, the predicted flag (`case.predicted`), the truth
(`case.label`) when known, and the model's lineage."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

import usecases
from core.features import naive
from usecases.spec import UseCase

SCORE = "score"
LINEAGE = ["model_version", "run_id"]
REASON_COLUMNS = [f"reason_{r}{suffix}" for r in (1, 2, 3) for suffix in ("", "_contribution")]


def prediction_columns(case: UseCase | None = None) -> list[str]:
    """The columns of the predictions table, in order (the reasons follow when asked for)."""
    case = case or usecases.current()
    slices = [c for c in case.slices if c not in (case.key, case.timestamp)]
    return [case.key, case.timestamp, *slices, SCORE, case.predicted, case.label, *LINEAGE]


class _Predictions(pa.DataFrameModel):
    """What every use case's predictions table holds besides its own columns."""

    score: Series[float] = pa.Field(in_range={"min_value": 0.0, "max_value": 1.0})
    model_version: Series[str]
    run_id: Series[str]
    # With `reasons=True` (batch_inference_workflow): the three features that moved the score
    # most, and by how much (log-odds, core.explanations.top_reasons).
    reason_1: Series[str] | None
    reason_1_contribution: Series[float] | None
    reason_2: Series[str] | None
    reason_2_contribution: Series[float] | None
    reason_3: Series[str] | None
    reason_3_contribution: Series[float] | None

    class Config:
        strict = True
        ordered = False


def prediction_table(case: UseCase) -> type[pa.DataFrameModel]:
    """The pandera model of `case`'s predictions: one scored row each, its key (unique), event
    time, slice columns, score, predicted flag (1 at or above the bundle's threshold), the truth
    when known (nullable: a future event has none yet), and the lineage of the model. Fields are
    named by position and aliased to the use case's columns (any column name works)."""
    return _prediction_table(case.name, tuple(prediction_columns(case)))


@cache
def _prediction_table(name: str, columns: tuple[str, ...]) -> type[pa.DataFrameModel]:
    key, timestamp, *slices = columns[:-5]
    predicted, label = columns[-4:-2]
    fields: dict[str, Any] = {
        "key": pa.Field(unique=True, alias=key),
        "timestamp": pa.Field(alias=timestamp),
        "predicted": pa.Field(isin=[0, 1], alias=predicted),
        "truth": pa.Field(nullable=True, isin=[0, 1], coerce=True, alias=label),
    }
    annotations: dict[str, Any] = {
        "key": Series[str],
        "timestamp": Series[pd.Timestamp],
        "predicted": Series[int],
        "truth": Series[pd.Int64Dtype],
    }
    for index, column in enumerate(slices):
        fields[f"slice_{index}"] = pa.Field(alias=column)
        annotations[f"slice_{index}"] = Series[str]
    title = "".join(part.capitalize() for part in name.split("-")) + "Predictions"
    return type(title, (_Predictions,), {"__annotations__": annotations, **fields, "__module__": __name__})


def __getattr__(name: str) -> Any:
    # `PredictionTable`: the current use case's model, resolved when it is read, never at import
    if name == "PredictionTable":
        return prediction_table(usecases.current())
    raise AttributeError(f"module 'core.batch' has no attribute '{name}'")


def day_partitions(table: pd.DataFrame, days: int = 1, case: UseCase | None = None) -> list[pd.DataFrame]:
    """One frame per `days` calendar days of event time (counted from the first day), in time
    order."""
    if days < 1:
        raise ValueError(f"days per partition must be at least 1, got {days}")
    day = table[(case or usecases.current()).timestamp].dt.normalize()
    block = (day - day.min()).dt.days // days
    return [part.reset_index(drop=True) for _, part in table.groupby(block, sort=True)]


def in_period(
    table: pd.DataFrame, start: datetime, end: datetime, case: UseCase | None = None
) -> pd.DataFrame:
    stamps = table[(case or usecases.current()).timestamp]
    keep = (stamps >= naive(start)) & (stamps < naive(end))
    return table.loc[keep].reset_index(drop=True)


def score_partition(
    predictor,
    table: pd.DataFrame,
    threshold: float,
    version: str,
    run_id: str,
    case: UseCase | None = None,
) -> pd.DataFrame:
    """Predictions of one partition with the model's lineage on every row. `predictor` is the
    serving predictor (`scoring.predictor.Predictor`): batch and online score the same way."""
    case = case or usecases.current()
    scores = predictor.score_frame(table) if len(table) else np.empty(0)
    label = case.label
    truth = table[label].astype("Int64") if label in table else pd.array([pd.NA] * len(table), "Int64")
    key, timestamp, *slices = prediction_columns(case)[:-5]
    return pd.DataFrame(
        {
            key: table[key].astype(str).to_numpy(),
            timestamp: table[timestamp].to_numpy(),
            **{column: table[column].astype(str).to_numpy() for column in slices},
            SCORE: scores.astype(np.float64),
            case.predicted: (scores >= threshold).astype(np.int64),
            label: truth,
            "model_version": str(version),
            "run_id": str(run_id),
        }
    )


def combine(parts: list[pd.DataFrame], case: UseCase | None = None) -> pd.DataFrame:
    if not parts:
        raise ValueError("no partitions were scored: the period holds no rows")
    case = case or usecases.current()
    frame = pd.concat(parts, ignore_index=True)
    columns = prediction_columns(case) + [c for c in REASON_COLUMNS if c in frame.columns]
    return frame.sort_values([case.timestamp, case.key], kind="stable").reset_index(drop=True)[columns]


def require_prediction_columns(frame: pd.DataFrame, case: UseCase | None = None) -> None:
    missing = [c for c in prediction_columns(case) if c not in frame.columns]
    if missing:
        raise ValueError(f"the predictions table is missing column(s) {missing}")


def summary_by(frame: pd.DataFrame, key: str, case: UseCase | None = None) -> pd.DataFrame:
    """Per day (`key="day"`) or per value of a column: rows, mean score, flagged (positive) rate
    and, where the truth is known, the realized rate of the positive class (`label_rate`)."""
    case = case or usecases.current()
    keys = frame[case.timestamp].dt.strftime("%Y-%m-%d") if key == "day" else frame[key]
    grouped = frame.assign(**{key: keys}).groupby(key, sort=True)
    return grouped.agg(
        rows=(SCORE, "size"),
        mean_score=(SCORE, "mean"),
        positive_rate=(case.predicted, "mean"),
        label_rate=(case.label, lambda s: s.dropna().astype(float).mean() if s.notna().any() else np.nan),
    ).reset_index()


def score_histogram(frame: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    counts, edges = np.histogram(frame[SCORE], bins=bins, range=(0.0, 1.0))
    return pd.DataFrame(
        {
            "score_from": edges[:-1],
            "score_to": edges[1:],
            "rows": counts,
            "share": counts / max(len(frame), 1),
        }
    )
