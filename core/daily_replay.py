"""The replay at production's cadence: day by day, as the daily monitoring launch plan runs the
loop, beside never retraining and retraining on the 1st of each month. Plain pandas; the
trainings, the registry and the scores come through a `Models` object (`scripts.daily_replay`
gives one that runs the real workflows).

Each day d, for the model a policy has in place at the kickoff:

- the window is the `window_days` whole days before d (`daily_monitoring`'s), its truth what is
  known at d: a row's label only once it is the use case's `label_maturity` old;
- monitoring measures it exactly as the monitor task does (`core.monitoring_window`: only the
  rows the model never fit; drift, realized and estimated performance) and decides
  (`core.monitoring.decide`);
- the loop, on drift or decay, runs the training workflow as of d (the refit and the gate as in
  production); a promoted version serves from d on (the launch plan runs before the day's
  traffic);
- the truth of the window, for judging the alarms afterwards, is the same measure on every
  label (the window's rows' final truth).

Shared work is done once: the scores of a version are computed once for every day and every
policy (`Models.scores`), a window of a version is measured once whatever policy has it in place
(`Replay.measure`, kept on disk by the caller), and a training as of a day is one computation
(the workflows' cache).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

import numpy as np
import pandas as pd

import usecases
from contract.bundle import Bundle
from core.monitoring import MonitoringReport, MonitoringThresholds

NEVER, MONTHLY, LOOP = "never", "monthly", "loop"
POLICIES = (NEVER, MONTHLY, LOOP)
CHAMPION = "champion"


@dataclass(frozen=True)
class Training:
    """One training a policy ran: as of which day, the version, the gate's word (`alias`:
    champion, challenger, rejected; empty for an unconditional retrain), and why."""

    policy: str
    day: pd.Timestamp
    version: str
    alias: str = ""
    trigger: str = ""  # "first model", "1st of the month", or the monitoring decision
    reasons: tuple[str, ...] = ()
    gain: str = ""  # the gate's AUC gain with its interval, when it compared
    fit_cpu_seconds: float = math.nan


class Models(Protocol):
    """What the replay needs of the pipeline: bundles, scores and trainings."""

    def bundle(self, version: str) -> Bundle: ...

    def scores(self, version: str) -> np.ndarray:
        """The version's score of every row of the replay's table (NaN where it was not
        asked to score: before its first window)."""
        ...

    def train(self, as_of: pd.Timestamp, gated: bool, champion: str) -> Training:
        """The training workflow as of `as_of` (its gate facing `champion`), or without the
        gate (`gated` False: the unconditional monthly retrain)."""
        ...


@dataclass(frozen=True)
class Measured:
    """A window's figures (monitoring's, before any decision) and its truth: the same measure on
    the final labels of the rows judged."""

    report: MonitoringReport
    drift: pd.DataFrame
    truth_auc: float
    truth_log_loss: float
    truth_rows: int


@dataclass
class LoopRun:
    """What the loop did: the version serving each day, the monitoring report of each day, and
    the trainings it ran."""

    serving: dict[pd.Timestamp, str] = field(default_factory=dict)
    judged: dict[pd.Timestamp, str] = field(default_factory=dict)  # the version monitored that day
    reports: dict[pd.Timestamp, MonitoringReport] = field(default_factory=dict)
    trainings: list[Training] = field(default_factory=list)


class Replay:
    """The replay's table (one period's feature rows with their final truth, in time order),
    its models and what it measured."""

    def __init__(
        self,
        table: pd.DataFrame,
        models: Models,
        thresholds: MonitoringThresholds,
        window_days: int = 7,
        store: MeasureStore | None = None,
    ):
        case = usecases.current()
        self.case = case
        self.table = table.sort_values([case.timestamp, case.key], kind="stable").reset_index(drop=True)
        self.models = models
        self.thresholds = thresholds
        self.window = pd.Timedelta(days=window_days)
        self.store = store
        self.days = self.table[case.timestamp].dt.normalize().to_numpy()
        self._measured: dict[tuple[str, pd.Timestamp], Measured] = {}
        self._day_auc: dict[tuple[str, pd.Timestamp], float] = {}
        self._online = pd.DataFrame(columns=[*case.features, "score"])

    # ---- the rows of a day or a window --------------------------------------------------------
    def rows(self, start: pd.Timestamp, end: pd.Timestamp) -> slice:
        """Positions of the rows with event day in [start, end)."""
        first, last = np.searchsorted(self.days, [np.datetime64(start), np.datetime64(end)], side="left")
        return slice(int(first), int(last))

    def _scored(self, version: str, rows: slice) -> pd.DataFrame:
        case = self.case
        frame = self.table.iloc[rows]
        scores = self.models.scores(version)[rows]
        if np.isnan(scores).any():
            raise ValueError(f"version {version} has no score for some rows of {frame[case.timestamp].min()}")
        return pd.DataFrame(
            {
                case.key: frame[case.key].to_numpy(),
                case.timestamp: frame[case.timestamp].to_numpy(),
                "score": scores,
                case.label: frame[case.label].astype("Int64").to_numpy(),
            }
        )

    # ---- measures ----------------------------------------------------------------------------
    def measure(self, version: str, day: pd.Timestamp) -> Measured:
        """The window before `day` as monitoring measures it at `day`, with its final truth."""
        key = (version, day)
        if key not in self._measured:
            found = self.store.get(version, day) if self.store else None
            self._measured[key] = found or self._measure(version, day)
            if self.store and found is None:
                self.store.put(version, day, self._measured[key])
        return self._measured[key]

    def _measure(self, version: str, day: pd.Timestamp) -> Measured:
        from core import monitoring
        from core.monitoring_window import Window, last_fit_day, mature_truth, measure_window, unseen

        bundle = self.models.bundle(version)
        start = day - self.window
        rows = self.rows(start, day)
        final = self._scored(version, rows)
        known = mature_truth(final, day.to_pydatetime())
        window = Window(
            known, self.table.iloc[rows], self._online, start.to_pydatetime(), day.to_pydatetime()
        )
        measured = measure_window(bundle, window, self.thresholds)
        auc, loss, labelled = monitoring.realized_performance(unseen(final, last_fit_day(bundle)))
        return Measured(measured.report, measured.drift, auc, loss, labelled)

    def judge(
        self,
        version: str,
        day: pd.Timestamp,
        thresholds: MonitoringThresholds,
        last_trained_day: str = "",
        ok_since_training: bool = True,
    ) -> MonitoringReport:
        """Monitoring's decision on the window before `day` under `thresholds` (on a copy);
        `last_trained_day`: what a later training the gate kept out learnt, as production reads
        it from the registry's challenger; `ok_since_training`: whether a window was judged ok
        since the last training, as production reads it from its monitoring runs."""
        from core.monitoring import decide

        measured = self.measure(version, day)
        report = replace(
            measured.report,
            reasons=[],
            top_drift=[],
            last_trained_day=last_trained_day,
            ok_since_training=ok_since_training,
        )
        return decide(report, measured.drift, thresholds)

    def decayed(self, version: str, day: pd.Timestamp, thresholds: MonitoringThresholds) -> bool:
        """The truth: the window's final labels show decay, by monitoring's own rule (realized
        ROC AUC or log loss past their limits, on at least `min_performance_rows` rows)."""
        m = self.measure(version, day)
        if m.truth_rows < thresholds.min_performance_rows:
            return False
        auc_drop = m.report.validation_auc - m.truth_auc
        loss_rise = m.truth_log_loss - m.report.validation_log_loss
        return bool(auc_drop > thresholds.max_auc_drop or loss_rise > thresholds.max_log_loss_rise)

    def day_auc(self, version: str, day: pd.Timestamp) -> float:
        """Realized ROC AUC of `version` on the day's own rows, every label in."""
        key = (version, day)
        if key not in self._day_auc:
            from core.monitoring import realized_performance

            rows = self.rows(day, day + pd.Timedelta(days=1))
            self._day_auc[key] = realized_performance(self._scored(version, rows))[0]
        return self._day_auc[key]

    # ---- the loop ------------------------------------------------------------------------------
    def run_loop(
        self, days: Iterable[pd.Timestamp], base: str, thresholds: MonitoringThresholds | None = None
    ) -> LoopRun:
        """Day by day: monitor the champion's window, retrain as of the day on drift or decay,
        and let the gate decide who serves from that day on (under `thresholds`, the replay's
        own by default)."""
        from core.monitoring import judged_ok

        thresholds = thresholds or self.thresholds
        run, champion, kept_out = LoopRun(), base, ""
        ok_since = False  # no window judged yet since the first model's training
        for day in days:
            report = self.judge(champion, day, thresholds, kept_out, ok_since)
            run.judged[day], run.reports[day] = champion, report
            ok_since = ok_since or judged_ok(report, thresholds)
            if report.retrain:
                ok_since = False
                trained = self.models.train(day, gated=True, champion=champion)
                trained = replace(
                    trained, policy=LOOP, trigger=report.decision, reasons=tuple(report.reasons)
                )
                run.trainings.append(trained)
                if trained.alias == CHAMPION:
                    champion, kept_out = trained.version, ""
                else:  # the registry's challenger now: what it learnt counts as trained
                    kept_out = f"{day - pd.Timedelta(days=1):%Y-%m-%d}"
            run.serving[day] = champion
        return run


