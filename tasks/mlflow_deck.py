"""The MLflow deck: the params and metrics of a training's MLflow run."""

from __future__ import annotations

import pandas as pd
from flytekit import Deck

from tasks.deck_html import table_html


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
