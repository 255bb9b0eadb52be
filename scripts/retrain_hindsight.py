"""The best retrain days with hindsight, beside the monthly schedule: what any rule deciding when
to retrain could earn on the replay's months.

A model is trained (the candidate workflow, as the monthly schedule trains) as of the replay's
first day, every `--every` days after it and the 1st of each month; each model's realized ROC AUC
is measured on each day it could serve, as the daily replay measures it (same table, same
scores and Flyte cache: the models the replay trained are reused). Then `core.retrain_hindsight`
finds, for each number of retrains, the days that would have served best. No rule that reads
only what is known on the day does better on those days: the figure is the ceiling of the loop's
alarms, waits and gate, and shows how much of a gap to the monthly schedule is timing at all.

    python -m scripts.retrain_hindsight --months 6 --every 7     (make replay-hindsight)
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import pandas as pd

from core.retrain_hindsight import Schedule, best_schedules, held_out_gain, serving_auc
from scripts.daily_replay import CACHE_DIR, PipelineModels, config_of, replay_table

logger = logging.getLogger(__name__)


def candidate_days(days: list[pd.Timestamp], every: int) -> list[pd.Timestamp]:
    """The period's first day, every `every` days after it, and the 1st of each month."""
    return sorted(set(days[::every]) | {day for day in days if day.day == 1})


def auc_frame(config, every: int) -> tuple[pd.DataFrame, dict[pd.Timestamp, float]]:
    """Each candidate model's realized ROC AUC on each day from its own (columns: the day it was
    trained as of), and each one's fit CPU seconds."""
    from core import paths
    from core.daily_replay import Replay

    days = config.days
    table = replay_table(config)
    models = PipelineModels(config, table, paths.data_dir() / CACHE_DIR)
    replay = Replay(table, models, config.thresholds, config.window_days)
    auc, cpu = pd.DataFrame(index=pd.DatetimeIndex(days), dtype=float), {}
    for as_of in candidate_days(days, every):
        # the first model as the replay trains it (gated, no champion yet): the same computation
        trained = models.train(as_of, gated=as_of == days[0], champion="")
        logger.info("model v%s as of %s", trained.version, f"{as_of:%Y-%m-%d}")
        auc[as_of] = [replay.day_auc(trained.version, day) if day >= as_of else np.nan for day in days]
        cpu[as_of] = trained.fit_cpu_seconds
    return auc, cpu


def hindsight_table(auc: pd.DataFrame, cpu: dict[pd.Timestamp, float], max_retrains: int) -> pd.DataFrame:
    """One row per schedule: the monthly schedule, then the best with hindsight for each number
    of retrains (a number that cannot beat the one before is left out), with the mean daily ROC
    AUC, its difference to the monthly schedule's, the same chosen on every other day and
    measured on the others (`held_out_gain`), the fit CPU seconds of the retrains and their days."""
    monthly_days = tuple(day for day in auc.columns[1:] if day.day == 1)
    monthly = Schedule(len(monthly_days), monthly_days, float(np.nanmean(serving_auc(auc, monthly_days))))
    rows, seen = [], set()
    for name, schedule in [("retrain monthly", monthly)] + [
        ("best with hindsight", s) for s in best_schedules(auc, max_retrains)
    ]:
        if name != "retrain monthly":
            if schedule.days in seen:
                continue
            seen.add(schedule.days)
        held_out = 0.0 if name == "retrain monthly" else held_out_gain(auc, schedule.retrains, monthly_days)
        rows.append(
            {
                "schedule": name,
                "retrains": schedule.retrains,
                "mean AUC": round(schedule.mean_auc, 4),
                "vs monthly": f"{schedule.mean_auc - monthly.mean_auc:+.4f}",
                "held out": f"{held_out:+.4f}",
                "fit CPU s": round(sum(cpu[day] for day in schedule.days)),
                "retrain days": ", ".join(f"{day:%m-%d}" for day in schedule.days) or "-",
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--every", type=int, default=7, help="days between candidate retrain days")
    parser.add_argument("--max-retrains", type=int, default=0, help="0: twice the months")
    own, rest = parser.parse_known_args(argv)
    config = config_of(rest)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    began = time.perf_counter()
    auc, cpu = auc_frame(config, own.every)
    table = hindsight_table(auc, cpu, own.max_retrains or 2 * config.months)
    print(
        f"Retrain days with hindsight, {auc.index[0]:%Y-%m-%d}..{auc.index[-1]:%Y-%m-%d}: candidates "
        f"the first day, every {own.every} days and each 1st ({len(auc.columns)} models)"
    )
    print(table.to_string(index=False))
    print(
        "(held out: the same number of retrains chosen on every other day, measured on the days "
        "between, against the monthly schedule on those days: what the days' noise cannot flatter)"
    )
    print(f"\n{len(auc.columns)} models measured in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
