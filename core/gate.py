"""The promotion gate: a plain decision over holdout figures, no registry calls in here.

The candidate and the champion are scored on the same holdout rows, so their AUC difference is
paired: a paired bootstrap (the same resampled rows for both models) gives an interval for the
gain, and the candidate wins only when the whole interval clears the margin, or, when it is refit
on days the champion never saw, unless the whole interval lies below the refresh margin. The comparison is
only fair when the champion never saw the candidate's holdout: a champion whose training window
reaches into it (models trained out of order) is not compared, and nothing is promoted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from contract.names import CHALLENGER as CHALLENGER  # the alias names are the contract's
from contract.names import CHAMPION as CHAMPION
from core.evaluation import EvaluationMetrics
from usecases.loop_fields import loop_default

REJECTED = "rejected"  # the tag of a candidate that failed a sanity check; it takes no alias


@dataclass
class GateConfig:
    """A candidate replaces the champion only if it passes every sanity check and the
    `confidence` paired-bootstrap interval of its ROC AUC gain on the same holdout lies above
    `min_auc_gain`, or, for a fresher candidate (refit on days the champion never saw), unless that
    interval lies wholly below `-max_refresh_loss`."""

    # Each default is the current use case's (`UseCase.gate`), else the base value in
    # `usecases.loop_defaults`.
    min_auc_gain: float = loop_default("gate", "min_auc_gain")
    min_auc: float = loop_default("gate", "min_auc")
    max_calibration_error: float = loop_default("gate", "max_calibration_error")
    min_flagged_rate: float = loop_default("gate", "min_flagged_rate")
    max_flagged_rate: float = loop_default("gate", "max_flagged_rate")
    bootstrap_resamples: int = loop_default("gate", "bootstrap_resamples")
    # two-sided; its lower end is a one-sided 95 % bound
    confidence: float = loop_default("gate", "confidence")
    seed: int = loop_default("gate", "seed")
    # A champion refit into the candidate's holdout (a mid-month retrain) is compared on the
    # holdout rows after its last fit day, when there are at least this many.
    min_compared_rows: int = loop_default("gate", "min_compared_rows")
    # A fresher candidate (its refit fit days the champion never saw) is judged by a model fit on
    # no more than the champion knew (and less: its early-stopping share): it wins unless the
    # interval shows that model worse by more than this (chosen on the default use case's March-June 2013 by
    # replaying the loop under several margins: `make replay-gate-choice`).
    max_refresh_loss: float = loop_default("gate", "max_refresh_loss")


@dataclass
class GateDecision:
    model_name: str = ""
    version: str = ""
    alias: str = ""  # champion, challenger, or empty (rejected, or nothing trained)
    promoted: bool = False
    previous_champion: str = ""  # empty when there was none
    candidate_auc: float = 0.0
    champion_auc: float = 0.0  # the previous champion re-scored on the candidate's holdout
    auc_gain: float = 0.0
    gain_low: float = 0.0  # the gain's paired-bootstrap interval (0, 0 when not compared)
    gain_high: float = 0.0
    sanity_failures: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass
class GainInterval:
    gain: float
    low: float
    high: float
    confidence: float
    resamples: int

    def text(self) -> str:
        return (
            f"gain {self.gain:+.4f}, {self.confidence:.0%} paired-bootstrap interval "
            f"[{self.low:+.4f}, {self.high:+.4f}] over {self.resamples} resamples"
        )


def _weighted_auc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC of `scores` under each row of `weights` (resamples x rows), ties counted half."""
    order = np.argsort(scores, kind="stable")
    ranked, positive = scores[order], labels[order].astype(bool)
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    w = weights[:, order]
    pos = np.add.reduceat(np.where(positive, w, 0.0), starts, axis=1)
    neg = np.add.reduceat(np.where(positive, 0.0, w), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    pairs = pos.sum(axis=1) * neg.sum(axis=1)
    return (pos * (below + 0.5 * neg)).sum(axis=1) / np.where(pairs > 0, pairs, np.nan)


def paired_auc_gain(
    labels: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    resamples: int = 400,
    confidence: float = 0.90,
    seed: int = 0,
) -> GainInterval:
    """AUC(candidate) - AUC(champion) on the same rows, with a percentile interval from a paired
    bootstrap: each resample draws the rows once and scores both models on them."""
    return paired_mean_auc_gain([(labels, candidate, champion)], resamples, confidence, seed)


def paired_mean_auc_gain(
    months: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    resamples: int = 400,
    confidence: float = 0.90,
    seed: int = 0,
) -> GainInterval:
    """Mean over months of AUC(a) - AUC(b), each month `(labels, a, b)` scored by both policies on
    the same rows, with a paired bootstrap interval: each resample redraws every month's
    rows once (within the month, so each month keeps its size) and scores both on them."""
    rng = np.random.default_rng(seed)
    gains, spread = [], np.zeros(resamples)
    for labels, a, b in months:
        labels = np.asarray(labels, dtype=np.int64)
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        n = len(labels)
        ones = np.ones((1, n))
        gains.append(float(_weighted_auc(labels, a, ones)[0] - _weighted_auc(labels, b, ones)[0]))
        for chunk in np.array_split(np.arange(resamples), max(1, resamples // 50)):
            weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in chunk])
            weights = weights.astype(np.float64)
            spread[chunk] += _weighted_auc(labels, a, weights) - _weighted_auc(labels, b, weights)
    spread = spread[np.isfinite(spread)] / len(months)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(spread, [tail, 1.0 - tail])
    return GainInterval(float(np.mean(gains)), float(low), float(high), confidence, int(len(spread)))


@dataclass(frozen=True)
class SanityCheck:
    """One sanity check of a candidate: its value, the rule, whether it passed, why it failed."""

    check: str
    candidate: str
    rule: str
    passed: bool
    failure: str


def sanity_checks(metrics: EvaluationMetrics, config: GateConfig) -> list[SanityCheck]:
    """The one list of sanity checks; the gate's reasons and the deck's table both read it."""
    finite = all(math.isfinite(v) for v in metrics.as_dict().values() if isinstance(v, float))
    auc, calibration, flagged = metrics.roc_auc, metrics.calibration_error, metrics.flagged_rate
    low, high = config.min_flagged_rate, config.max_flagged_rate
    return [
        SanityCheck(
            "every holdout metric finite",
            "yes" if finite else "no",
            "finite",
            finite,
            "a holdout metric is not finite",
        ),
        SanityCheck(
            "ROC AUC",
            f"{auc:.4f}",
            f">= {config.min_auc:.2f}",
            auc >= config.min_auc,
            f"ROC AUC {auc:.4f} below the floor {config.min_auc:.2f}",
        ),
        SanityCheck(
            "calibration error",
            f"{calibration:.4f}",
            f"<= {config.max_calibration_error:.2f}",
            calibration <= config.max_calibration_error,
            f"calibration error {calibration:.4f} above {config.max_calibration_error:.2f}",
        ),
        SanityCheck(
            "flagged rate",
            f"{flagged:.3f}",
            f"in [{low:.2f}, {high:.2f}]",
            low <= flagged <= high,
            f"flagged rate {flagged:.3f} outside [{low:.2f}, {high:.2f}]",
        ),
    ]


def sanity_failures(metrics: EvaluationMetrics, config: GateConfig) -> list[str]:
    return [check.failure for check in sanity_checks(metrics, config) if not check.passed]


def sanity_table(metrics: EvaluationMetrics, config: GateConfig) -> list[dict]:
    """Each sanity check with the candidate's value, the rule, and whether it passed (the deck)."""
    return [
        {"check": c.check, "candidate": c.candidate, "rule": c.rule, "passed": bool(c.passed)}
        for c in sanity_checks(metrics, config)
    ]


class FitOnHoldoutError(ValueError):
    """A model the gate was about to score on its holdout was fit on some of those rows."""


def require_unseen(fit_end: str, holdout_start: str, model: str) -> None:
    """Raise unless the model `model` fit only rows before the holdout: the gate judges a
    model on rows it never fit, or not at all."""
    if not fit_end or not holdout_start:
        raise FitOnHoldoutError(f"the {model}'s fit window or the holdout start is unknown: not judged")
    if fit_end >= holdout_start:
        raise FitOnHoldoutError(
            f"the {model} fit rows up to {fit_end}, inside the holdout from {holdout_start}: "
            "a model is never judged on rows it was fit on"
        )


def window_overlap(
    champion_fit_end: str, candidate_holdout_start: str, unseen_rows: int, min_rows: int
) -> str | None:
    """A reason not to compare when the champion's deployed fit window (last day
    `champion_fit_end`) reaches into the candidate's holdout (from `candidate_holdout_start`) and
    fewer than `min_rows` holdout rows come after it; None when the comparison is fair on the
    `unseen_rows` rows neither model fit."""
    reaches_in = champion_fit_end and candidate_holdout_start and champion_fit_end >= candidate_holdout_start
    if reaches_in and unseen_rows < min_rows:
        return (
            f"the champion trained on rows up to {champion_fit_end}, inside the candidate's "
            f"holdout from {candidate_holdout_start}: not a fair comparison (models trained out of "
            "order), the champion stays"
        )
    return None


def decide(
    candidate: EvaluationMetrics,
    champion: EvaluationMetrics | None,
    config: GateConfig,
    interval: GainInterval | None = None,
    not_compared: str = "",
    candidate_fresher: bool = False,
) -> tuple[bool, list[str]]:
    """(promote?, reasons). `champion` is the current champion scored on the candidate's holdout
    rows it never fit (None when there is no champion); `not_compared` the reason a champion
    there is was not scored (`window_overlap`); `interval` the paired-bootstrap interval of the
    candidate's AUC gain over the champion on those rows.

    `candidate_fresher`: the candidate's deployed refit fit days after the champion's last. Its
    judged model then knew no more than the champion, so the comparison measures the
    configuration, not the new month; the refit's month is worth having (`benchmarks/
    fit_windows.py`: the refit beat the judged model in each of six months), and the judged model
    is handicapped (it holds out `validation_fraction` of its rows for early stopping, the
    champion's refit fit all of its own). So the burden of proof is on the champion: a fresher
    candidate wins unless the interval shows it worse by more than `max_refresh_loss` (its upper
    end below `-max_refresh_loss`). A candidate that is not fresher (a new configuration on the
    same data) must clear `min_auc_gain`."""
    failures = sanity_failures(candidate, config)
    if failures:
        return False, ["sanity check failed: " + f for f in failures]
    if not_compared:
        return False, [not_compared]
    if champion is None:
        return True, ["no champion yet and every sanity check passed"]
    if interval is None:
        raise ValueError("comparing with a champion needs the paired interval of the AUC gain")
    verdict = (
        f"ROC AUC {candidate.roc_auc:.4f} vs champion {champion.roc_auc:.4f} on the same holdout "
        f"({interval.text()}; margin {config.min_auc_gain:.4f})"
    )
    if interval.low > config.min_auc_gain:
        return True, [verdict + ": the interval clears the margin, candidate wins"]
    if candidate_fresher:
        bound = f"-{config.max_refresh_loss:.4f}" if config.max_refresh_loss else "0"
        if interval.high >= -config.max_refresh_loss:
            return True, [
                verdict + f": not shown worse than {bound} at the champion's data, and the "
                "candidate is refit on days the champion never saw: candidate wins"
            ]
        return False, [
            verdict + f": refit on days the champion never saw, but the whole interval below "
            f"{bound} at the champion's data: champion stays"
        ]
    if interval.gain > config.min_auc_gain:
        return False, [verdict + ": the gain is within noise of the margin, champion stays"]
    return False, [verdict + ": champion stays"]
