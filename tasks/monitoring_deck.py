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
                    "unseen_rows",
                    "realized_auc",
                    "estimated_auc",
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
        + _estimate_html(report)
        + "<p>A feature counts towards the importance-weighted PSI only when its PSI is above "
        + "both the threshold and <code>psi_noise</code>, what sampling noise alone reaches at "
        + "that n; a source under the minimum sample is not judged.</p>"
        + "<h4>Drift, worst first</h4>"
        + table_html(drift.round(4)),
    )


def _estimate_html(report: MonitoringReport) -> str:
    """The performance estimated without labels: ROC AUC and the confusion matrix at the
    threshold (shares of the rows the champion never fit), beside the holdout's AUC."""
    if report.estimated_auc != report.estimated_auc:  # NaN: no calibration, or no unseen row
        return "<p>Performance not estimated (no calibration in the bundle, or no row to judge).</p>"
    matrix = pd.DataFrame(
        {
            "flagged": [report.estimated_true_positive, report.estimated_false_positive],
            "not flagged": [report.estimated_false_negative, report.estimated_true_negative],
        },
        index=["positive", "negative"],
    ).round(4)
    return (
        f"<h4>Estimated without labels</h4><p>ROC AUC {report.estimated_auc:.4f} (holdout "
        f"{report.validation_auc:.4f}); precision {report.estimated_precision:.4f}, recall "
        f"{report.estimated_recall:.4f} at the threshold. From the champion's scores calibrated on "
        "its holdout (confidence-based performance estimation): right when the relation between "
        "the features and the outcome is the holdout's; blind to a change in that relation, which "
        "only the labels show.</p>" + table_html(matrix.rename_axis("truth").reset_index())
    )
