"""The evaluation deck: the judged model's holdout figures, what it relies on, its slices."""

from __future__ import annotations

import pandas as pd
from flytekit import Deck

import usecases
from core import reports
from core.evaluation import EvaluationMetrics
from tasks.deck_html import image_html, table_html


def render_evaluation_deck(
    model,
    holdout: pd.DataFrame,
    scores,
    threshold: float,
    metrics: EvaluationMetrics,
    slices: pd.DataFrame,
    importance: pd.DataFrame,
) -> dict[str, bytes]:
    """The Evaluation deck (`importance`: `core.reports.feature_importance` of the model on the
    holdout); returns its figures by file name, which the MLflow run keeps too."""
    case = usecases.current()
    labels = holdout[case.label].to_numpy()
    figures = pd.DataFrame([metrics.as_dict()]).round(4)
    images = {"evaluation.png": reports.evaluation_figure(labels, scores, threshold)}
    Deck(
        "Evaluation",
        f"<h3>Holdout: {len(holdout):,} rows from {holdout[case.timestamp].min():%Y-%m-%d}</h3>"
        + table_html(figures)
        + image_html(images["evaluation.png"])
        + global_explanations_html(model, holdout, importance)
        + "<h3>Slices</h3>"
        + table_html(slices.round(4)),
    )
    return images


SPREAD_FEATURES = 4


def global_explanations_html(model, holdout: pd.DataFrame, importance: pd.DataFrame | None = None) -> str:
    """Mean |contribution| beside permutation importance (`importance`, computed here when not
    given), and how the contributions of the top features spread over their values, on a sample
    of the holdout."""
    from core import explanations

    positive = usecases.current().positive_class
    sample = holdout.sample(min(explanations.GLOBAL_SAMPLE, len(holdout)), random_state=0)
    contributions, base_value = explanations.contributions_frame(model, sample)
    mean_abs = explanations.mean_abs_contribution(contributions)
    if importance is None:
        importance = reports.feature_importance(model, holdout)
    top = mean_abs["feature"].head(SPREAD_FEATURES).tolist()
    spreads = "".join(
        f"<h4>{feature}</h4>"
        + table_html(explanations.contribution_spread(sample, contributions, feature).round(4))
        for feature in top
    )
    return (
        "<h3>What the model relies on</h3>"
        f"<p>Contributions are exact TreeSHAP values on {len(sample):,} holdout rows: each one is "
        f"how far a feature moves that row's log-odds of {positive} away from the base value "
        f"({base_value:+.3f}, the training average), and they add up to the model's score. "
        "Mean |contribution| says how much a feature moves the model's predictions; permutation "
        "importance says how much ROC AUC the model loses when the feature's values are shuffled "
        "across rows, i.e. how much its accuracy depends on it. A feature can move predictions a "
        "lot and add little accuracy (another feature carries the same information), or the other "
        "way round.</p>"
        + importance_noise_html(importance)
        + image_html(reports.global_explanation_figure(importance, mean_abs))
        + "<h4>Contributions by value, top features</h4>"
        + image_html(reports.contribution_spread_figure(sample, contributions, top))
        + spreads
    )


def importance_noise_html(importance: pd.DataFrame) -> str:
    """What the permutation importance was measured on, and its noise as measured in the run
    (`core.reports.feature_importance`)."""
    rows, parts = importance.attrs["rows"], importance.attrs["parts"]
    top = importance.iloc[0]
    if parts < 2:
        noise = "one sample only (too few rows of a class to cut more): its noise is not measured"
    else:
        noise = (
            f"a bar is the mean drop, its error bar the standard error between the samples "
            f"(largest here {importance['stderr'].max():.4f} AUC; {top['feature']} "
            f"{top['auc_drop']:.4f} ± {top['stderr']:.4f}): drops closer than about two standard "
            "errors are not ordered by this sample"
        )
    return (
        f"<p>Permutation importance: {rows:,} holdout rows in {parts} disjoint samples, each "
        f"feature shuffled once in each; {noise}.</p>"
    )
