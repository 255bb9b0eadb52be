"""Replay the loop at production's cadence: day by day, as the `daily_monitoring` launch plan
runs it, beside never retraining and retraining on the 1st of each month, on the same events.

- **never**: the model trained as of the first day serves every day;
- **monthly**: a model retrained as of the 1st of each month serves that month, unconditionally
  (`candidate_workflow`: the training workflow without its gate);
- **loop**: each day, monitoring judges the champion on the `window_days` days before (the use
  case's `monitoring_days`, as the launch plan; truth as known that day: a label once it is
  `label_maturity` old; only rows the champion never fit; drift, realized and estimated
  performance, `core.monitoring_window`); on drift or decay the
  training workflow runs as of that day, and its gate decides whether the new version serves
  from that day on.

Trainings are the real workflows, executed locally (a training two policies share is one cached
computation); the daily monitoring is the monitor task's own functions on the same rows, without
its MLflow run and push. Every alarm (drift, estimated decay, realized decay) is then judged
against the decay the final labels show (`core.alarms`), and the estimate against the realized
ROC AUC of the same rows.

    python -m scripts.daily_replay --months 6               (make replay: from the first demo date's month)
    python -m scripts.daily_replay --choose --months 4      (make replay-thresholds: March-June 2013)
    python -m scripts.daily_replay --trial OUT.json --min-new-days 14 --months 4
    python -m scripts.daily_replay --choose-trial A.json B.json ...   (make replay-trials)

`--choose` judges a grid of label-free thresholds on the never and monthly policies' models (the
loop's own models depend on the thresholds) and prints the choice: the months it runs on are the
months the thresholds are chosen on, and never those they are judged on.

A setting of the loop's own rules (the gate's refresh margin `--max-refresh-loss`, the days of new
labels a retrain waits for `--min-new-days`, the cool-down after an uncured alarm
`--min-days-after-uncured`) is chosen on the same months, each value in a replay of its own
(`--trial`, run in its own store and Flyte cache: a version is judged once, against the champion
of its time, and that recorded decision would answer for another setting's champion): the trial
writes the loop's mean daily ROC AUC, retrains and fit CPU seconds beside the monthly schedule's,
and `--choose-trial` reads the trials of one setting and chooses by
`core.daily_replay.choose_setting`.

Prints the tables and writes `<data dir>/reports/daily-replay.html` (the chart, every table, the
day-by-day rows). Scores and measured windows are kept under `<data dir>/replay-cache/`, keyed by
the model's sha256, the table's content and the code that measures: a re-run recomputes nothing
that did not change.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

import usecases
from contract.bundle import Bundle, Metadata
from core.daily_replay import (
    LOOP,
    MONTHLY,
    NEVER,
    DailyReplay,
    LoopRun,
    MeasureStore,
    Replay,
    Training,
)
from core.gate import GateConfig
from core.model import Hyperparameters, use_case_hyperparameters
from core.monitoring import MonitoringThresholds
from tasks.data import DataConfig

logger = logging.getLogger(__name__)

REPORT_FILE = "daily-replay.html"
CACHE_DIR = "replay-cache"
# What the choice of thresholds tries (`--choose`).
# inf: the signal off (the estimate, the inputs alone, the score never alarm)
GRID_ESTIMATED_DROP = (0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.05, math.inf)
GRID_WEIGHTED_PSI = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, math.inf)
GRID_SCORE_PSI = (0.1, 0.2, 0.3, math.inf)
# The loop's rules a trial sets (`--trial`), each named as its command-line option.
LOOP_SETTINGS = ("max_refresh_loss", "min_new_days", "min_days_after_uncured", "min_unexplained_auc_drop")


def default_start(choose: bool = False, months: int = 6) -> str:
    """The month of the use case's first demo date (`YYYY-MM`); when choosing thresholds, the
    `months` before it: thresholds are chosen on months before those the replay judges."""
    dates = usecases.current().demo_as_of
    if not dates:
        raise SystemExit(f"use case '{usecases.current().name}' declares no demo_as_of: pass --start")
    first = pd.Timestamp(dates[0]).replace(day=1)
    return f"{first - pd.DateOffset(months=months) if choose else first:%Y-%m}"


def refuse_judged_months(start: str, months: int) -> None:
    """Thresholds are chosen on months before those the replay judges (from the use case's first
    demo month on), never on them: a choice that reaches one stops here, before anything runs.
    A use case without demo dates has no default judged period: nothing to check against."""
    if not usecases.current().demo_as_of:
        return
    first = pd.Timestamp(f"{start}-01")
    last = first + pd.DateOffset(months=months - 1)
    judged = pd.Timestamp(f"{default_start()}-01")
    if last >= judged:
        raise SystemExit(
            f"--choose on {first:%Y-%m}..{last:%Y-%m} reaches {judged:%Y-%m}, the first month the "
            "replay judges: thresholds are chosen on the months before it, never on those they are "
            "judged on"
        )


@dataclass
class DailyReplayConfig:
    start: str = field(default_factory=default_start)
    months: int = 6
    window_days: int = field(default_factory=lambda: usecases.current().monitoring_days)
    thresholds: MonitoringThresholds = field(default_factory=MonitoringThresholds)
    data: DataConfig = field(default_factory=DataConfig)
    hyperparameters: Hyperparameters = field(default_factory=use_case_hyperparameters)
    gate: GateConfig = field(default_factory=GateConfig)
    choose: bool = False
    trial: str = ""  # a file: the loop's cost under its settings is written there (`--trial`)
    trials: list[str] = field(default_factory=list)  # files to choose from (`--choose-trial`)

    def loop_settings(self) -> dict[str, float]:
        """The values of `LOOP_SETTINGS` this replay runs the loop under."""
        found = {"max_refresh_loss": self.gate.max_refresh_loss}
        found |= {name: getattr(self.thresholds, name) for name in LOOP_SETTINGS[1:]}
        return found

    @property
    def days(self) -> list[pd.Timestamp]:
        first = pd.Timestamp(f"{self.start}-01")
        return list(pd.date_range(first, first + pd.DateOffset(months=self.months), inclusive="left"))


# ---- the pipeline behind the replay ---------------------------------------------------------
def _code_digest(*modules: object) -> str:
    """A short hash of the source of the modules a measure depends on."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(inspect.getsource(module).encode())  # type: ignore[arg-type]
    return digest.hexdigest()[:12]


