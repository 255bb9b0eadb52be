"""The best retrain days with hindsight: how much any rule deciding *when* to retrain could earn.

Given each candidate model's realized ROC AUC on each day (a model trained as of day c serves from
c on), `best_schedules` finds, for every number of retrains k, the k retrain days that maximise
the mean daily realized ROC AUC over the period, by dynamic programming over the candidate days.
No rule that reads only what is known on the day can do better with k retrains on those
candidate days: the figure bounds what a smarter alarm, wait or gate could buy, and tells how
much of the gap to a schedule is timing at all.

The best of many schedules, chosen and measured on the same days, is also the luckiest: its
figure is biased upward by the days' noise. `held_out_gain` chooses on every other day and
measures on the days between (and the other way round), which that noise cannot flatter.

Plain pandas and numpy: `scripts.retrain_hindsight` trains the candidates with the real
workflows and measures their days as the daily replay does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Schedule:
    """Retrain days (the first model serves from the period's first day) and the mean daily
    realized ROC AUC of the models serving under them."""

    retrains: int
    days: tuple[pd.Timestamp, ...]
    mean_auc: float


def serving_auc(auc: pd.DataFrame, days: tuple[pd.Timestamp, ...]) -> pd.Series:
    """The daily realized ROC AUC when the first column's model serves from the first day and
    the model as of each of `days` from that day on. `auc`: one row per day, one column per
    candidate model named by the day it was trained as of (NaN before that day)."""
    starts = [auc.columns[0], *days]
    serving = pd.Series(np.nan, index=auc.index)
    for start, end in zip(starts, [*days, None], strict=True):
        span = (auc.index >= start) & ((auc.index < end) if end is not None else True)
        serving[span] = auc.loc[span, start]
    return serving


def _check_frame(auc: pd.DataFrame) -> None:
    """The first model as of the first day, every model as of a day of the period, and each day's
    ROC AUC either for every model serving by then or for none."""
    if auc.columns[0] != auc.index[0]:
        first_day = f"{auc.index[0]:%Y-%m-%d}"
        raise ValueError(f"the first model must be as of the first day ({first_day}), not {auc.columns[0]}")
    strangers = [f"{c:%Y-%m-%d}" for c in auc.columns if c not in auc.index]
    if strangers:
        raise ValueError(f"candidate models as of days outside the period: {', '.join(strangers)}")
    serves = auc.index.to_numpy()[:, None] >= auc.columns.to_numpy()[None, :]
    missing = (auc.isna().to_numpy() & serves).sum(axis=1)
    uneven = auc.index[(missing > 0) & (missing < serves.sum(axis=1))]
    if len(uneven):
        raise ValueError(f"on {uneven[0]:%Y-%m-%d} some models have a ROC AUC and others none")


def best_schedules(auc: pd.DataFrame, max_retrains: int) -> list[Schedule]:
    """For k = 0..`max_retrains`, the best k retrain days among the candidates (`auc`'s columns
    after the first, each a day of the period) and their mean daily ROC AUC; a k that cannot
    beat k - 1 keeps k - 1's days (an extra retrain is never forced).

    A day whose AUC is missing for one model must be missing for all (a day with one class):
    it then counts for none, and the means are over the same days for every schedule."""
    auc = auc.sort_index().sort_index(axis=1)
    _check_frame(auc)
    candidates = list(auc.columns)
    n = len(candidates)
    # cumulative sums per model, over the days: segment(i, j) = model i serving from its day to
    # candidate j's day (j = n: to the end)
    position = [auc.index.get_loc(c) for c in candidates] + [len(auc.index)]
    filled = np.nan_to_num(auc.to_numpy(dtype=float))
    cumulative = np.vstack([np.zeros(n), np.cumsum(filled, axis=0)])

    def segment(i: int, j: int) -> float:
        return float(cumulative[position[j], i] - cumulative[position[i], i])

    # best[k][i]: the best sum from candidate i's day to the end, model i serving first, with at
    # most k retrains after it; after[k][i]: the next retrain's candidate (n: none)
    best = np.zeros((max_retrains + 1, n))
    after = np.full((max_retrains + 1, n), n, dtype=int)
    for i in range(n):
        best[0][i] = segment(i, n)
    for k in range(1, max_retrains + 1):
        for i in range(n):
            best[k][i], after[k][i] = best[k - 1][i], after[k - 1][i] if k > 1 else n
            for j in range(i + 1, n):
                total = segment(i, j) + best[k - 1][j]
                if total > best[k][i] + 1e-12:
                    best[k][i], after[k][i] = total, j
    schedules = []
    for k in range(max_retrains + 1):
        chosen, i, left = [], 0, k
        while left > 0 and after[left][i] < n:
            i = after[left][i]
            chosen.append(candidates[i])
            left -= 1
        days = tuple(chosen)
        schedules.append(Schedule(len(days), days, float(np.nanmean(serving_auc(auc, days)))))
    return schedules


def held_out_gain(auc: pd.DataFrame, retrains: int, baseline: tuple[pd.Timestamp, ...]) -> float:
    """The best `retrains` days chosen on every other day (from the first, then from the second),
    each measured on the days it was not chosen on, against the `baseline` schedule on the same
    days: the mean of the two differences in mean daily ROC AUC."""
    auc = auc.sort_index().sort_index(axis=1)
    gains = []
    for half in (0, 1):
        chosen_on = np.arange(len(auc.index)) % 2 == half
        masked = auc.copy()
        masked.iloc[~chosen_on] = np.nan
        days = best_schedules(masked, retrains)[retrains].days
        measured = ~chosen_on
        best = serving_auc(auc, days).to_numpy()[measured]
        base = serving_auc(auc, baseline).to_numpy()[measured]
        gains.append(float(np.nanmean(best) - np.nanmean(base)))
    return float(np.mean(gains))
