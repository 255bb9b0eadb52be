"""Decks of the batch and monitoring workflows (HTML through the deck-standard renderers)."""

from __future__ import annotations

import html

import pandas as pd
from flytekit import Deck

from core import batch
from core.monitoring import MonitoringReport
from tasks.decks import table_html


def render_batch_deck(predictions: pd.DataFrame, version: str) -> None:
    days = batch.summary_by(predictions, "day")
    carriers = batch.summary_by(predictions, "carrier").sort_values("flights", ascending=False)
    head = (
        f"<h3>Batch scores: {len(predictions):,} flights, {len(days)} days, "
        f"model version {version}</h3>"
        f"<p>mean score {predictions['score'].mean():.3f}, positive (flagged) rate "
        f"{predictions['label'].mean():.3f}</p>"
    )
    Deck(
        "Batch",
        head
        + "<h4>Score distribution</h4>"
        + table_html(batch.score_histogram(predictions).round(3))
        + "<h4>By day</h4>"
        + table_html(days.round(4))
        + "<h4>By carrier</h4>"
        + table_html(carriers.round(4)),
    )


def render_monitoring_deck(report: MonitoringReport, drift: pd.DataFrame) -> None:
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in report.reasons)
    figures = pd.DataFrame(
        [
            {
                k: report.as_dict()[k]
                for k in (
                    "n_rows",
                    "n_online_rows",
                    "labelled_rows",
                    "realized_auc",
                    "validation_auc",
                    "realized_log_loss",
                    "validation_log_loss",
                    "worst_psi",
                    "score_psi",
                )
            }
        ]
    ).round(4)
    Deck(
        "Monitoring",
        f"<h3>Decision: {report.decision.upper()} (model version {report.model_version}, "
        f"{report.period_start} to {report.period_end})</h3><ul>{reasons}</ul>"
        + table_html(figures)
        + "<h4>Drift, worst first</h4>"
        + table_html(drift.round(4)),
    )