def table_digest(table: pd.DataFrame) -> str:
    """A short hash of the table's content (what every score and measure was computed on)."""
    hashed = pd.util.hash_pandas_object(table, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:12]


class PipelineModels:
    """`core.daily_replay.Models` by the real pipeline: the training workflows (local execution,
    the Flyte cache), the registry's bundles, and scores by the serving predictor (what the batch
    task scores with), kept on disk per model sha256 and table."""

    def __init__(self, config: DailyReplayConfig, table: pd.DataFrame, cache: Path):
        self.config = config
        self.table = table
        self.cache = cache
        self.digest = table_digest(table)
        self._bundles: dict[str, Bundle] = {}
        self._metadata: dict[str, Metadata] = {}
        self._scores: dict[str, np.ndarray] = {}
        self.model_name = usecases.current().model_name

    def directory(self, version: str) -> Path:
        """The version's bundle, downloaded once into the cache."""
        from core import registry

        directory = self.cache / "bundles" / f"v{version}"
        found = sorted(p.parent for p in directory.rglob("metadata.json")) if directory.exists() else []
        if found:
            return found[0]
        return registry.download_bundle(self.model_name, version, directory)

    def metadata(self, version: str) -> Metadata:
        if version not in self._metadata:
            from contract.bundle import read_metadata

            self._metadata[version] = read_metadata(self.directory(version))
        return self._metadata[version]

    def bundle(self, version: str) -> Bundle:
        if version not in self._bundles:
            from contract.bundle import load_bundle

            self._bundles[version] = load_bundle(self.directory(version), require_reference=True)
        return self._bundles[version]

    def scores(self, version: str) -> np.ndarray:
        """Every row from the version's first window (its as_of minus the window) on; NaN before."""
        if version not in self._scores:
            path = self.cache / "scores" / f"{self.metadata(version).model_sha256[:16]}-{self.digest}.npy"
            if path.exists():
                self._scores[version] = np.load(path)
            else:
                self._scores[version] = self._score(self.bundle(version))
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, self._scores[version])
        return self._scores[version]

    def _score(self, bundle: Bundle) -> np.ndarray:
        from scoring.predictor import Predictor

        timestamp = usecases.current().timestamp
        as_of = pd.Timestamp(bundle.metadata.training_window.as_of or self.table[timestamp].min())
        first = as_of.normalize() - pd.Timedelta(days=self.config.window_days)
        wanted = (self.table[timestamp] >= first).to_numpy()
        scores = np.full(len(self.table), np.nan)
        scores[wanted] = Predictor(bundle).score_frame(self.table.loc[wanted])
        return scores

    def train(self, as_of: pd.Timestamp, gated: bool, champion: str) -> Training:
        """The training workflow as of `as_of` facing `champion` (the registry's alias is put
        back on it first: the store may hold another run's last champion), or the candidate
        workflow (no gate)."""
        from contract.names import CHAMPION
        from core import registry
        from workflows.replay import candidate_workflow
        from workflows.training import training_workflow

        config, moment = self.config, as_of.to_pydatetime()
        if not gated:
            registered = candidate_workflow(
                as_of=moment, hyperparameters=config.hyperparameters, data=config.data
            )
            return Training(
                MONTHLY, as_of, registered.version, fit_cpu_seconds=self._fit_cpu(registered.version)
            )
        if champion and registry.alias_version(self.model_name, CHAMPION) != champion:
            registry.set_alias(self.model_name, CHAMPION, champion)
        decision = training_workflow(
            as_of=moment, hyperparameters=config.hyperparameters, data=config.data, gate=config.gate
        )
        gain = (
            f"{decision.auc_gain:+.4f} [{decision.gain_low:+.4f}, {decision.gain_high:+.4f}]"
            if decision.previous_champion
            else ""
        )
        return Training(
            LOOP,
            as_of,
            decision.version,
            alias=decision.alias or "rejected",
            reasons=tuple(decision.reasons),
            gain=gain,
            fit_cpu_seconds=self._fit_cpu(decision.version),
        )

    def _fit_cpu(self, version: str) -> float:
        return float(self.metadata(version).training_cost.get("fit_cpu_seconds", math.nan))


