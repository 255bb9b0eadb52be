"""Replay the closed loop month by month over the use case's history and compare it with two
baselines, on the same events:

- **never**: the first model (trained as of the first month) scores every month;
- **monthly**: a model retrained as of the 1st of each month scores that month, unconditionally;
- **loop**: the champion scores the month; monitoring (with the month's true labels once known)
  decides; on drift or decay the training workflow runs as of the month's end and the promotion
  gate decides whether the new version serves the next month.

Beside the loop, what the online gate would have done: the registry's `challenger` of the month
(what the server scores in shadow) scores the month's events too, and `core.online_gate`'s
judgement of it against the champion on those events (the gate's paired bootstrap and margin)
is shown; the replay does not act on it.

Every step is the real workflow, executed locally. A training the policies share (the monthly
retrain as of the 1st of M+1 is the loop's triggered retrain after month M) is one computation:
the second asks the Flyte cache. Scoring a month with a version another policy already used is a
cache hit too.

    python -m scripts.replay --start 2013-07 --months 6     (make replay)

The use case is `usecases.current()` (`MLOPS_USE_CASE`); `--start` defaults to the month of its
first demo date.

Prints the table and writes `<data dir>/reports/replay.html`, with each month's monitoring, gate
and batch decks copied next to it and linked.
"""

from __future__ import annotations

import argparse
import logging
import math
import shutil
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

import usecases
from core.gate import GateConfig
from core.model import Hyperparameters, use_case_hyperparameters
from core.monitoring import MonitoringThresholds
from core.online_gate import ShadowJudgement, judge_shadow
from scripts.flyte_log import written_decks
from tasks.data import DataConfig
from workflows.replay import candidate_workflow

logger = logging.getLogger(__name__)

NEVER, MONTHLY, LOOP = "never", "monthly", "loop"
POLICIES = (NEVER, MONTHLY, LOOP)
CHALLENGER_COLUMN = "challenger"  # the month's challenger's scores, beside the loop's champion's
DECK_TASKS = ("monitor", "promotion_gate", "collect_predictions")


def default_start() -> str:
    """The month of the use case's first demo date (`YYYY-MM`)."""
    dates = usecases.current().demo_as_of
    if not dates:
        raise SystemExit(f"use case '{usecases.current().name}' declares no demo_as_of: pass --start")
    return f"{dates[0]:%Y-%m}"


@dataclass
class ReplayConfig:
    start: str = field(default_factory=default_start)
    months: int = 6
    thresholds: MonitoringThresholds = field(default_factory=MonitoringThresholds)
    data: DataConfig = field(default_factory=DataConfig)
    hyperparameters: Hyperparameters = field(default_factory=use_case_hyperparameters)
    gate: GateConfig = field(default_factory=GateConfig)


def _keep_decks(found: dict[str, str], month: str, folder: Path) -> dict[str, str]:
    """Copy this month's decks next to the report; a cached re-run (no deck written) keeps the
    copy of the run that computed it. Returns {task: file name relative to the report}."""
    folder.mkdir(parents=True, exist_ok=True)
    kept = {}
    for task in DECK_TASKS:
        target = folder / f"{month}-{task}.html"
        if task in found and Path(found[task]).exists():
            shutil.copyfile(found[task], target)
        if target.exists():
            kept[task] = f"{folder.name}/{target.name}"
    return kept


def _fit_cpu_seconds(model_name: str, version: str) -> float:
    """What training a version cost (metadata.json), NaN for a version trained before it was kept."""
    from core import registry

    cost = registry.version_metadata(model_name, version).training_cost
    return float(cost.get("fit_cpu_seconds", math.nan))


@dataclass
class _Policies:
    """The replay's state: the first model (what never retraining serves), the loop's champion,
    the versions each policy trained, and each month's truth and scores of every policy on the
    same events (for the paired comparison of the policies)."""

    base: str
    champion: str
    trained: dict[str, set[str]]
    scored: list[pd.DataFrame] = field(default_factory=list)


