"""Explanations of the model's scores as plain pandas: per-row contributions (log-odds, relative
to the base value), the top reasons of each row for batch scoring, and global summaries for the
evaluation deck. The arithmetic is `explain.TreeExplainer` (exact TreeSHAP, numpy only)."""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

import usecases
from explain import Explanation, TreeExplainer

TOP_REASONS = 3
# Holdout rows the evaluation deck explains: 500 rank the features as 4,000 do (the top four in
# the same order in 20 samples of 20, whole ranking Spearman >= 0.99) at half the cost of 1,000
# (benchmarks/deck_samples.py, docs/performance.md).
GLOBAL_SAMPLE = 500


# One explainer per fitted model object: building it reads every tree (about a second for 400).
_EXPLAINERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def explainer_for(model) -> TreeExplainer:
    if model not in _EXPLAINERS:
        _EXPLAINERS[model] = TreeExplainer.from_pipeline(model)
    return _EXPLAINERS[model]


def explain_table(model, table: pd.DataFrame) -> Explanation:
    """Contributions of every row of `table` (the use case's feature columns) to the model's raw
    score."""
    return explainer_for(model).explain(table[list(usecases.current().features)])


def contributions_frame(model, table: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """(one column of contributions per feature, index of `table`; the base value)."""
    explained = explain_table(model, table)
    frame = pd.DataFrame(explained.contributions, columns=list(explained.feature_names), index=table.index)
    return frame, explained.base_value


def top_reasons(contributions: pd.DataFrame, k: int = TOP_REASONS) -> pd.DataFrame:
    """The `k` features that move each row's log-odds most (by absolute contribution, ties by
    feature order): columns reason_1, reason_1_contribution, ..., reason_k_contribution."""
    values = contributions.to_numpy()
    names = np.asarray(contributions.columns, dtype=object)
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    picked = np.take_along_axis(values, order, axis=1)
    columns: dict[str, np.ndarray] = {}
    for rank in range(k):
        columns[f"reason_{rank + 1}"] = names[order[:, rank]].astype(str)
        columns[f"reason_{rank + 1}_contribution"] = picked[:, rank].astype(np.float64)
    return pd.DataFrame(columns, index=contributions.index)


def with_top_reasons(predictions: pd.DataFrame, model, table: pd.DataFrame, k: int = TOP_REASONS):
    """`predictions` (one row per row of `table`, same order) with the top `k` reasons of each
    row's score appended (`top_reasons` columns)."""
    if len(predictions) != len(table):
        raise ValueError(f"{len(predictions)} predictions for {len(table)} feature rows")
    if table.empty:  # nothing to explain (the Pipeline refuses zero rows)
        features = list(usecases.current().features)
        contributions = pd.DataFrame(np.empty((0, len(features))), columns=features)
    else:
        contributions, _ = contributions_frame(model, table)
    reasons = top_reasons(contributions, k)
    return pd.concat([predictions.reset_index(drop=True), reasons.reset_index(drop=True)], axis=1)


def mean_abs_contribution(contributions: pd.DataFrame) -> pd.DataFrame:
    """Global importance: the mean absolute contribution of each feature (log-odds), largest first."""
    return (
        contributions.abs()
        .mean()
        .rename("mean_abs_contribution")
        .rename_axis("feature")
        .sort_values(ascending=False, kind="stable")
        .reset_index()
    )


def bin_labels(bins: pd.IntervalIndex) -> dict[pd.Interval, str]:
    """`(48, 57]` for each quantile bin: its edges with the fewest decimals that keep every edge
    apart. pandas prints the edges it stored, and it moves the lowest one down by 0.001 to include
    the minimum: `(48.019000000000005, 57.02]`."""
    edges = [*bins.left, bins.right[-1]]
    for decimals in range(7):
        shown = [f"{edge:.{decimals}f}" for edge in edges]
        if len({float(edge) for edge in shown}) == len(shown):  # -0.00 and 0.00 are one edge
            break
    else:
        shown = [repr(float(edge)) for edge in edges]
    return {b: f"({left}, {right}]" for b, left, right in zip(bins, shown, shown[1:], strict=False)}


def contribution_spread(
    table: pd.DataFrame, contributions: pd.DataFrame, feature: str, bins: int = 8
) -> pd.DataFrame:
    """How one feature's contribution varies with its value: per category, or per quantile bin of
    a number (missing values apart), the rows, and the 10th, 50th and 90th percentile of the
    contribution."""
    values = table.loc[contributions.index, feature]
    categorical = feature in usecases.current().categorical_features
    if categorical:
        groups = values.astype(str)
    else:
        binned = pd.qcut(values, q=bins, duplicates="drop")
        labels = bin_labels(binned.cat.categories)
        groups = binned.map(labels).astype(str).where(values.notna(), "missing")
    grouped = contributions[feature].groupby(groups, sort=False)
    spread = grouped.describe(percentiles=[0.1, 0.5, 0.9])[["count", "10%", "50%", "90%"]]
    spread = spread.rename(columns={"count": "rows", "10%": "p10", "50%": "median", "90%": "p90"})
    spread["rows"] = spread["rows"].astype(int)
    if categorical:
        spread = spread.sort_values("median", ascending=False)
    else:
        order = {label: position for position, label in enumerate(labels.values())}
        spread = spread.sort_index(key=lambda index: index.map(lambda g: order.get(g, len(order))))
    return spread.rename_axis(feature).reset_index()
