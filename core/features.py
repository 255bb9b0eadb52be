"""Time windows of the loop, for any use case: month windows around `as_of`, the time split,
recency weights. Plain pandas; a use case's own feature builder lives in its package
(`usecases.current().build_features`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

import usecases

if TYPE_CHECKING:
    from usecases import UseCase


def naive(moment: datetime) -> pd.Timestamp:
    """Flyte hands datetimes over in UTC; a use case's event times are local wall-clock times."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


class Window(NamedTuple):
    train_start: datetime
    holdout_start: datetime
    end: datetime


# The start of an expanding window: every event the source holds before the holdout.
EVERY_KNOWN_MONTH = datetime(1900, 1, 1)


def month_window(as_of: datetime, train_months: int, holdout_months: int) -> Window:
    """Holdout: the `holdout_months` before `as_of`'s date; training: the `train_months` before
    that (a sliding window), or every month the source holds before the holdout when
    `train_months` is 0 (an expanding window). A mid-month `as_of` (a retrain monitoring
    triggered) cuts mid-month: the data up to that day, not the months before the 1st."""
    if train_months < 0 or holdout_months < 1:
        raise ValueError(
            f"train_months must be 0 (every known month) or more, holdout_months 1 or more: "
            f"got {train_months} and {holdout_months}"
        )
    end = naive(as_of).normalize()
    holdout_start = end - pd.DateOffset(months=holdout_months)
    if train_months == 0:
        train_start = pd.Timestamp(EVERY_KNOWN_MONTH)
    else:
        train_start = holdout_start - pd.DateOffset(months=train_months)
    return Window(train_start.to_pydatetime(), holdout_start.to_pydatetime(), end.to_pydatetime())


def recency_weights(event_times: pd.Series, half_life_months: float) -> np.ndarray | None:
    """Sample weights that halve every `half_life_months` (30.44-day months) of age before the
    latest event of the frame; None (every row weighs the same) when the half-life is 0."""
    if half_life_months <= 0:
        return None
    times = pd.to_datetime(event_times)
    age_months = (times.max() - times).dt.total_seconds().to_numpy() / (30.44 * 86400)
    return np.power(0.5, age_months / half_life_months)


def split_by_time(
    table: pd.DataFrame, holdout_start: datetime, case: UseCase | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows before `holdout_start` train; rows from it on are the holdout; only rows whose truth
    (`case.label`, the current use case's by default) is known enter either. Both must be
    non-empty."""
    case = case or usecases.current()
    table = table.loc[table[case.label].notna()]
    is_holdout = table[case.timestamp] >= naive(holdout_start)
    train, holdout = table.loc[~is_holdout], table.loc[is_holdout]
    for name, part in (("train", train), ("holdout", holdout)):
        if part.empty:
            raise ValueError(f"the {name} split is empty: holdout starts {holdout_start:%Y-%m-%d}")
    return train.reset_index(drop=True), holdout.reset_index(drop=True)
