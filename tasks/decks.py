"""Deck rendering: figures and tables from core.reports, through the deck-standard renderers."""

from __future__ import annotations

import io

import pandas as pd
from flytekit import Deck
from flytekitplugins.deck.renderer import ImageRenderer, TableRenderer

from core import reports
from core.evaluation import EvaluationMetrics

DATA_HISTOGRAMS = [
    "dep_hour",
    "distance",
    "temp",
    "wind_speed",
    "visib",
    "precip",
    "origin_hour_departures",
    "plane_age",
]


def image_html(png: bytes) -> str:
    import PIL.Image

    return ImageRenderer().to_html(PIL.Image.open(io.BytesIO(png)))


def table_html(frame: pd.DataFrame) -> str:
    return TableRenderer().to_html(frame)


def render_data_deck(table: pd.DataFrame, rows: pd.DataFrame) -> None:
    """The feature table's profile, after `rows`: where each row the window read went
    (`core.refusals.row_account`)."""
    summary = (
        f"<h3>Feature table</h3><p>{len(table):,} flights from {table['sched_dep'].min():%Y-%m-%d} to "
        f"{table['sched_dep'].max():%Y-%m-%d}; late-arrival rate {table['late'].mean():.3f}.</p>"
    )
    Deck(
        "Data",
        summary
        + "<h3>Rows</h3>"
        + table_html(rows)
        + image_html(reports.label_rate_figure(table))
        + image_html(reports.numeric_histograms(table, DATA_HISTOGRAMS))
        + "<h3>Profile</h3>"
        + table_html(reports.feature_profile(table)),
    )


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
    labels = holdout["late"].to_numpy()
    figures = pd.DataFrame([metrics.as_dict()]).round(4)
    images = {"evaluation.png": reports.evaluation_figure(labels, scores, threshold)}
    Deck(
        "Evaluation",
        f"<h3>Holdout: {len(holdout):,} flights from {holdout['sched_dep'].min():%Y-%m-%d}</h3>"
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
        f"<p>Contributions are exact TreeSHAP values on {len(sample):,} holdout flights: each one is "
        "how far a feature moves that flight's log-odds of a late arrival away from the base value "
        f"({base_value:+.3f}, the training average), and they add up to the model's score. "
        "Mean |contribution| says how much a feature moves the model's predictions; permutation "
        "importance says how much ROC AUC the model loses when the feature's values are shuffled "
        "across flights, i.e. how much its accuracy depends on it. A feature can move predictions a "
        "lot and add little accuracy (another feature carries the same information), or the other "
        "way round.</p>"
        + image_html(reports.global_explanation_figure(importance, mean_abs))
        + "<h4>Contributions by value, top features</h4>"
        + image_html(reports.contribution_spread_figure(sample, contributions, top))
        + spreads
    )


def render_mlflow_deck(run_id: str) -> None:
    """Params and metrics of the MLflow run, via flytekitplugins-mlflow's helpers."""
    from flytekitplugins.mlflow.tracking import get_run_params

    from core.registry import client

    mlflow_client = client()
    run = mlflow_client.get_run(run_id)
    metrics = pd.DataFrame(sorted(run.data.metrics.items()), columns=["metric", "value"])
    params = get_run_params(mlflow_client, run_id)
    Deck(
        "MLflow",
        f"<p>run <code>{run_id}</code> in experiment {run.info.experiment_id}</p>"
        + table_html(metrics.round(4))
        + (table_html(params) if params is not None else ""),
    )