@dataclass(frozen=True)
class LoopCost:
    """The loop under one setting of a retrain rule, beside the monthly schedule on the same
    days: its mean daily realized ROC AUC, retrains and their fit CPU seconds."""

    setting: float
    mean_auc: float
    retrains: int
    fit_cpu_seconds: float


def loop_cost(replay: Replay, run: LoopRun, setting: float) -> LoopCost:
    days = sorted(run.serving)
    auc = np.nanmean([replay.day_auc(run.serving[day], day) for day in days])
    cpu = float(np.nansum([t.fit_cpu_seconds for t in run.trainings]))
    return LoopCost(setting, float(auc), len(run.trainings), cpu)


def choose_setting(costs: list[LoopCost], monthly_auc: float) -> float:
    """The setting whose loop reaches the monthly schedule's mean daily ROC AUC with the fewest
    retrains; when none reaches it, the highest ROC AUC, then the fewest retrains. Ties go to the
    smaller setting (a cool-down: the one that holds back fewer retrains; the gate's refresh
    margin: the one that lets fewer candidates through unproven), never to fit CPU seconds,
    which move with the machine's load."""
    reaching = [c for c in costs if c.mean_auc >= monthly_auc]
    if reaching:
        return min(reaching, key=lambda c: (c.retrains, c.setting)).setting
    return min(costs, key=lambda c: (-c.mean_auc, c.retrains, c.setting)).setting


