"""Figures and tables for the decks. Plain matplotlib and pandas: the tasks/*_deck.py modules render them.

Columns, classes and slices are the use case's (`usecases.current()` unless one is given)."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")  # decks render headless, in a task pod or a test
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.inspection import permutation_importance  # noqa: E402
from sklearn.metrics import confusion_matrix, roc_curve  # noqa: E402

import usecases  # noqa: E402
from core.evaluation import calibration_points  # noqa: E402
from usecases.spec import UseCase  # noqa: E402

IMPORTANCE_SAMPLE = 3000
IMPORTANCE_PARTS = 3


def png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def feature_profile(table: pd.DataFrame, case: UseCase | None = None) -> pd.DataFrame:
    """Per feature: type, missing share, distinct values, and quantiles for numbers."""
    case = case or usecases.current()
    rows = []
    for name in case.features:
        column = table[name]
        numeric = name in case.numeric_features
        row = {
            "feature": name,
            "kind": "number" if numeric else "category",
            "missing": round(float(column.isna().mean()), 4),
            "distinct": int(column.nunique()),
        }
        if numeric:
            q = column.quantile([0.0, 0.5, 1.0])
            row.update({"min": q.iloc[0], "median": q.iloc[1], "max": q.iloc[2], "mean": column.mean()})
        rows.append(row)
    return pd.DataFrame(rows).round(3)


MAX_SLICE_VALUES = 25  # the most frequent values of a slice shown in the label-rate figure


def label_rate_figure(table: pd.DataFrame, case: UseCase | None = None) -> bytes:
    """The label's rate (the positive class's share among the known labels) by month, with
    volumes, and by the values of each slice column (the most frequent ones)."""
    case = case or usecases.current()
    positive, label = case.positive_class, case.label
    month = table[case.timestamp].dt.to_period("M").astype(str)
    by_month = table.groupby(month)[label].agg(["mean", "size"])
    figure, axes = plt.subplots(
        1, 1 + len(case.slices), figsize=(6 * (1 + len(case.slices)), 4), squeeze=False
    )
    left, *rights = axes[0]
    left.bar(by_month.index, by_month["mean"], color="#4C72B0")
    left.set(title=f"Rate of {positive} by month", ylabel=f"share {positive} ({label} = 1)")
    for x, (rate, n) in enumerate(zip(by_month["mean"], by_month["size"], strict=True)):
        left.annotate(f"{n:,}", (x, rate), ha="center", va="bottom", fontsize=8)
    for axis, column in zip(rights, case.slices, strict=True):
        by_value = table.groupby(table[column].astype(str))[label].agg(["mean", "size"])
        shown = by_value.nlargest(MAX_SLICE_VALUES, "size").sort_values("mean")
        axis.barh(shown.index, shown["mean"], color="#DD8452")
        axis.set(title=f"Rate of {positive} by {column}", xlabel=f"share {positive}")
    return png(figure)


def numeric_histograms(table: pd.DataFrame, columns: list[str]) -> bytes:
    figure, axes = plt.subplots(2, (len(columns) + 1) // 2, figsize=(14, 5))
    for axis, name in zip(axes.ravel(), columns, strict=False):
        axis.hist(table[name].dropna(), bins=30, color="#55A868")
        axis.set_title(name, fontsize=9)
    return png(figure)


def evaluation_figure(
    labels: np.ndarray, scores: np.ndarray, threshold: float, case: UseCase | None = None
) -> bytes:
    """ROC curve, reliability curve, confusion matrix at the threshold (classes named as the use
    case names them)."""
    case = case or usecases.current()
    fpr, tpr, _ = roc_curve(labels, scores)
    predicted, observed = calibration_points(labels, scores)
    matrix = confusion_matrix(labels, (scores >= threshold).astype(int), labels=[0, 1])
    figure, (roc, calibration, confusion) = plt.subplots(1, 3, figsize=(15, 4.5))
    roc.plot(fpr, tpr, color="#4C72B0")
    roc.plot([0, 1], [0, 1], "--", color="grey")
    roc.set(title="ROC curve (holdout)", xlabel="false positive rate", ylabel="true positive rate")
    calibration.plot(predicted, observed, "o-", color="#C44E52")
    calibration.plot([0, 1], [0, 1], "--", color="grey")
    calibration.set(title="Calibration (quantile bins)", xlabel="mean predicted", ylabel="observed rate")
    confusion.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        dark = count > matrix.max() / 2
        confusion.text(j, i, f"{count:,}", ha="center", va="center", color="white" if dark else "black")
    confusion.set(
        title=f"Confusion matrix at threshold {threshold:.2f}",
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=[case.negative_class, case.positive_class],
        yticklabels=[case.negative_class, case.positive_class],
        xlabel="predicted",
        ylabel="actual",
    )
    return png(figure)


def feature_importance(
    model, holdout: pd.DataFrame, random_state: int = 0, case: UseCase | None = None
) -> pd.DataFrame:
    """Permutation importance (drop in ROC AUC) on `IMPORTANCE_SAMPLE` holdout rows, cut into
    `IMPORTANCE_PARTS` disjoint parts (each with its share of both classes): each feature is
    shuffled once within each part, `auc_drop` is the mean of the parts' drops and `std` the
    spread between them, so `std / sqrt(parts)` is the noise of `auc_drop` (`stderr`), measured
    in the run. Each row is predicted once per feature, not twice as with two shuffles of the
    whole sample: 0.69x its time, for about 1.25x its error against every holdout row
    (docs/performance.md, benchmarks/deck_samples.py)."""
    case = case or usecases.current()
    features = list(case.features)
    sample = holdout.sample(min(IMPORTANCE_SAMPLE, len(holdout)), random_state=random_state)
    estimator, columns, encoded = _encoded_once(model, sample[features])
    labels = sample[case.label].to_numpy()
    parts = min(IMPORTANCE_PARTS, int(np.bincount(labels.astype(int), minlength=2).min())) or 1
    # round robin within each class over rows in random order: disjoint, stratified parts
    part = sample.groupby(case.label).cumcount().to_numpy() % parts
    drops = np.column_stack(
        [
            permutation_importance(
                estimator,
                encoded[part == k],
                labels[part == k],
                scoring="roc_auc",
                n_repeats=1,
                random_state=random_state + k,
            ).importances[:, 0]
            for k in range(parts)
        ]
    )
    std = drops.std(axis=1, ddof=1) if parts > 1 else np.full(len(columns), np.nan)
    importance = (
        pd.DataFrame(
            {"auc_drop": drops.mean(axis=1), "std": std, "stderr": std / np.sqrt(parts)},
            index=pd.Index(columns, name="feature"),
        )
        .reindex(features)  # ties (unused features) keep the declaration's order
        .sort_values("auc_drop", ascending=False, kind="stable")
        .reset_index()
    )
    importance.attrs.update(rows=len(sample), parts=parts)  # what the deck says it measured
    return importance


def _encoded_once(model, frame: pd.DataFrame) -> tuple[Any, list[str], Any]:
    """(estimator, the feature of each column, its input): a Pipeline whose preprocessing maps
    each feature to one column of its own (core.model.build_pipeline's) is encoded once and its
    last step shuffled on the codes, which is the same as shuffling the raw values (an encoding
    row by row commutes with reordering the rows) without encoding every shuffle again; any
    other model is shuffled on `frame` itself."""
    if len(getattr(model, "steps", ())) > 1:
        names = [str(name) for name in model[:-1].get_feature_names_out()]
        if sorted(names) == sorted(frame.columns):
            return model[-1], names, np.asarray(model[:-1].transform(frame), dtype=np.float64)
    return model, list(frame.columns), frame


def global_explanation_figure(importance: pd.DataFrame, mean_abs: pd.DataFrame) -> bytes:
    """Permutation importance beside mean |contribution|, features in the same order."""
    order = mean_abs["feature"].tolist()[::-1]
    permutation = importance.set_index("feature").reindex(order)
    contribution = mean_abs.set_index("feature").reindex(order)
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 6), sharey=True)
    left.barh(order, contribution["mean_abs_contribution"], color="#4C72B0")
    left.set(title="Mean |contribution| (log-odds, holdout sample)", xlabel="mean |contribution|")
    right.barh(order, permutation["auc_drop"], xerr=permutation["stderr"].fillna(0.0), color="#8172B2")
    right.set(
        title="Permutation importance (ROC AUC drop, holdout sample)",
        xlabel="AUC drop (bars: its standard error between the samples)",
    )
    return png(figure)


def contribution_spread_figure(
    table: pd.DataFrame, contributions: pd.DataFrame, features: list[str]
) -> bytes:
    """For each feature: its contribution against its value, one point per row (categories as
    columns of points, ordered by median contribution)."""
    figure, axes = plt.subplots(1, len(features), figsize=(4.2 * len(features), 4), squeeze=False)
    for axis, feature in zip(axes[0], features, strict=True):
        values = table.loc[contributions.index, feature]
        contribution = contributions[feature]
        if values.dtype == object or isinstance(values.dtype, pd.CategoricalDtype):
            medians = contribution.groupby(values.astype(str)).median().sort_values(ascending=False)
            shown = medians.index[:12]
            position = {name: i for i, name in enumerate(shown)}
            keep = values.astype(str).isin(shown)
            jitter = np.random.default_rng(0).uniform(-0.25, 0.25, keep.sum())
            axis.scatter(values[keep].astype(str).map(position) + jitter, contribution[keep], s=4, alpha=0.4)
            axis.set_xticks(range(len(shown)), shown, rotation=60, fontsize=8)
        else:
            axis.scatter(values, contribution, s=4, alpha=0.4)
        axis.axhline(0.0, color="grey", linewidth=0.8)
        axis.set(title=feature, xlabel="value", ylabel="contribution (log-odds)")
    figure.tight_layout()
    return png(figure)
