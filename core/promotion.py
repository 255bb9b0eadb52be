"""Apply the promotion gate against the live registry: score the current champion and the
candidate on the candidate's holdout, bootstrap the AUC gain, decide, move the alias, and log the
decision to the candidate's run and version.

Only models that never fit the holdout are scored on it: the candidate by its judged model (fit
before the holdout; the registered version is its refit on training + holdout), the champion by
its deployed model when its fit window ends before the holdout (else it is not compared).

A candidate that fails a sanity check takes no alias: its version is tagged `promotion=rejected`
with the reasons. A sane candidate that does not beat the champion becomes `challenger`."""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

import usecases
from contract.bundle import Metadata, load_bundle
from contract.champion import push_champion
from core import evaluation, registry
from core.evaluation import EvaluationMetrics
from core.gate import (
    CHALLENGER,
    CHAMPION,
    REJECTED,
    GainInterval,
    GateConfig,
    GateDecision,
    decide,
    paired_auc_gain,
    require_unseen,
    window_overlap,
)
from core.gate import sanity_failures as failed_checks
from core.model import predict_scores

logger = logging.getLogger(__name__)

# A version's tag while its decision is recorded but its alias not yet moved, and after.
GATE_STATE = "gate_state"
PENDING, APPLIED = "pending", "applied"


@dataclass
class Comparison:
    """What the gate saw, for its deck: the holdout's truth and both models' scores on it."""

    labels: np.ndarray
    candidate: np.ndarray
    champion: np.ndarray | None
    champion_fit_end: str = ""
    candidate_holdout_start: str = ""
    candidate_train_end: str = ""  # the judged model's last training day
    candidate_fit_end: str = ""  # the deployed refit's last day: the holdout's last day
    compared_start: str = ""  # the first day both models were scored on (after the champion's fit)


def champion_fit_end(model_name: str) -> str:
    """The last day the current champion's deployed model fit (`YYYY-MM-DD`); empty when there
    is no champion. A candidate's holdout starts after it (`core.features.judged_holdout_start`)."""
    metadata = registry.alias_metadata(model_name, CHAMPION)
    return metadata.training_window.deployed_fit_end if metadata else ""


def _scores_on(holdout: pd.DataFrame, model_name: str, version: str) -> tuple[np.ndarray, float, Metadata]:
    """A registered version's scores on `holdout`, its threshold and its metadata."""
    with tempfile.TemporaryDirectory(prefix=f"gate-{version}-") as tmp:
        bundle = load_bundle(registry.download_bundle(model_name, version, tmp), require_reference=False)
        scores = predict_scores(bundle.model, holdout)
        return scores, bundle.schema.threshold, bundle.metadata


def promote(
    registered: registry.RegisteredVersion,
    candidate: EvaluationMetrics,
    holdout: pd.DataFrame,
    config: GateConfig,
    judged_model,
) -> tuple[GateDecision, Comparison]:
    """`judged_model` is the candidate's model fit before the holdout (the evaluation's); the
    registered version holds its refit, which fit the holdout and is never scored on it."""
    name, version = registered.model_name, registered.version
    current = registry.alias_version(name, CHAMPION)
    decision = GateDecision(model_name=name, version=version, candidate_auc=candidate.roc_auc)
    case = usecases.current()
    labels = holdout[case.label].to_numpy(dtype=np.int64)
    holdout_start = f"{holdout[case.timestamp].min():%Y-%m-%d}"
    window = registry.version_metadata(name, version).training_window
    require_unseen(window.train_end, holdout_start, "candidate's judged model")
    candidate_scores = predict_scores(judged_model, holdout)
    comparison = Comparison(
        labels, candidate_scores, None, "", holdout_start, window.train_end, window.deployed_fit_end
    )

    recorded = _recorded_decision(registered.run_id)
    if recorded is not None:
        # Judged once: a retry of the gate, or a re-run of an old execution whose cache missed
        # (its code changed), returns the decision made then. It moves an alias only when that
        # decision was recorded but never applied (an attempt stopped in between).
        if registry.client().get_model_version(name, version).tags.get(GATE_STATE) == PENDING:
            _apply(recorded, name, version)
        return recorded, comparison
    if current == version:
        decision.alias, decision.promoted, decision.previous_champion = CHAMPION, True, current
        decision.champion_auc = candidate.roc_auc
        decision.reasons = [f"version {version} is already the champion"]
        return decision, comparison

    champion, interval, not_compared = None, None, ""
    if current is not None:
        champion, interval, not_compared = _judge_against_champion(
            holdout, candidate_scores, comparison, decision, config, current
        )
    decision.sanity_failures = failed_checks(candidate, config)
    fresher = bool(comparison.champion_fit_end) and window.deployed_fit_end > comparison.champion_fit_end
    promoted, reasons = decide(candidate, champion, config, interval, not_compared, fresher)
    decision.promoted, decision.reasons = promoted, reasons
    if promoted:
        decision.alias = CHAMPION
    elif not decision.sanity_failures:
        decision.alias = CHALLENGER
    # Recorded before the alias moves, so that a retry after a failure past this point (the task
    # calls a service: it retries) finds the decision it made, and applies it if it was not.
    registry.client().set_model_version_tag(name, version, GATE_STATE, PENDING)
    _tag_version(name, version, decision)
    registry.log_decision(registered.run_id, {**asdict(decision), "alias": decision.alias or REJECTED})
    _apply(decision, name, version)
    logger.info("version %s -> %s: %s", version, decision.alias or REJECTED, "; ".join(reasons))
    return decision, comparison


