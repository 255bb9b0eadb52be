"""Replay the closed loop month by month over 2013, as the launch plans would run it:

for each month M: the scheduled retrain (as_of = first of M), batch scoring of M with the
champion, monitoring of M with its true labels, and the retrain monitoring asks for (as_of = the
first of M+1, judged by the promotion gate). Every step is the real workflow, executed locally.

    python -m workflows.replay --start 2013-07 --months 6     (make replay)

Prints the table and writes `<data dir>/reports/replay.html`.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from core.model import Hyperparameters
from core.monitoring import MonitoringThresholds
from tasks.data import DataConfig

logger = logging.getLogger(__name__)


@dataclass
class ReplayConfig:
    start: str = "2013-07"
    months: int = 6
    scheduled_retrain: bool = True
    thresholds: MonitoringThresholds = field(default_factory=MonitoringThresholds)
    data: DataConfig = field(default_factory=DataConfig)
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)


def _retrain_text(gate) -> str:
    if not gate.version:
        return "-"
    return f"v{gate.version} -> {gate.alias}"


def replay_month(month: pd.Timestamp, config: ReplayConfig, champion: str) -> tuple[dict, str]:
    """One month; returns its row and the champion after it. The champion is followed through
    the gate decisions rather than read from the registry, so that a re-run (whose cached gates
    do not move aliases) scores each month with the same version as the first run."""
    from core.gate import CHAMPION
    from workflows.batch_inference import batch_inference_workflow
    from workflows.monitoring import monitor_predictions_workflow
    from workflows.training import training_workflow

    began = time.perf_counter()
    start = month.to_pydatetime()
    end = (month + pd.offsets.MonthBegin(1)).to_pydatetime()
    if config.scheduled_retrain:
        scheduled = training_workflow(as_of=start, hyperparameters=config.hyperparameters, data=config.data)
        logger.info("%s scheduled retrain: v%s -> %s", f"{month:%Y-%m}", scheduled.version, scheduled.alias)
        if scheduled.alias == CHAMPION:
            champion = scheduled.version
    predictions = batch_inference_workflow(start=start, end=end, model_version=champion, data=config.data)
    outcome = monitor_predictions_workflow(
        predictions=predictions,
        start=start,
        end=end,
        thresholds=config.thresholds,
        data=config.data,
        hyperparameters=config.hyperparameters,
    )
    report = outcome.report
    if outcome.gate.alias == CHAMPION:
        champion = outcome.gate.version
    row = {
        "month": f"{month:%Y-%m}",
        "champion": f"v{report.model_version}",
        "holdout_auc": report.validation_auc,
        "realized_auc": report.realized_auc,
        "worst_feature": report.worst_feature,
        "worst_psi": report.worst_psi,
        "score_psi": report.score_psi,
        "decision": report.decision,
        "retrain": _retrain_text(outcome.gate),
        "reasons": list(report.reasons) + list(outcome.gate.reasons),
        "seconds": round(time.perf_counter() - began, 1),
    }
    return row, champion


def replay(config: ReplayConfig) -> tuple[pd.DataFrame, Path]:
    from core import paths, registry
    from core.gate import CHAMPION
    from core.replay_report import as_frame, write_html

    first = pd.Timestamp(f"{config.start}-01")
    champion = registry.alias_version(registry.MODEL_NAME, CHAMPION) or ""
    rows = []
    for offset in range(config.months):
        month = first + pd.DateOffset(months=offset)
        row, champion = replay_month(month, config, champion)
        rows.append(row)
        logger.info("replayed %s: %s", rows[-1]["month"], rows[-1]["decision"])
    frame = as_frame(rows)
    t = config.thresholds
    notes = [
        f"Generated {datetime.now():%Y-%m-%d %H:%M}; months {rows[0]['month']} to {rows[-1]['month']}.",
        f"decay: realized ROC AUC more than {t.max_auc_drop} below the champion's holdout AUC, or "
        f"realized log loss more than {t.max_log_loss_rise} above its holdout log loss.",
        f"drift: PSI above {t.max_feature_psi} on any feature "
        f"(ignoring {t.ignore_features or 'none'}) or above {t.max_score_psi} on the score.",
        "holdout AUC: the champion's validation figure (metadata.json); realized AUC: the same "
        "model on the month's flights, with their true labels.",
    ]
    path = write_html(frame, paths.data_dir() / "reports" / "replay.html", "Closed-loop replay", notes)
    return frame, path


def main(argv: list[str] | None = None) -> None:
    from core.replay_report import text_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2013-07", help="first month, YYYY-MM")
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--no-scheduled-retrain", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    began = time.perf_counter()
    config = ReplayConfig(args.start, args.months, not args.no_scheduled_retrain)
    frame, path = replay(config)
    print(text_table(frame))
    print(f"\nreplayed {len(frame)} months in {time.perf_counter() - began:.1f} s; report: {path}")


if __name__ == "__main__":
    main()