def replay_table(config: DailyReplayConfig) -> pd.DataFrame:
    """The period's feature rows (and the window before its first day), every label final."""
    from workflows.replay import replay_table_workflow

    days = config.days
    start = days[0] - pd.Timedelta(days=config.window_days)
    end = days[-1] + pd.Timedelta(days=1)
    known_at = end + usecases.current().label_maturity
    table = replay_table_workflow(
        start=start.to_pydatetime(),
        end=end.to_pydatetime(),
        known_at=known_at.to_pydatetime(),
        data=config.data,
    )
    return pd.DataFrame(table)


def measure_store(config: DailyReplayConfig, models: PipelineModels, cache: Path) -> MeasureStore:
    from core import drift, estimation, monitoring, monitoring_window

    code = _code_digest(monitoring_window, monitoring, drift, estimation)
    t = config.thresholds
    shape = f"{config.window_days}-{t.min_rows}-{t.min_category_share}-{','.join(t.ignore_features)}"

    def key(version: str) -> str:
        sha = models.metadata(version).model_sha256[:16]
        return hashlib.sha256(f"{sha}-{models.digest}-{shape}-{code}".encode()).hexdigest()[:16]

    return MeasureStore(cache / "measures", key)


# ---- the replay ---------------------------------------------------------------------------------
def run(config: DailyReplayConfig) -> DailyReplay:
    from core import daily_replay, paths

    began = time.perf_counter()
    days = config.days
    cache = paths.data_dir() / CACHE_DIR
    table = replay_table(config)
    logger.info("table of %d rows after %.0f s", len(table), time.perf_counter() - began)
    models = PipelineModels(config, table, cache)
    store = measure_store(config, models, cache)
    replay = Replay(table, models, config.thresholds, config.window_days, store)

    base = models.train(days[0], gated=True, champion="")
    base = replace(base, policy=NEVER, trigger="first model")
    logger.info("first model v%s (as of %s, %s)", base.version, f"{days[0]:%Y-%m-%d}", base.alias)
    monthly: dict[pd.Timestamp, str] = {days[0]: base.version}
    trainings = [base]
    for month in daily_replay.month_starts(days)[1:]:
        trained = models.train(month, gated=False, champion="")
        trainings.append(replace(trained, trigger="1st of the month"))
        monthly[month] = trained.version
        logger.info("monthly model v%s (as of %s)", trained.version, f"{month:%Y-%m-%d}")
    serving = {
        NEVER: dict.fromkeys(days, base.version),
        MONTHLY: daily_replay.serving_monthly(days, monthly),
    }
    judged = {NEVER: serving[NEVER], MONTHLY: serving[MONTHLY]}
    loop = replay.run_loop(days, base.version)
    for trained in loop.trainings:
        logger.info(
            "loop retrained as of %s: v%s -> %s %s",
            f"{trained.day:%Y-%m-%d}",
            trained.version,
            trained.alias,
            trained.gain,
        )
    serving[LOOP], judged[LOOP] = loop.serving, loop.judged
    trainings += loop.trainings
    store.flush()
    logger.info("trainings and the loop done after %.0f s", time.perf_counter() - began)
    signals = {
        policy: daily_replay.signals_frame(replay, seen, config.thresholds) for policy, seen in judged.items()
    }
    frame = daily_replay.daily_frame(replay, serving)
    result = DailyReplay(config.thresholds, config.months, config.window_days, frame, trainings, signals)
    result.changes = daily_replay.changes_frame(replay, {p: serving[p] for p in (MONTHLY, LOOP)})
    if config.trial:
        write_trial(config, replay, loop, serving[MONTHLY], Path(config.trial))
    if config.choose:  # the label-free limits on the models no retrain rule chose
        fixed = {policy: signals[policy] for policy in (NEVER, MONTHLY)}
        result.choice = choose_thresholds(fixed, config.months, config.thresholds)
    store.flush()
    result.seconds = time.perf_counter() - began
    return result


