"""The promotion gate's deck: both models on the same holdout, the gain and each sanity check."""

from __future__ import annotations

import html

import pandas as pd
from flytekit import Deck

from core.evaluation import EvaluationMetrics
from core.gate import GateConfig, GateDecision, sanity_table
from tasks.deck_html import image_html, table_html


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
                "refresh margin (candidate refit on days the champion never saw)": -config.max_refresh_loss,
                "champion fit up to": comparison.champion_fit_end or "-",
                "candidate judged: fit up to": comparison.candidate_train_end,
                "candidate holdout from": comparison.candidate_holdout_start,
                "compared from": comparison.compared_start or "-",
                "candidate deployed: refit up to": comparison.candidate_fit_end,
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
