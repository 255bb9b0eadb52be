"""Batch scoring: split a feature table into day partitions, score one partition with a bundle,
summarise the predictions. Plain pandas; `tasks/batch.py` wraps it as a map task."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from contract.names import PREDICTED
from core.features import naive
from core.schemas import KEY, LABEL, TIMESTAMP

PREDICTION_COLUMNS = [
    KEY,
    TIMESTAMP,
    "carrier",
    "origin",
    "score",
    PREDICTED,
    LABEL,
    "model_version",
    "run_id",
]

REASON_COLUMNS = [f"reason_{r}{suffix}" for r in (1, 2, 3) for suffix in ("", "_contribution")]


class PredictionTable(pa.DataFrameModel):
    """One scored flight: key, time, slice columns, score, `predicted_late` (the flag at the
    bundle's threshold), the truth `late` when known (nullable: a future flight has none yet),
    and the lineage of the model."""

    flight_id: Series[str] = pa.Field(unique=True)
    sched_dep: Series[pd.Timestamp]
    carrier: Series[str]
    origin: Series[str]
    score: Series[float] = pa.Field(in_range={"min_value": 0.0, "max_value": 1.0})
    predicted_late: Series[int] = pa.Field(isin=[0, 1])
    late: Series[pd.Int64Dtype] = pa.Field(nullable=True, isin=[0, 1], coerce=True)
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


def day_partitions(table: pd.DataFrame, days: int = 1) -> list[pd.DataFrame]:
    """One frame per `days` calendar days of scheduled departure (counted from the first day),
    in time order."""
    if days < 1:
        raise ValueError(f"days per partition must be at least 1, got {days}")
    day = table[TIMESTAMP].dt.normalize()
    block = (day - day.min()).dt.days // days
    return [part.reset_index(drop=True) for _, part in table.groupby(block, sort=True)]


def in_period(table: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    stamps = table[TIMESTAMP]
    keep = (stamps >= naive(start)) & (stamps < naive(end))
    return table.loc[keep].reset_index(drop=True)


def score_partition(
    predictor, table: pd.DataFrame, threshold: float, version: str, run_id: str
) -> pd.DataFrame:
    """Predictions of one partition with the model's lineage on every row. `predictor` is the
    serving predictor (`scoring.predictor.Predictor`): batch and online score the same way."""
    scores = predictor.score_frame(table) if len(table) else np.empty(0)
    truth = table[LABEL].astype("Int64") if LABEL in table else pd.array([pd.NA] * len(table), "Int64")
    return pd.DataFrame(
        {
            KEY: table[KEY].astype(str).to_numpy(),
            TIMESTAMP: table[TIMESTAMP].to_numpy(),
            "carrier": table["carrier"].astype(str).to_numpy(),
            "origin": table["origin"].astype(str).to_numpy(),
            "score": scores.astype(np.float64),
            PREDICTED: (scores >= threshold).astype(np.int64),
            LABEL: truth,
            "model_version": str(version),
            "run_id": str(run_id),
        }
    )


def combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        raise ValueError("no partitions were scored: the period holds no flights")
    frame = pd.concat(parts, ignore_index=True)
    columns = PREDICTION_COLUMNS + [c for c in REASON_COLUMNS if c in frame.columns]
    return frame.sort_values([TIMESTAMP, KEY], kind="stable").reset_index(drop=True)[columns]


def require_prediction_columns(frame: pd.DataFrame) -> None:
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"the predictions table is missing column(s) {missing}")


def summary_by(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Volume, mean score, flagged (positive) rate and, where known, the realized late rate."""
    keys = frame[TIMESTAMP].dt.strftime("%Y-%m-%d") if key == "day" else frame[key]
    grouped = frame.assign(**{key: keys}).groupby(key, sort=True)
    return grouped.agg(
        flights=("score", "size"),
        mean_score=("score", "mean"),
        positive_rate=(PREDICTED, "mean"),
        late_rate=(LABEL, lambda s: s.dropna().astype(float).mean() if s.notna().any() else np.nan),
    ).reset_index()


def score_histogram(frame: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    counts, edges = np.histogram(frame["score"], bins=bins, range=(0.0, 1.0))
    return pd.DataFrame(
        {
            "score_from": edges[:-1],
            "score_to": edges[1:],
            "flights": counts,
            "share": counts / max(len(frame), 1),
        }
    )
