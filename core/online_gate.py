"""The online gate: the shadow challenger judged on live traffic, a plain decision.

The server scores every request with the champion and, in shadow, with the `challenger`; the
request log keeps both probabilities on each line. Once truth arrives for those requests (the
feedback lines), both models are compared on exactly the same rows with the promotion gate's
paired bootstrap (`core.gate.paired_auc_gain`): the challenger is promoted only when the whole
interval of its live ROC AUC gain lies above the gate's margin, the rule the offline gate applies
to a candidate that is not fresher. The offline gate's refresh margin (`max_refresh_loss`) does
not apply here: it makes up for a judged model that knew no more than the champion, while in
shadow both are the deployed models, each scored on traffic neither fit. Too few labelled rows,
or truth of one class only, decide nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from contract.names import PROBABILITY
from contract.request_log import CHALLENGER_PROBABILITY, CHALLENGER_VERSION, TRUTH
from core.gate import GateConfig, paired_auc_gain

SHADOW_COLUMNS = ["model_version", CHALLENGER_VERSION, PROBABILITY, CHALLENGER_PROBABILITY, TRUTH]


@dataclass
class OnlineGateConfig:
    """`min_labelled_rows`: shadow-scored rows with truth needed before the gate judges at all.
    The margin, the bootstrap and its confidence are the offline gate's (`GateConfig`)."""

    min_labelled_rows: int = 500


@dataclass
class ShadowJudgement:
    champion_version: str = ""
    challenger_version: str = ""
    shadow_rows: int = 0  # rows scored by both in the period
    labelled_rows: int = 0  # of those, rows whose truth is known
    champion_auc: float = math.nan
    challenger_auc: float = math.nan
    auc_gain: float = math.nan
    gain_low: float = math.nan
    gain_high: float = math.nan
    promote: bool = False
    reasons: list[str] = field(default_factory=list)


def shadow_frame(rows: list[dict], truth: dict[tuple[str, int], int]) -> pd.DataFrame:
    """The logged rows the challenger scored too, with the truth known for them (missing where
    none arrived): `SHADOW_COLUMNS`. `truth`: (request id, row) -> 0/1."""
    scored = [r for r in rows if r.get(CHALLENGER_PROBABILITY) is not None]
    frame = pd.DataFrame(
        {
            "model_version": [str(r["model_version"]) for r in scored],
            CHALLENGER_VERSION: [str(r[CHALLENGER_VERSION]) for r in scored],
            PROBABILITY: [float(r[PROBABILITY]) for r in scored],
            CHALLENGER_PROBABILITY: [float(r[CHALLENGER_PROBABILITY]) for r in scored],
            TRUTH: pd.array([truth.get((r["request_id"], r["row"])) for r in scored], dtype="Int64"),
        }
    )
    return frame[SHADOW_COLUMNS]


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def judge_shadow(
    frame: pd.DataFrame, gate: GateConfig | None = None, config: OnlineGateConfig | None = None
) -> ShadowJudgement:
    """Judge the latest (champion, challenger) pair of `frame` (a `shadow_frame`, oldest first)."""
    gate, config = gate or GateConfig(), config or OnlineGateConfig()
    if frame.empty:
        return ShadowJudgement(reasons=["no request was scored in shadow: no challenger served"])
    champion, challenger = frame["model_version"].iloc[-1], frame[CHALLENGER_VERSION].iloc[-1]
    pair = frame.loc[(frame["model_version"] == champion) & (frame[CHALLENGER_VERSION] == challenger)]
    known = pair.loc[pair[TRUTH].notna()]
    judgement = ShadowJudgement(
        champion_version=champion,
        challenger_version=challenger,
        shadow_rows=len(pair),
        labelled_rows=len(known),
    )
    labels = known[TRUTH].astype(np.int64).to_numpy()
    if len(known) < config.min_labelled_rows:
        judgement.reasons = [
            f"{len(known)} shadow-scored rows with truth (< {config.min_labelled_rows}): "
            f"challenger v{challenger} not judged yet"
        ]
        return judgement
    if len(np.unique(labels)) < 2:
        judgement.reasons = [
            f"the truth of all {len(known)} rows is one class: ROC AUC undefined, not judged"
        ]
        return judgement
    ours, theirs = known[PROBABILITY].to_numpy(), known[CHALLENGER_PROBABILITY].to_numpy()
    interval = paired_auc_gain(labels, theirs, ours, gate.bootstrap_resamples, gate.confidence, gate.seed)
    judgement.champion_auc, judgement.challenger_auc = _auc(labels, ours), _auc(labels, theirs)
    judgement.auc_gain, judgement.gain_low, judgement.gain_high = interval.gain, interval.low, interval.high
    judgement.promote = interval.low > gate.min_auc_gain
    verdict = (
        f"live ROC AUC of challenger v{challenger} {judgement.challenger_auc:.4f} vs champion "
        f"v{champion} {judgement.champion_auc:.4f} on the same {len(known)} requests "
        f"({interval.text()}; margin {gate.min_auc_gain:.4f})"
    )
    judgement.reasons = [
        verdict
        + (
            ": the interval clears the margin, challenger promoted"
            if judgement.promote
            else ": champion stays"
        )
    ]
    return judgement


def apply_online_gate(judgement: ShadowJudgement, model_name: str) -> ShadowJudgement:
    """Move the registry's aliases as the judgement says: a promoted challenger becomes
    `champion` (and loses `challenger`, so the server stops shadowing a model against itself).
    Nothing moves when the aliases no longer name the judged pair (the offline gate or a rollback
    moved them since): the judgement is about models that are not served any more."""
    from contract.names import CHALLENGER, CHAMPION
    from core import registry

    if not judgement.promote:
        return judgement
    now = (registry.alias_version(model_name, CHAMPION), registry.alias_version(model_name, CHALLENGER))
    # A retried attempt finds the champion already moved to the challenger: it finishes the move.
    moved = now[0] == judgement.challenger_version and now[1] in (None, judgement.challenger_version)
    if now != (judgement.champion_version, judgement.challenger_version) and not moved:
        judgement.promote = False
        judgement.reasons.append(
            f"the registry's champion and challenger are now v{now[0]} and v{now[1]}, not the judged "
            f"v{judgement.champion_version} and v{judgement.challenger_version}: nothing moved"
        )
        return judgement
    mlflow_client = registry.client()
    # The champion moves first: an attempt stopped between the two steps leaves the new champion
    # serving, and the retry drops the challenger alias.
    registry.set_alias(model_name, CHAMPION, judgement.challenger_version)
    if registry.alias_version(model_name, CHALLENGER) == judgement.challenger_version:
        mlflow_client.delete_registered_model_alias(model_name, CHALLENGER)
    mlflow_client.set_model_version_tag(model_name, judgement.challenger_version, "promotion", "online")
    mlflow_client.set_model_version_tag(
        model_name, judgement.challenger_version, "promotion_reasons", "; ".join(judgement.reasons)[:5000]
    )
    return judgement