def write_trial(
    config: DailyReplayConfig, replay: Replay, loop: LoopRun, monthly: dict[pd.Timestamp, str], path: Path
) -> None:
    """The loop's cost under the replay's settings, beside the monthly schedule on the same days."""
    import json

    from core.daily_replay import loop_cost

    cost = loop_cost(replay, loop, math.nan)
    aliases = [t.alias for t in loop.trainings]
    trial = {
        "start": config.start,
        "months": config.months,
        **config.loop_settings(),
        "loop_mean_auc": cost.mean_auc,
        "monthly_mean_auc": float(np.nanmean([replay.day_auc(v, d) for d, v in monthly.items()])),
        "retrains": cost.retrains,
        "fit_cpu_seconds": cost.fit_cpu_seconds,
        "promoted": aliases.count("champion"),
        "challenger": aliases.count("challenger"),
        "rejected": aliases.count("rejected"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(trial, indent=1))


def trial_choice(trials: list[dict]) -> pd.DataFrame:
    """The trials of `--trial` (one replay each, on the same months, differing in one of
    `LOOP_SETTINGS`), the chosen one flagged by `core.daily_replay.choose_setting`."""
    from core.daily_replay import LoopCost, choose_setting

    periods = {(t["start"], t["months"]) for t in trials}
    if len(periods) != 1:
        raise SystemExit(f"the trials replay different periods {sorted(periods)}: not comparable")
    monthly = {round(t["monthly_mean_auc"], 6) for t in trials}
    if len(monthly) != 1:
        raise SystemExit(f"the trials' monthly schedules differ ({sorted(monthly)}): not the same replay")
    varying = [name for name in LOOP_SETTINGS if len({t[name] for t in trials}) > 1]
    if len(varying) > 1:
        raise SystemExit(f"the trials differ in {', '.join(varying)}: a choice is of one setting at a time")
    if not varying and len(trials) > 1:
        raise SystemExit("the trials replay the same settings: nothing to choose between")
    setting = varying[0] if varying else LOOP_SETTINGS[0]
    costs = [LoopCost(t[setting], t["loop_mean_auc"], t["retrains"], t["fit_cpu_seconds"]) for t in trials]
    chosen = choose_setting(costs, trials[0]["monthly_mean_auc"])
    frame = pd.DataFrame(
        [
            {
                setting: t[setting],
                "loop mean AUC": round(t["loop_mean_auc"], 4),
                "monthly mean AUC": round(t["monthly_mean_auc"], 4),
                "retrains": t["retrains"],
                "promoted": t["promoted"],
                "challenger": t["challenger"],
                "rejected": t["rejected"],
                "fit CPU s": round(t["fit_cpu_seconds"]),
                "chosen": t[setting] == chosen,
            }
            for t in trials
        ]
    )
    return frame.sort_values(setting).reset_index(drop=True)


def choose_thresholds(
    signals: dict[str, pd.DataFrame], months: int, base: MonitoringThresholds
) -> pd.DataFrame:
    """Each label-free signal's alarms under each candidate threshold, judged against the decays
    on the never and monthly policies' models together; the chosen row of each signal flagged
    (`core.alarms.choose`: the most decays caught within a week, at most one false alarm a
    month)."""
    from core import alarms
    from core.daily_replay import label_free_alarms

    grids: dict[str, dict[tuple[float, ...], MonitoringThresholds]] = {
        "estimated decay": {
            (drop,): replace(base, max_estimated_auc_drop=drop) for drop in GRID_ESTIMATED_DROP
        },
        "drift": {
            (w, s): replace(base, max_weighted_psi=w, max_score_psi=s)
            for w in GRID_WEIGHTED_PSI
            for s in GRID_SCORE_PSI
        },
    }
    rows = []
    for signal, grid in grids.items():
        results = {
            values: alarms.combine(
                alarms.judge(
                    frame.set_index("day")["decayed"],
                    label_free_alarms(frame, thresholds).set_index(frame["day"])[signal],
                    months,
                )
                for frame in signals.values()
            )
            for values, thresholds in grid.items()
        }
        chosen = alarms.choose(dict(enumerate(results.values())))
        for index, (values, judgement) in enumerate(results.items()):
            rows.append(
                {
                    "signal": signal,
                    "thresholds": ", ".join(f"{v:g}" for v in values),
                    **judgement.summary(),
                    "chosen": index == chosen,
                }
            )
    return pd.DataFrame(rows)


# ---- command line -------------------------------------------------------------------------------
def add_trial_arguments(parser: argparse.ArgumentParser) -> None:
    """The loop's settings a trial replays under, and the choice between trials on the months
    before those judged (`make replay-trials`)."""
    defaults = MonitoringThresholds()
    parser.add_argument(
        "--max-refresh-loss",
        type=float,
        default=GateConfig().max_refresh_loss,
        help="the gate's margin for a fresher candidate (GateConfig.max_refresh_loss)",
    )
    parser.add_argument(
        "--min-new-days",
        type=int,
        default=defaults.min_new_days,
        help="days of labels the last training did not learn before an alarm retrains "
        "(MonitoringThresholds.min_new_days)",
    )
    parser.add_argument(
        "--min-days-after-uncured",
        type=int,
        default=defaults.min_days_after_uncured,
        help="the same after a training that did not cure the alarm "
        "(MonitoringThresholds.min_days_after_uncured)",
    )
    parser.add_argument(
        "--min-unexplained-auc-drop",
        type=float,
        default=defaults.min_unexplained_auc_drop,
        help="realized decay retrains only when the realized ROC AUC is more than this below the "
        "estimate on the same rows (MonitoringThresholds.min_unexplained_auc_drop; -inf: always)",
    )
    parser.add_argument(
        "--trial",
        default="",
        metavar="FILE",
        help="a trial of a loop setting's choice: replay the months before those judged and write "
        "the loop's cost beside the monthly schedule's to FILE",
    )
    parser.add_argument(
        "--choose-trial",
        nargs="+",
        default=[],
        metavar="FILE",
        help="replay nothing: read the --trial files (one setting varied) and print the value chosen",
    )


def config_of(argv: list[str] | None = None) -> DailyReplayConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--start",
        default="",
        help="first month, YYYY-MM (default: the use case's first demo month; with --choose, "
        "--months before it)",
    )
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument(
        "--window-days",
        type=int,
        default=usecases.current().monitoring_days,
        help="days monitoring looks back (the launch plan's: the use case's monitoring_days)",
    )
    parser.add_argument(
        "--train-months",
        type=int,
        default=DataConfig().train_months,
        help="0 (the default): every known month; N: the last N months",
    )
    parser.add_argument(
        "--max-iter", type=int, default=use_case_hyperparameters().max_iter, help="trees per model"
    )
    parser.add_argument(
        "--choose",
        action="store_true",
        help="judge a grid of label-free thresholds on the never and monthly policies and print the choice",
    )
    add_trial_arguments(parser)
    args = parser.parse_args(argv)
    choosing = args.choose or bool(args.trial)
    start = args.start or default_start(choosing, args.months)
    if choosing:
        refuse_judged_months(start, args.months)
    return DailyReplayConfig(
        start=start,
        months=args.months,
        window_days=args.window_days,
        data=DataConfig(train_months=args.train_months),
        hyperparameters=replace(use_case_hyperparameters(), max_iter=args.max_iter),
        thresholds=replace(
            MonitoringThresholds(),
            min_new_days=args.min_new_days,
            min_days_after_uncured=args.min_days_after_uncured,
            min_unexplained_auc_drop=args.min_unexplained_auc_drop,
        ),
        gate=GateConfig(max_refresh_loss=args.max_refresh_loss),
        choose=args.choose,
        trial=args.trial,
        trials=args.choose_trial,
    )