@dataclass
class DailyReplay:
    """What a daily replay found: each policy's serving version and realized ROC AUC by day, the
    trainings every policy ran, the signals of each policy's monitored models (`signals_frame`),
    and, when thresholds were being chosen, the candidates judged."""

    thresholds: MonitoringThresholds
    months: int
    window_days: int
    daily: pd.DataFrame  # day, version_<policy>, auc_<policy>
    trainings: list[Training]
    signals: dict[str, pd.DataFrame]
    seconds: float = 0.0
    choice: pd.DataFrame | None = None
    changes: pd.DataFrame | None = None  # `changes_frame` of the policies' serving versions

    def policy_trainings(self, policy: str) -> list[Training]:
        """The trainings whose cost a policy bears: the first model, then its own."""
        first = [t for t in self.trainings if t.trigger == "first model"]
        return first + [t for t in self.trainings if t.policy == policy and t.trigger != "first model"]


def month_starts(days: list[pd.Timestamp]) -> list[pd.Timestamp]:
    return sorted({day.replace(day=1) for day in days})


def serving_monthly(days: list[pd.Timestamp], monthly: dict[pd.Timestamp, str]) -> dict[pd.Timestamp, str]:
    """Each day's model under the monthly schedule: the one trained as of its month's 1st."""
    return {day: monthly[day.replace(day=1)] for day in days}


def daily_frame(replay: Replay, serving: dict[str, dict[pd.Timestamp, str]]) -> pd.DataFrame:
    """One row per day: each policy's serving version and its realized ROC AUC on the day."""
    days = sorted(next(iter(serving.values())))
    rows = []
    for day in days:
        row: dict = {"day": day}
        for policy, versions in serving.items():
            row[f"version_{policy}"] = versions[day]
            row[f"auc_{policy}"] = replay.day_auc(versions[day], day)
        rows.append(row)
    return pd.DataFrame(rows)