def replay(config: ReplayConfig) -> tuple[pd.DataFrame, Path]:
    from core import paths
    from core.replay_report import write_html

    began = time.perf_counter()
    first = pd.Timestamp(f"{config.start}-01")
    months = [first + pd.DateOffset(months=i) for i in range(config.months)]
    reports = paths.data_dir() / "reports"
    policies = _first_model(first, config)
    rows = [
        _replay_month(month, config, policies, reports / "decks", month == months[-1]) for month in months
    ]
    frame = _with_costs(rows, policies)
    frame.attrs["gains"] = policy_gains(policies.scored, config.gate)
    notes = _notes(config, rows, policies.base, first, time.perf_counter() - began)
    title = "Closed-loop replay: three policies"
    if not config.hyperparameters.operational_features:
        title += ", the model without the operational features"
    path = write_html(frame, frame.attrs["costs"], reports / "replay.html", title, notes)
    return frame, path


def _first_model(first: pd.Timestamp, config: ReplayConfig) -> _Policies:
    """Train the model every policy starts from (through the gate: it becomes the champion)."""
    from workflows.training import training_workflow

    with written_decks():
        base = training_workflow(
            as_of=first.to_pydatetime(),
            hyperparameters=config.hyperparameters,
            data=config.data,
            gate=config.gate,
        )
    if not base.version:
        raise ValueError(f"the first model (as of {first:%Y-%m-%d}) was not trained")
    return _Policies(base.version, base.version, {policy: {base.version} for policy in POLICIES})


def _replay_month(
    month: pd.Timestamp, config: ReplayConfig, policies: _Policies, decks_folder: Path, last: bool
) -> dict:
    """One month: each policy's model scores it, monitoring judges the loop's champion, and the
    gate's decision on a triggered retrain sets the champion of the next month. Returns the row."""
    from core.gate import CHAMPION

    label = f"{month:%Y-%m}"
    start, end = month.to_pydatetime(), (month + pd.offsets.MonthBegin(1)).to_pydatetime()
    with written_decks() as decks:
        serving, realized, outcome, online = _score_and_monitor(start, end, config, policies)
    report, gate = outcome.report, outcome.gate
    if gate.version and not last:
        policies.trained[LOOP].add(gate.version)
    row = {
        "month": label,
        **{f"auc_{policy}": realized[serving[policy]] for policy in POLICIES},
        **{f"version_{policy}": f"v{serving[policy]}" for policy in POLICIES},
        **{f"fit_{policy}": _fit_window(serving[policy]) for policy in POLICIES},
        "holdout_auc": report.validation_auc,
        "decision": report.decision,
        "drift_alarm": report.drift_alarm,
        "feature_alarm": report.feature_alarm,
        "decayed": report.decayed,
        "weighted_psi": report.weighted_psi,
        "score_psi": report.score_psi,
        "retrain": f"v{gate.version} -> {gate.alias or 'rejected'}" if gate.version else "-",
        "gain_interval": (
            f"{gate.auc_gain:+.4f} [{gate.gain_low:+.4f}, {gate.gain_high:+.4f}]"
            if gate.previous_champion
            else ""
        ),
        "online_gate": online,
        "reasons": list(report.reasons) + list(gate.reasons),
        "decks": _keep_decks(decks.found, label, decks_folder),
    }
    if gate.alias == CHAMPION:
        policies.champion = gate.version
    _log_month(row)
    return row


def _score_and_monitor(
    start: datetime, end: datetime, config: ReplayConfig, policies: _Policies
) -> tuple[dict[str, str], dict[str, float], Any, str]:
    """({policy: version serving}, {version: realized AUC}, the monitoring outputs, what the
    online gate would say of the month's challenger) of one month; the month's unconditional
    retrain is recorded as the monthly policy's."""
    from core import monitoring
    from workflows.batch_inference import batch_inference_workflow
    from workflows.monitoring import monitor_predictions_workflow

    hp, data = config.hyperparameters, config.data
    challenger = _shadowed_challenger(policies.champion)  # before this month's gate can move it
    monthly = candidate_workflow(as_of=start, hyperparameters=hp, data=data).version
    policies.trained[MONTHLY].add(monthly)
    serving = {NEVER: policies.base, MONTHLY: monthly, LOOP: policies.champion}
    scored, realized = {}, {}
    for version in dict.fromkeys([*serving.values(), *([challenger] if challenger else [])]):
        scored[version] = batch_inference_workflow(start=start, end=end, model_version=version, data=data)
        realized[version] = monitoring.realized_performance(scored[version])[0]
    month = f"{start:%Y-%m}"
    policies.scored.append(_same_events(month, {p: scored[v] for p, v in serving.items()}))
    online = "-"
    if challenger:
        pair = {LOOP: scored[policies.champion], CHALLENGER_COLUMN: scored[challenger]}
        online = online_gate_text(
            judge_month(_same_events(month, pair), policies.champion, challenger, config.gate)
        )
    outcome = monitor_predictions_workflow(
        predictions=scored[policies.champion],
        start=start,
        end=end,
        thresholds=config.thresholds,
        data=data,
        hyperparameters=hp,
        gate=config.gate,
    )
    return serving, realized, outcome, online


