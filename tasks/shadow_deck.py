"""The online gate's deck: the shadow challenger against the champion on the same live requests."""

from __future__ import annotations

import html
import math

import pandas as pd
from flytekit import Deck

from core.gate import GateConfig
from core.online_gate import TRUTH, ShadowJudgement
from tasks.deck_html import image_html, table_html


def render_shadow_deck(judgement: ShadowJudgement, frame: pd.DataFrame, gate: GateConfig) -> None:
    Deck("Shadow challenger", shadow_deck_html(judgement, frame, gate))


def shadow_deck_html(judgement: ShadowJudgement, frame: pd.DataFrame, gate: GateConfig) -> str:
    """The online gate's evidence: both models on the same live requests, the gain with its
    interval, and both curves on the rows whose truth arrived."""
    from core.gate_report import comparison_figure

    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in judgement.reasons)
    figures = pd.DataFrame(
        [
            {
                "champion": f"v{judgement.champion_version}",
                "challenger": f"v{judgement.challenger_version}",
                "rows scored in shadow": judgement.shadow_rows,
                "rows with truth": judgement.labelled_rows,
                "champion AUC": round(judgement.champion_auc, 4),
                "challenger AUC": round(judgement.challenger_auc, 4),
                "AUC gain": round(judgement.auc_gain, 4),
                f"{gate.confidence:.0%} interval": f"[{judgement.gain_low:+.4f}, {judgement.gain_high:+.4f}]",
                "margin": gate.min_auc_gain,
            }
        ]
    )
    body = (
        f"<h3>Shadow challenger: {'PROMOTED' if judgement.promote else 'not promoted'}</h3><ul>{reasons}</ul>"
    )
    body += table_html(figures)
    known = frame.loc[frame[TRUTH].notna()] if len(frame) else frame
    if not math.isnan(judgement.auc_gain):
        body += "<p>In the curves, the candidate is the challenger, on the live requests.</p>"
        body += image_html(
            comparison_figure(
                known[TRUTH].astype(int).to_numpy(),
                known["challenger_probability"].to_numpy(),
                known["probability"].to_numpy(),
            )
        )
    return body