def changes_frame(replay: Replay, serving: dict[str, dict[pd.Timestamp, str]]) -> pd.DataFrame:
    """What each change of model earned: for each policy, each version that took over, the mean
    over the days it served of its realized ROC AUC minus the replaced version's on the same rows
    (both scored them), with a 90 % interval (each day's rows are their own sample: the days'
    differences are treated as independent), and the share of those days it did better."""
    rows = []
    for policy, versions in serving.items():
        days = sorted(versions)
        spans: list[tuple[str, list[pd.Timestamp]]] = []
        for day in days:
            if spans and spans[-1][0] == versions[day]:
                spans[-1][1].append(day)
            else:
                spans.append((versions[day], [day]))
        for (old, _), (new, served) in zip(spans, spans[1:], strict=False):
            gains = np.array([replay.day_auc(new, d) - replay.day_auc(old, d) for d in served])
            gains = gains[~np.isnan(gains)]
            half = 1.645 * gains.std(ddof=1) / math.sqrt(len(gains)) if len(gains) > 1 else math.nan
            mean = float(gains.mean()) if len(gains) else math.nan
            rows.append(
                {
                    "policy": policy,
                    "version": new,
                    "replaced": old,
                    "first day": served[0],
                    "days": len(gains),
                    "gain": mean,
                    "low": mean - half,
                    "high": mean + half,
                    "better days": float((gains > 0).mean()) if len(gains) else math.nan,
                }
            )
    return pd.DataFrame(rows)


def signals_frame(
    replay: Replay, judged: dict[pd.Timestamp, str], thresholds: MonitoringThresholds
) -> pd.DataFrame:
    """For a sequence of (day, version monitored that day): the window's figures, each signal's
    alarm under `thresholds`, and the truth (decayed, on the final labels)."""
    rows = []
    for day, version in sorted(judged.items()):
        measured = replay.measure(version, day)
        report = replay.judge(version, day, thresholds)
        rows.append(
            {
                "day": day,
                "version": version,
                "holdout_auc": report.validation_auc,
                "known_auc": report.realized_auc,
                "estimated_auc": report.estimated_auc,
                "truth_auc": measured.truth_auc,
                "weighted_psi": report.weighted_psi,
                "score_psi": report.score_psi,
                "score_psi_noise": _score_noise(measured.drift),
                "n_rows": report.n_rows,
                "unseen_rows": report.unseen_rows,
                "labelled_rows": report.labelled_rows,
                "drift": report.drift_alarm,
                "estimated decay": report.estimated_decayed,
                "realized decay": report.decayed,
                "decision": report.decision,
                "decayed": replay.decayed(version, day, thresholds),
            }
        )
    frame = pd.DataFrame(rows)
    if len(frame):
        again = label_free_alarms(frame, thresholds)
        for signal in again.columns:
            if not again[signal].equals(frame[signal].astype(bool)):
                raise AssertionError(f"the {signal} alarms recomputed from the figures differ from decide's")
    return frame


SIGNALS = ("drift", "estimated decay", "realized decay")


def _score_noise(drift: pd.DataFrame) -> float:
    score = drift.loc[drift["feature"] == "score", "psi_noise"]
    return float(score.max()) if len(score) else math.nan


def label_free_alarms(signals: pd.DataFrame, thresholds: MonitoringThresholds) -> pd.DataFrame:
    """The drift and estimated-decay alarms of `signals_frame`'s windows under other thresholds,
    from their figures (the comparisons `core.monitoring.decide` makes, for the batch source the
    replay has, with `max_feature_psi` as measured): what the choice of thresholds tries many
    times over. `signals_frame` checks that the two agree under its own thresholds."""
    judged = signals["n_rows"] >= thresholds.min_rows
    weighted = signals["weighted_psi"] > thresholds.max_weighted_psi
    score = (signals["score_psi"] > thresholds.max_score_psi) & (
        signals["score_psi"] > signals["score_psi_noise"]
    )
    drop = signals["holdout_auc"] - signals["estimated_auc"]
    estimated = (signals["unseen_rows"] >= thresholds.min_performance_rows) & (
        drop > thresholds.max_estimated_auc_drop
    )
    return pd.DataFrame(
        {"drift": judged & (weighted | score), "estimated decay": judged & estimated.fillna(False)},
        index=signals.index,
    )