def _shadowed_challenger(champion: str) -> str | None:
    """The version the server would score in shadow now: the registry's `challenger`, unless it
    is the champion (the sync publishes none then)."""
    from contract.names import CHALLENGER
    from core import registry

    challenger = registry.alias_version(usecases.current().model_name, CHALLENGER)
    return challenger if challenger and challenger != champion else None


def judge_month(table: pd.DataFrame, champion: str, challenger: str, gate: GateConfig) -> ShadowJudgement:
    """The online gate's judgement (`core.online_gate.judge_shadow`) of the challenger against the
    champion on a month's events: `table` holds their truth (the use case's label) and the two
    models' scores (columns LOOP and CHALLENGER_COLUMN), as `_same_events` joins them."""
    from contract.names import PROBABILITY
    from contract.request_log import CHALLENGER_PROBABILITY, CHALLENGER_VERSION, TRUTH

    label = usecases.current().label

    shadow = pd.DataFrame(
        {
            "model_version": champion,
            CHALLENGER_VERSION: challenger,
            PROBABILITY: table[LOOP].to_numpy(),
            CHALLENGER_PROBABILITY: table[CHALLENGER_COLUMN].to_numpy(),
            TRUTH: pd.array(table[label].to_numpy(), dtype="Int64"),
        }
    )
    return judge_shadow(shadow, gate)


def online_gate_text(judgement: ShadowJudgement) -> str:
    """`v5 +0.0031 [+0.0008, +0.0055] promote`: the challenger, its gain over the champion with
    the interval, and what the online gate would do (`stays` when it would not promote)."""
    if math.isnan(judgement.auc_gain):
        return f"v{judgement.challenger_version} not judged"
    verdict = "promote" if judgement.promote else "stays"
    return (
        f"v{judgement.challenger_version} {judgement.auc_gain:+.4f} "
        f"[{judgement.gain_low:+.4f}, {judgement.gain_high:+.4f}] {verdict}"
    )