TRIAL_FIELDS = (
    "start",
    "months",
    *LOOP_SETTINGS,
    "loop_mean_auc",
    "monthly_mean_auc",
    "retrains",
    "fit_cpu_seconds",
    "promoted",
    "challenger",
    "rejected",
)


def read_trial(file: str) -> dict:
    """A `--trial` file, refused with its name and what is wrong when it is missing, not JSON, or
    lacks a field (a trial written before its setting was recorded)."""
    import json

    path = Path(file)
    if not path.is_file():
        raise SystemExit(f"trial {file}: no such file (did its replay finish? its replay.log says)")
    try:
        trial = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise SystemExit(f"trial {file}: not JSON ({error})") from None
    missing = [name for name in TRIAL_FIELDS if name not in trial]
    if missing:
        raise SystemExit(f"trial {file}: no {', '.join(missing)} (replay it again with --trial)")
    return trial


def print_trial_choice(files: list[str]) -> None:
    frame = trial_choice([read_trial(f) for f in files])
    print("The loop under each setting tried, beside the monthly schedule")
    print(frame.to_string(index=False))


def main(argv: list[str] | None = None) -> None:
    from core import paths
    from core.daily_replay_report import text_report, write_html
    from scripts.progress import task_progress

    config = config_of(argv)
    if config.trials:
        print_trial_choice(config.trials)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with task_progress():
        result = run(config)
    print(text_report(result))
    path = write_html(result, paths.data_dir() / "reports" / REPORT_FILE)
    print(f"\nreplayed {len(result.daily)} days in {result.seconds:.1f} s; report: {path}")


if __name__ == "__main__":
    main()
