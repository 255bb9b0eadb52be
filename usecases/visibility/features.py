"""Feature table and label rule: plain pandas, nothing from after the reading as a feature."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from usecases.visibility.schemas import (
    CATEGORICAL_FEATURES,
    KEY,
    LABEL,
    NUMERIC_FEATURES,
    READINGS,
    STATION,
    TIMESTAMP,
    TRENDS,
)
from usecases.visibility.source import LOW_VISIBILITY_MILES, OUTCOME_HOURS, naive

LABEL_MATURITY = pd.Timedelta(hours=OUTCOME_HOURS)
# Fewer readings than this in the 6 hours after t, none of them low, cannot tell that visibility
# stayed up: the label is missing (a low one among them settles it).
MIN_OUTCOME_READINGS = 4


def build_features(raw: pd.DataFrame, known_at: datetime | None = None) -> pd.DataFrame:
    """One row per reading: key, time, features, label.

    Features: the station, the local hour, the reading and the station's recent past as of the
    reading (`usecases.visibility.source`). Label (nullable): did any reading of the
    `OUTCOME_HOURS` after t fall below `LOW_VISIBILITY_MILES`?

    `known_at` is when the data is read: the truth of a reading is known `LABEL_MATURITY` after
    it, missing before. `None` reads a closed historical record.
    """
    observed = pd.to_datetime(raw[TIMESTAMP])
    table = pd.DataFrame(
        {
            KEY: raw[STATION].astype(str) + "_" + observed.dt.strftime("%Y-%m-%dT%H:%M"),
            TIMESTAMP: observed,
            STATION: raw[STATION].astype(str),
            "hour_of_day": observed.dt.hour.astype(np.float64),
        }
    )
    for column in READINGS + TRENDS:
        table[column] = raw[column].astype(np.float64)
    table[LABEL] = truth(raw["future_min_visib"], raw["future_readings"], observed, known_at)
    table = table.sort_values([TIMESTAMP, KEY], kind="stable")
    return table[[KEY, TIMESTAMP, *CATEGORICAL_FEATURES, *NUMERIC_FEATURES, LABEL]].reset_index(drop=True)


def truth(
    future_min: pd.Series, future_readings: pd.Series, observed: pd.Series, known_at: datetime | None
) -> pd.Series:
    """Low (1) / not low (0) where the outcome is known at `known_at`, missing (<NA>) elsewhere."""
    low = future_min < LOW_VISIBILITY_MILES
    told = low | (future_readings >= MIN_OUTCOME_READINGS)
    label = low.astype("Int64").where(told.to_numpy(), pd.NA)
    if known_at is None:
        return label
    matured = observed + LABEL_MATURITY <= naive(known_at)
    return label.where(matured.to_numpy(), pd.NA)
