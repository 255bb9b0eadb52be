"""Data tasks: load a window of the use case's source, build its feature table, split it by time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from flytekit import Resources

from core import features
from core.refusals import RefusedRows, refuse_invalid_rows, row_account
from tasks.frames import USE_CASE, FeatureFrame, RawFrame
from tasks.util import Service, pipeline_task

DATA_RESOURCES = Resources(cpu="1", mem="2Gi")


@dataclass
class DataConfig:
    """Where the data comes from and how the months are cut around `as_of`: the window policy.

    The holdout is the `holdout_months` before `as_of`; it judges the model, then the deployed
    model is refit on training + holdout (every label known at `as_of`). Training is every month
    the source holds before the holdout (`train_months` 0: an expanding window, the default,
    chosen by `benchmarks/fit_windows.py`), or the last `train_months` (a sliding window).
    `recency_half_life_months` > 0 weighs each training row by its age (halved every that many
    months); 0 weighs every row the same."""

    source_dir: str = ""  # empty: the data shipped with the use case; else a directory of its tables
    train_months: int = 0
    holdout_months: int = 1
    # Share of the window's rows that may break a row-level rule of the raw schema and be refused
    # (counted, shown in the data deck and on the MLflow run); 0: any such row fails the run.
    max_refused_share: float = 0.0
    recency_half_life_months: float = 0.0


class WindowOutputs(NamedTuple):
    train_start: datetime
    holdout_start: datetime
    holdout_end: datetime
    end: datetime


@pipeline_task(cache=True)
def data_window(as_of: datetime, config: DataConfig) -> WindowOutputs:
    """Month boundaries: holdout = the most recent labelled months at `as_of` (the months just
    before it unless the use case's `label_maturity` moves them back), training = every month
    before the holdout (expanding) or the last `train_months` (sliding). On the data shipped with
    the use case, a maturity that leaves no month to train on fails here, before any data is read."""
    data_start = None if config.source_dir else USE_CASE.data_start
    window = features.month_window(
        as_of, config.train_months, config.holdout_months, USE_CASE.label_maturity, data_start
    )
    return WindowOutputs(*window)


@pipeline_task(cache=False, calls=[Service.TRACKING])
def judged_holdout(holdout_start: datetime, holdout_end: datetime, faces_champion: bool) -> datetime:
    """The holdout's start: after the last day the registry's champion fit when a candidate will
    face it and that day falls inside the holdout (`core.features.judged_holdout_start`: the
    judged model fits every row the champion fit); the month holdout's start otherwise, and when
    no champion is faced (the data workflow alone, an unconditional retrain). Not cached on
    purpose: it reads the registry's alias as it is now; the split is cached on its value."""
    if not faces_champion:
        return holdout_start
    from core.promotion import champion_fit_end

    return features.judged_holdout_start(holdout_start, holdout_end, champion_fit_end(USE_CASE.model_name))


class LoadOutputs(NamedTuple):
    raw: RawFrame
    refused: RefusedRows


@pipeline_task(cache=True, requests=DATA_RESOURCES)
def load_source(
    source_dir: str, start: datetime, end: datetime, max_refused_share: float = 0.0
) -> LoadOutputs:
    """The use case's events of [start, end) (`load_window`); validated as its raw schema on the
    way out. `source_dir` empty means the data shipped with the use case. Rows that break a
    row-level rule fail the run, or, up to `max_refused_share` of the window, are refused and
    counted in `refused`."""
    raw, refused = refuse_invalid_rows(
        USE_CASE.load_window(source_dir, start, end), USE_CASE.raw_schema, max_refused_share
    )
    return LoadOutputs(raw=raw, refused=refused)


@pipeline_task(cache=True, deck=True, requests=DATA_RESOURCES)
def build_feature_table(raw: RawFrame, known_at: datetime, refused: RefusedRows) -> FeatureFrame:
    """The use case's features and its label as known at `known_at` (`core.features.feature_table`);
    a data deck profiles them and accounts for every row read (`refused`: the rows the load
    refused)."""
    from tasks.data_deck import render_data_deck

    table = features.feature_table(USE_CASE, raw, known_at)
    render_data_deck(table, row_account(refused, len(raw), table, USE_CASE.label))
    return table


class SplitOutputs(NamedTuple):
    train: FeatureFrame
    holdout: FeatureFrame


@pipeline_task(cache=True, requests=DATA_RESOURCES)
def split_train_holdout(table: FeatureFrame, holdout_start: datetime, holdout_end: datetime) -> SplitOutputs:
    """Training before `holdout_start`, the holdout up to `holdout_end`: labelled rows only."""
    train, holdout = features.split_by_time(table, holdout_start, holdout_end)
    return SplitOutputs(train=train, holdout=holdout)
