"""Tuning: the grid, the validation month strictly before the holdout, the choice of the best."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from core.model import Hyperparameters
from core.tuning import TuningGrid, best, candidates, validation_split


def _train(days: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame({"sched_dep": days, "late": pd.array(np.arange(len(days)) % 2, "Int64")})


def test_grid_is_every_combination_on_top_of_the_base():
    grid = candidates(Hyperparameters(max_iter=50), TuningGrid([0.05, 0.1], [15, 31], [20]))
    assert [(h.learning_rate, h.max_leaf_nodes) for h in grid] == [
        (0.05, 15),
        (0.05, 31),
        (0.1, 15),
        (0.1, 31),
    ]
    assert {h.max_iter for h in grid} == {50}


def test_validation_month_is_strictly_before_the_holdout():
    train = _train(pd.date_range("2013-01-01", "2013-05-31 23:00", freq="6h"))
    fit, validation = validation_split(train, datetime(2013, 6, 1), validation_months=1)
    assert fit["sched_dep"].max() < pd.Timestamp("2013-05-01") <= validation["sched_dep"].min()
    assert validation["sched_dep"].max() < pd.Timestamp("2013-06-01")
    leaking = _train(pd.date_range("2013-01-01", "2013-06-02", freq="6h"))
    with pytest.raises(ValueError, match=r"reaches into the holdout \(from 2013-06-01\)"):
        validation_split(leaking, datetime(2013, 6, 1), 1)


def test_best_is_the_highest_validation_auc():
    grid = candidates(Hyperparameters(), TuningGrid([0.03, 0.06, 0.1], [63], [80]))
    chosen, auc = best(grid, [0.71, 0.74, 0.73])
    assert (chosen.learning_rate, auc) == (0.06, 0.74)
    with pytest.raises(ValueError, match="3 candidates but 2 scores"):
        best(grid, [0.7, 0.8])


def test_the_model_no_longer_claims_tuned_defaults_without_code_that_tunes():
    assert "tuned on" not in (Hyperparameters.__doc__ or "")
