"""Decks of the batch and monitoring workflows (HTML through the deck-standard renderers)."""

from __future__ import annotations

import html

import pandas as pd
from flytekit import Deck

from core import batch
from core.evaluation import EvaluationMetrics
from core.gate import GateConfig, GateDecision, sanity_table
from core.monitoring import MonitoringReport
from tasks.decks import image_html, table_html


def render_batch_deck(predictions: pd.DataFrame, version: str) -> None:
    days = batch.summary_by(predictions, "day")
    carriers = batch.summary_by(predictions, "carrier").sort_values("flights", ascending=False)
    head = (
        f"<h3>Batch scores: {len(predictions):,} flights, {len(days)} days, "
        f"model version {version}</h3>"
        f"<p>mean score {predictions['score'].mean():.3f}, positive (flagged) rate "
        f"{predictions['predicted_late'].mean():.3f}</p>"
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


def render_gate_deck(
    decision: GateDecision, comparison, candidate: EvaluationMetrics, config: GateConfig
) -> None:
    """The promotion decision a person can check: both models on the same holdout, the gain with
    its interval, and each sanity check."""
    from core.gate_report import comparison_figure

    outcome = decision.alias or "rejected (no alias)"
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in decision.reasons)
    gain = pd.DataFrame(
        [
            {
                "candidate": f"v{decision.version}",
                "champion": f"v{decision.previous_champion}" if decision.previous_champion else "none",
                "candidate AUC": round(decision.candidate_auc, 4),
                "champion AUC": round(decision.champion_auc, 4) if comparison.champion is not None else None,
                "AUC gain": round(decision.auc_gain, 4),
                f"{config.confidence:.0%} interval": f"[{decision.gain_low:+.4f}, {decision.gain_high:+.4f}]",
                "margin": config.min_auc_gain,
                "champion trained up to": comparison.champion_train_end or "-",
                "candidate holdout from": comparison.candidate_holdout_start,
            }
        ]
    )
    Deck(
        "Promotion gate",
        f"<h3>Version {html.escape(decision.version)}: {html.escape(outcome)}</h3><ul>{reasons}</ul>"
        + table_html(gain)
        + image_html(comparison_figure(comparison.labels, comparison.candidate, comparison.champion))
        + "<h4>Sanity checks (candidate)</h4>"
        + table_html(pd.DataFrame(sanity_table(candidate, config))),
    )