def _judge_against_champion(
    holdout: pd.DataFrame,
    candidate_scores: np.ndarray,
    comparison: Comparison,
    decision: GateDecision,
    config: GateConfig,
    current: str,
) -> tuple[EvaluationMetrics | None, GainInterval | None, str]:
    """Score champion `current` beside the candidate on the holdout rows neither model fit, filling
    `comparison` and `decision`; (champion's metrics, paired interval, why not compared)."""
    name = decision.model_name
    case = usecases.current()
    labels = holdout[case.label].to_numpy(dtype=np.int64)
    decision.previous_champion = current
    champion_window = registry.version_metadata(name, current).training_window
    comparison.champion_fit_end = champion_window.deployed_fit_end
    # Judged only on rows neither model fit: the holdout after the champion's last fit day
    # (all of it when the champion was refit before the holdout began).
    unseen = holdout[case.timestamp] >= pd.Timestamp(comparison.champion_fit_end) + pd.Timedelta(days=1)
    not_compared = (
        window_overlap(
            comparison.champion_fit_end,
            comparison.candidate_holdout_start,
            int(unseen.sum()),
            config.min_compared_rows,
        )
        or ""
    )
    if not_compared:
        return None, None, not_compared
    compared = holdout.loc[unseen.to_numpy()]
    comparison.compared_start = f"{compared[case.timestamp].min():%Y-%m-%d}"
    require_unseen(comparison.champion_fit_end, comparison.compared_start, "champion")
    labels, candidate_scores = labels[unseen.to_numpy()], candidate_scores[unseen.to_numpy()]
    comparison.labels, comparison.candidate = labels, candidate_scores
    champion_scores, threshold, _ = _scores_on(compared, name, current)
    champion = evaluation.evaluate(labels, champion_scores, threshold)
    comparison.champion, decision.champion_auc = champion_scores, champion.roc_auc
    decision.candidate_auc = evaluation.evaluate(labels, candidate_scores, threshold).roc_auc
    interval = paired_auc_gain(
        labels, candidate_scores, champion_scores, config.bootstrap_resamples, config.confidence, config.seed
    )
    decision.auc_gain, decision.gain_low, decision.gain_high = interval.gain, interval.low, interval.high
    return champion, interval, ""


def _apply(decision: GateDecision, name: str, version: str) -> None:
    """Move the alias the decision gives, push a new champion, and mark the decision applied."""
    if decision.alias:
        registry.set_alias(name, decision.alias, version)
    if decision.alias == CHAMPION:  # for the alert on a served version that is not the champion
        push_champion(name, version, usecases.current().metric_prefix)
    registry.client().set_model_version_tag(name, version, GATE_STATE, APPLIED)


def _recorded_decision(run_id: str) -> GateDecision | None:
    """The decision the gate logged on the candidate's run, if any."""
    recorded = registry.recorded_decision(run_id)
    if recorded is None:
        return None
    known = {f.name for f in fields(GateDecision)}
    decision = GateDecision(**{k: v for k, v in recorded.items() if k in known})
    decision.alias = "" if decision.alias == REJECTED else decision.alias  # logged as `rejected`
    return decision


def _tag_version(name: str, version: str, decision: GateDecision) -> None:
    """The outcome on the model version itself, where a registry browser sees it."""
    mlflow_client = registry.client()
    mlflow_client.set_model_version_tag(name, version, "promotion", decision.alias or REJECTED)
    mlflow_client.set_model_version_tag(
        name, version, "promotion_reasons", json.dumps(decision.reasons)[:5000]
    )