def _same_events(month: str, predictions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One month's events with known truth and each policy's score of them, side by side."""
    case = usecases.current()
    label = case.label
    keyed = {p: frame.loc[frame[label].notna()].set_index(case.key) for p, frame in predictions.items()}
    first = next(iter(keyed.values()))
    table = pd.DataFrame({"month": month, label: first[label].astype("int64")}, index=first.index)
    for policy, frame in keyed.items():
        table[policy] = frame["score"].reindex(table.index)
    return table.dropna().reset_index()


def policy_gains(scored: list[pd.DataFrame], gate: GateConfig) -> dict[str, Any]:
    """Mean realized AUC of the loop minus each baseline, with the 90 % paired-bootstrap interval
    over the replayed months' events (every month resampled within itself)."""
    from core.gate import paired_mean_auc_gain

    label = usecases.current().label
    return {
        baseline: paired_mean_auc_gain(
            [(m[label].to_numpy(), m[LOOP].to_numpy(), m[baseline].to_numpy()) for m in scored],
            gate.bootstrap_resamples,
            gate.confidence,
            gate.seed,
        )
        for baseline in (NEVER, MONTHLY)
    }


def _fit_window(version: str) -> str:
    """`01-01..06-30`: the days a version's deployed model fit (metadata.json)."""
    from core import registry

    window = registry.version_metadata(usecases.current().model_name, version).training_window
    start, end = window.fit_start or window.train_start, window.deployed_fit_end
    return f"{start[5:]}..{end[5:]}"


def _log_month(row: dict) -> None:
    logger.info(
        "replayed %s: realized AUC never %.4f (%s), monthly %.4f (%s), loop %.4f (%s); loop %s, "
        "drift alarm %s, decayed %s, %s %s",
        row["month"],
        row[f"auc_{NEVER}"],
        row[f"version_{NEVER}"],
        row[f"auc_{MONTHLY}"],
        row[f"version_{MONTHLY}"],
        row[f"auc_{LOOP}"],
        row[f"version_{LOOP}"],
        row["decision"],
        row["drift_alarm"],
        row["decayed"],
        row["retrain"],
        row["gain_interval"],
    )


def _with_costs(rows: list[dict], policies: _Policies) -> pd.DataFrame:
    """The replay's table, with each policy's retrain cost as `attrs["costs"]`."""
    from core.replay_report import as_frame, costs_table

    frame = as_frame(rows)
    frame.attrs["costs"] = costs_table(
        frame,
        {policy: sorted(versions, key=int) for policy, versions in policies.trained.items()},
        lambda version: _fit_cpu_seconds(usecases.current().model_name, version),
    )
    return frame


def _notes(
    config: ReplayConfig, rows: list[dict], base: str, first: pd.Timestamp, seconds: float
) -> list[str]:
    """What the report says about how it was made and what its columns mean."""
    t = config.thresholds
    return [
        f"Generated {datetime.now():%Y-%m-%d %H:%M} in {seconds:.0f} s; months "
        f"{rows[0]['month']} to {rows[-1]['month']}; every policy starts from v{base} "
        f"(trained as of {first:%Y-%m-%d}).",
        "Features: every model reads the use case's online features (what had happened by its "
        "prediction time, from the online store)."
        if config.hyperparameters.operational_features
        else "Features: every model without the operational features (their columns held constant "
        "in each fit: no tree splits on them).",
        "Realized AUC: the policy's model on the month's events, with their true labels.",
        f"Loop decisions. decay: realized ROC AUC more than {t.max_auc_drop} below the champion's "
        f"holdout AUC, or log loss more than {t.max_log_loss_rise} above it. drift: "
        f"importance-weighted PSI above {t.max_weighted_psi} (features above {t.max_feature_psi} "
        f"and above their noise level), or score PSI above {t.max_score_psi}.",
        "Alarm quality: a drift alarm is raised from the month's inputs before its labels are "
        "known; it is a hit when the labels then show decay, a false alarm when they do not. The "
        f"plain rule (any feature's PSI above {t.max_feature_psi}) is shown beside it.",
        "Retrain cost: trainings whose models could serve a replayed month (the first model "
        "included), and their fit CPU seconds (metadata.json). A retrain the last month triggers "
        "serves after the window and is not counted.",
    ]


def config_of(argv: list[str] | None = None) -> ReplayConfig:
    """The replay the command line asks for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--start", default=None, help="first month, YYYY-MM (default: the use case's first demo month)"
    )
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument(
        "--train-months",
        type=int,
        default=DataConfig().train_months,
        help="0 (the default): every known month; N: the last N months",
    )
    defaults = use_case_hyperparameters()
    parser.add_argument("--max-iter", type=int, default=defaults.max_iter, help="trees per model")
    parser.add_argument(
        "--without-operational-features",
        action="store_true",
        help="every model without the operational features (their columns held constant in each "
        "fit), for comparison; run it in a store and Flyte cache of its own "
        "(make replay-without-operational)",
    )
    args = parser.parse_args(argv)
    return ReplayConfig(
        args.start or default_start(),
        args.months,
        data=DataConfig(train_months=args.train_months),
        hyperparameters=replace(
            defaults, max_iter=args.max_iter, operational_features=not args.without_operational_features
        ),
    )


def main(argv: list[str] | None = None) -> None:
    from core.replay_report import text_table, verdict
    from scripts.progress import task_progress

    config = config_of(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    began = time.perf_counter()
    with task_progress():  # a line per task on stderr as it starts and ends, with its time
        frame, path = replay(config)
    print(text_table(frame))
    print()
    print(verdict(frame, frame.attrs["costs"]))
    print(f"\nreplayed {len(frame)} months in {time.perf_counter() - began:.1f} s; report: {path}")


if __name__ == "__main__":
    main()
