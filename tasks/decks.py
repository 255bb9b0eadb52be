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


def render_data_deck(table: pd.DataFrame) -> None:
    summary = (
        f"<h3>Feature table</h3><p>{len(table):,} flights from {table['sched_dep'].min():%Y-%m-%d} to "
        f"{table['sched_dep'].max():%Y-%m-%d}; late-arrival rate {table['late'].mean():.3f}.</p>"
    )
    Deck(
        "Data",
        summary
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
) -> None:
    labels = holdout["late"].to_numpy()
    figures = pd.DataFrame([metrics.as_dict()]).round(4)
    importance = reports.feature_importance(model, holdout)
    Deck(
        "Evaluation",
        f"<h3>Holdout: {len(holdout):,} flights from {holdout['sched_dep'].min():%Y-%m-%d}</h3>"
        + table_html(figures)
        + image_html(reports.evaluation_figure(labels, scores, threshold))
        + image_html(reports.importance_figure(importance))
        + "<h3>Slices</h3>"
        + table_html(slices.round(4)),
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
