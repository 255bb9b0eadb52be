"""Time windows of the loop, for any use case: the feature table with the truth as known, month
windows around `as_of` that hold out the most recent labelled month, the time split, recency
weights. Plain pandas; a use case's own feature builder lives in its package
(`usecases.current().build_features`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

import usecases
from usecases.spec import labelled_until, span, unlabelled_window

if TYPE_CHECKING:
    from usecases import UseCase


def naive(moment: datetime) -> pd.Timestamp:
    """Flyte hands datetimes over in UTC; a use case's event times are local wall-clock times."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def feature_table(case: UseCase, raw: pd.DataFrame, known_at: datetime | None) -> pd.DataFrame:
    """`case.build_features(raw, known_at)` with the truth of every event younger than
    `case.label_maturity` at `known_at` missing: it is not known yet. A use case whose label rule
    tells some outcomes sooner (`label_known_early`) decides that itself; `known_at` None reads a
    closed historical record, every outcome final."""
    table = case.build_features(raw, known_at)
    if known_at is None or case.label_known_early:
        return table
    young = (table[case.timestamp] + pd.Timedelta(case.label_maturity) > naive(known_at)).to_numpy()
    return table.assign(**{case.label: table[case.label].where(~young, pd.NA)})


class Window(NamedTuple):
    """Training is [train_start, holdout_start), the holdout [holdout_start, holdout_end): the most
    recent labelled months at `end` (`as_of`'s date). Events of [holdout_end, end) are read, their
    truth still pending."""

    train_start: datetime
    holdout_start: datetime
    holdout_end: datetime
    end: datetime


# The start of an expanding window: every event the source holds before the holdout.
EVERY_KNOWN_MONTH = datetime(1900, 1, 1)


def month_window(
    as_of: datetime,
    train_months: int,
    holdout_months: int,
    label_maturity: timedelta = timedelta(0),
    data_start: datetime | None = None,
) -> Window:
    """Holdout: the `holdout_months` most recent labelled months at `as_of` (`labelled_until`:
    the months before `as_of`'s date for a maturity under half a month, earlier for a longer
    one); training: the `train_months` before the holdout (a sliding window), or every month the
    source holds before it when `train_months` is 0 (an expanding window). A mid-month `as_of` (a
    retrain monitoring triggered) cuts mid-month: the data up to that day, not the months before
    the 1st. When the maturity moves the holdout back so far that no month is left to train on
    after `data_start`, this fails naming `label_maturity`, before any data is read."""
    if train_months < 0 or holdout_months < 1:
        raise ValueError(
            f"train_months must be 0 (every known month) or more, holdout_months 1 or more: "
            f"got {train_months} and {holdout_months}"
        )
    end = naive(as_of).normalize()
    holdout_end = labelled_until(end, label_maturity)
    if data_start is not None and holdout_end < end:
        problem = unlabelled_window(end, label_maturity, data_start)
        if problem:
            raise ValueError(f"label_maturity {problem}")
    holdout_start = holdout_end - pd.DateOffset(months=holdout_months)
    if train_months == 0:
        train_start = pd.Timestamp(EVERY_KNOWN_MONTH)
    else:
        train_start = holdout_start - pd.DateOffset(months=train_months)
    return Window(
        train_start.to_pydatetime(),
        holdout_start.to_pydatetime(),
        holdout_end.to_pydatetime(),
        end.to_pydatetime(),
    )


def judged_holdout_start(holdout_start: datetime, holdout_end: datetime, champion_fit_end: str) -> datetime:
    """Where the holdout of a candidate facing a champion whose deployed model fit up to
    `champion_fit_end` (`YYYY-MM-DD`, empty: no champion) starts. When that day falls inside the
    holdout (a retrain mid-month, or after a mid-month one), the holdout starts the day after it:
    the judged model then fits every row the champion fit, and the gate judges both on the rows
    neither fit. Judged on the month holdout, the judged model would know weeks less than the
    champion it is compared with. Otherwise (an older champion, none, or one that fit the
    holdout's last day or later) the holdout is unchanged."""
    if not champion_fit_end:
        return holdout_start
    after = naive(datetime.fromisoformat(champion_fit_end)).normalize() + pd.Timedelta(days=1)
    if naive(holdout_start) < after < naive(holdout_end):
        return after.to_pydatetime()
    return holdout_start


def recency_weights(event_times: pd.Series, half_life_months: float) -> np.ndarray | None:
    """Sample weights that halve every `half_life_months` (30.44-day months) of age before the
    latest event of the frame; None (every row weighs the same) when the half-life is 0."""
    if half_life_months <= 0:
        return None
    times = pd.to_datetime(event_times)
    age_months = (times.max() - times).dt.total_seconds().to_numpy() / (30.44 * 86400)
    return np.power(0.5, age_months / half_life_months)


def split_by_time(
    table: pd.DataFrame,
    holdout_start: datetime,
    holdout_end: datetime | None = None,
    case: UseCase | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows before `holdout_start` train; rows from it up to `holdout_end` (no end: every later
    row) are the holdout; only rows whose truth (`case.label`, the current use case's by default)
    is known enter either. Both must be non-empty: an empty one is refused saying whether it had
    no rows or only rows whose truth is pending (`label_maturity`)."""
    case = case or usecases.current()
    stamps = table[case.timestamp]
    is_holdout = stamps >= naive(holdout_start)
    if holdout_end is not None:
        in_window = stamps < naive(holdout_end)
        is_holdout &= in_window
    else:
        in_window = pd.Series(True, index=table.index)
    labelled = table[case.label].notna()
    parts = {"train": ~is_holdout & in_window, "holdout": is_holdout}
    for name, rows in parts.items():
        if not (rows & labelled).any():
            pending = int(rows.sum())
            why = (
                f"; it holds {pending} rows, none labelled yet: the truth of an event is known "
                f"{span(case.label_maturity)} after it (label_maturity)"
                if pending
                else ""
            )
            raise ValueError(f"the {name} split is empty: holdout starts {holdout_start:%Y-%m-%d}{why}")
    train, holdout = table.loc[parts["train"] & labelled], table.loc[parts["holdout"] & labelled]
    return train.reset_index(drop=True), holdout.reset_index(drop=True)
