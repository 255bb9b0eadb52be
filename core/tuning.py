"""Hyperparameter search: a small grid, each candidate fitted on the training months before a
validation month and scored there. The validation month ends strictly before the holdout, so the
holdout the promotion gate judges on never chooses the hyperparameters."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime

import pandas as pd

import usecases
from core.features import naive
from core.model import Hyperparameters


@dataclass
class TuningGrid:
    """The values searched; every combination is one candidate (a map task element)."""

    learning_rate: list[float] = field(default_factory=lambda: [0.03, 0.06, 0.1])
    max_leaf_nodes: list[int] = field(default_factory=lambda: [31, 63])
    min_samples_leaf: list[int] = field(default_factory=lambda: [80])
    validation_months: int = 1


def candidates(base: Hyperparameters, grid: TuningGrid) -> list[Hyperparameters]:
    combos = itertools.product(grid.learning_rate, grid.max_leaf_nodes, grid.min_samples_leaf)
    return [
        replace(base, learning_rate=float(lr), max_leaf_nodes=int(leaves), min_samples_leaf=int(leaf))
        for lr, leaves, leaf in combos
    ]


def validation_split(
    train: pd.DataFrame, holdout_start: datetime, validation_months: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fit, validation): validation is the last `validation_months` before `holdout_start`,
    fit is what comes before it; both must hold rows, and neither may reach the holdout."""
    case = usecases.current()
    holdout = naive(holdout_start)
    validation_start = holdout - pd.DateOffset(months=validation_months)
    stamps = train[case.timestamp]
    if (stamps >= holdout).any():
        raise ValueError(f"the tuning data reaches into the holdout (from {holdout:%Y-%m-%d})")
    fit = train.loc[stamps < validation_start].reset_index(drop=True)
    validation = train.loc[stamps >= validation_start].reset_index(drop=True)
    for name, part in (("fit", fit), ("validation", validation)):
        if part.empty or part[case.label].nunique() < 2:
            raise ValueError(
                f"the tuning {name} split [{validation_start:%Y-%m-%d} cut] is empty or single-class"
            )
    return fit, validation


def best(grid: list[Hyperparameters], scores: list[float]) -> tuple[Hyperparameters, float]:
    """The candidate with the highest validation ROC AUC (the first on a tie)."""
    if not grid or len(grid) != len(scores):
        raise ValueError(f"{len(grid)} candidates but {len(scores)} scores")
    index = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return grid[index], float(scores[index])