def judge_alarms(signals: pd.DataFrame, months: float) -> dict[str, object]:
    """Each signal's alarms (columns of `signals_frame`) judged against the truth."""
    from core.alarms import judge

    by_day = signals.set_index("day")
    return {signal: judge(by_day["decayed"], by_day[signal], months) for signal in SIGNALS}


def estimate_error(signals: pd.DataFrame) -> dict[str, float]:
    """The estimate against the realized ROC AUC of the same rows (final labels): mean absolute
    error, mean error (estimate minus realized) and their correlation, over the days both exist."""
    both = signals.dropna(subset=["estimated_auc", "truth_auc"])
    error = both["estimated_auc"] - both["truth_auc"]
    return {
        "days": int(len(both)),
        "mae": float(error.abs().mean()) if len(both) else math.nan,
        "bias": float(error.mean()) if len(both) else math.nan,
        "correlation": float(both["estimated_auc"].corr(both["truth_auc"])) if len(both) > 2 else math.nan,
    }


# ---- the measures kept on disk --------------------------------------------------------------
class MeasureStore:
    """Measured windows kept as parquet, one pair of files per version (figures, drift rows),
    under a key naming what they depend on (the model, the table, the window and the code)."""

    def __init__(self, directory, key: Callable[[str], str]):
        from pathlib import Path

        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.key = key
        self._loaded: dict[str, dict[pd.Timestamp, Measured]] = {}
        self._new: dict[str, dict[pd.Timestamp, Measured]] = {}

    def _files(self, version: str):
        stem = self.directory / f"v{version}-{self.key(version)}"
        return stem.with_suffix(".figures.parquet"), stem.with_suffix(".drift.parquet")

    def get(self, version: str, day: pd.Timestamp) -> Measured | None:
        if version not in self._loaded:
            self._loaded[version] = self._read(version)
        return self._loaded[version].get(day)

    def put(self, version: str, day: pd.Timestamp, measured: Measured) -> None:
        self._new.setdefault(version, {})[day] = measured

    def flush(self) -> None:
        """Write what was measured since the last flush, with what was read."""
        for version, new in self._new.items():
            every = {**self._loaded.get(version, {}), **new}
            figures_file, drift_file = self._files(version)
            figures = pd.DataFrame(
                [
                    {
                        "day": day,
                        **{
                            k: v
                            for k, v in asdict(m.report).items()
                            if not isinstance(v, list)  # reasons and top contributions: decide's
                        },
                        "truth_auc": m.truth_auc,
                        "truth_log_loss": m.truth_log_loss,
                        "truth_rows": m.truth_rows,
                    }
                    for day, m in every.items()
                ]
            )
            drift = pd.concat([m.drift.assign(day=day) for day, m in every.items()], ignore_index=True)
            figures.to_parquet(figures_file)
            drift.to_parquet(drift_file)
            self._loaded[version] = every
        self._new = {}

    def _read(self, version: str) -> dict[pd.Timestamp, Measured]:
        figures_file, drift_file = self._files(version)
        if not (figures_file.exists() and drift_file.exists()):
            return {}
        figures, drift = pd.read_parquet(figures_file), pd.read_parquet(drift_file)
        tables = {pd.Timestamp(day): part.drop(columns="day") for day, part in drift.groupby("day")}
        found = {}
        report_fields = set(MonitoringReport.__dataclass_fields__)
        for record in figures.to_dict("records"):
            day = pd.Timestamp(record.pop("day"))
            truth = (record.pop("truth_auc"), record.pop("truth_log_loss"), int(record.pop("truth_rows")))
            report = MonitoringReport(**{k: v for k, v in record.items() if k in report_fields})
            empty = pd.DataFrame(columns=drift.columns.drop("day"))
            found[day] = Measured(report, tables.get(day, empty).reset_index(drop=True), *truth)
        return found
