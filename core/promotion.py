"""Apply the promotion gate against the live registry: score the current champion on the
candidate's holdout, decide, move the alias, and log the decision to the candidate's run."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict

import pandas as pd

from core import evaluation, registry
from core.evaluation import EvaluationMetrics
from core.gate import CHALLENGER, CHAMPION, GateConfig, GateDecision, decide
from core.model import predict_scores
from core.schemas import LABEL
from seldon.bundle import load_bundle

logger = logging.getLogger(__name__)


def champion_metrics_on(holdout: pd.DataFrame, model_name: str, version: str) -> EvaluationMetrics:
    """The champion re-scored on exactly the candidate's holdout, with its own threshold."""
    with tempfile.TemporaryDirectory(prefix="champion-") as tmp:
        bundle = load_bundle(registry.download_bundle(model_name, version, tmp), require_reference=False)
        scores = predict_scores(bundle.model, holdout)
        threshold = float(bundle.schema["output"]["threshold"])
    return evaluation.evaluate(holdout[LABEL].to_numpy(), scores, threshold)


def promote(
    registered: registry.RegisteredVersion,
    candidate: EvaluationMetrics,
    holdout: pd.DataFrame,
    config: GateConfig,
) -> GateDecision:
    name, version = registered.model_name, registered.version
    current = registry.alias_version(name, CHAMPION)
    decision = GateDecision(model_name=name, version=version, candidate_auc=candidate.roc_auc)

    if current == version:
        decision.alias, decision.promoted, decision.previous_champion = CHAMPION, True, current
        decision.champion_auc = candidate.roc_auc
        decision.reasons = [f"version {version} is already the champion"]
        return decision

    champion = None
    if current is not None:
        champion = champion_metrics_on(holdout, name, current)
        decision.previous_champion, decision.champion_auc = current, champion.roc_auc
    promoted, reasons = decide(candidate, champion, config)
    decision.promoted, decision.reasons = promoted, reasons
    decision.alias = CHAMPION if promoted else CHALLENGER
    registry.set_alias(name, decision.alias, version)
    registry.log_decision(registered.run_id, asdict(decision))
    logger.info("version %s -> %s: %s", version, decision.alias, "; ".join(reasons))
    return decision
