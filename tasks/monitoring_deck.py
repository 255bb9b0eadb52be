"""The monitoring deck: the decision, its figures and the drift table, worst first."""

from __future__ import annotations

import html

import pandas as pd
from flytekit import Deck

from core.monitoring import MonitoringReport
from tasks.deck_html import table_html


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
                    "labels_pending",
                    "realized_auc",
                    "validation_auc",
                    "realized_log_loss",
                    "validation_log_loss",
                    "worst_psi",
                    "weighted_psi",
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
        + "<p>A feature counts towards the importance-weighted PSI only when its PSI is above "
        + "both the threshold and <code>psi_noise</code>, what sampling noise alone reaches at "
        + "that n; a source under the minimum sample is not judged.</p>"
        + "<h4>Drift, worst first</h4>"
        + table_html(drift.round(4)),
    )
