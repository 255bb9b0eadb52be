"""The daily replay's loop (core.daily_replay) on a constructed period and fake models: the
champion judged day by day on the week before, a retrain as of the day its decay shows, the new
version serving from that day, and what is measured kept on disk and read back unchanged."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import usecases
from contract.bundle import Bundle, Metadata, TrainingWindow
from core.bundle import build_reference, build_schema
from core.daily_replay import (
    LOOP,
    MeasureStore,
    Replay,
    Training,
    daily_frame,
    judge_alarms,
    label_free_alarms,
    serving_monthly,
    signals_frame,
)
from core.estimation import fit_calibration
from core.monitoring import MonitoringThresholds

CASE = usecases.current()
FIRST = pd.Timestamp("2013-07-01")
DAYS = list(pd.date_range(FIRST, periods=28))
BREAK = pd.Timestamp("2013-07-10")  # from this day on, version 1 scores at random
PER_DAY = 400
# judged on 2,000 rows, retrain at once: only realized decay can speak here
THRESHOLDS = MonitoringThresholds(
    max_weighted_psi=1e9, max_score_psi=1e9, max_estimated_auc_drop=1.0, min_new_days=0
)


def period() -> pd.DataFrame:
    """Four weeks and the week before: features drawn once, a probability per row, its truth."""
    rng = np.random.default_rng(0)
    n = (len(DAYS) + 7) * PER_DAY
    frame = pd.DataFrame({name: rng.uniform(1, 20, n) for name in CASE.numeric_features})
    for name in CASE.categorical_features:
        frame[name] = rng.choice(["A", "B", "C"], n)
    seconds = np.arange(n) * (86400 // PER_DAY)
    frame[CASE.timestamp] = FIRST - pd.Timedelta(days=7) + pd.to_timedelta(seconds, unit="s")
    frame[CASE.key] = [f"row{i}" for i in range(n)]
    frame["p"] = rng.beta(2, 5, n)
    frame[CASE.label] = pd.array((rng.uniform(size=n) < frame["p"]).astype(int), dtype="Int64")
    return frame


class FakeModels:
    """Version 1 (fit to June 30) knows the truth until BREAK and guesses after it; a version
    trained as of day d knows it again. Every training is counted."""

    def __init__(self, table: pd.DataFrame):
        self.table = table
        self.trained: list[pd.Timestamp] = []
        self.as_of = {"1": FIRST}
        self._bundles: dict[str, Bundle] = {}

    def bundle(self, version: str) -> Bundle:
        if version not in self._bundles:
            fit_end = self.as_of[version] - pd.Timedelta(days=1)
            holdout = self.table.loc[self.table[CASE.timestamp] < FIRST]
            labels = holdout[CASE.label].astype(int).to_numpy()
            scores = holdout["p"].to_numpy()
            self._bundles[version] = Bundle(
                model=None,
                schema=build_schema(self.table, threshold=0.35),
                reference=build_reference(
                    self.table, scores, float(labels.mean()), fit_calibration(labels, scores)
                ),
                metadata=Metadata(
                    version=version,
                    training_window=TrainingWindow(fit_start="2013-01-01", fit_end=f"{fit_end:%Y-%m-%d}"),
                    metrics={"roc_auc": float(roc_auc_score(labels, scores)), "log_loss": 0.5},
                ),
                path=Path("."),
            )
        return self._bundles[version]

    def scores(self, version: str) -> np.ndarray:
        p = self.table["p"].to_numpy().copy()
        if version == "1":
            late = (self.table[CASE.timestamp] >= BREAK).to_numpy()
            p[late] = np.random.default_rng(1).permutation(p[late])  # no longer ranks anything
        return p

    def train(self, as_of: pd.Timestamp, gated: bool, champion: str) -> Training:
        self.trained.append(as_of)
        version = str(len(self.as_of) + 1)
        self.as_of[version] = as_of
        return Training(LOOP, as_of, version, alias="champion", fit_cpu_seconds=1.0)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return period()


def test_the_loop_retrains_as_of_the_day_decay_shows_and_the_new_version_serves_from_then(table, tmp_path):
    models = FakeModels(table)
    replay = Replay(table, models, THRESHOLDS, window_days=7)
    run = replay.run_loop(DAYS, base="1")
    (retrain,) = run.trainings
    # the labels of the days after BREAK must be mature and many enough to show it
    assert BREAK < retrain.day <= BREAK + pd.Timedelta(days=7)
    assert retrain.trigger == "decay" and any("realized ROC AUC" in r for r in retrain.reasons)
    assert {d: v for d, v in run.serving.items() if d < retrain.day} == dict.fromkeys(
        [d for d in DAYS if d < retrain.day], "1"
    )
    assert all(run.serving[d] == "2" for d in DAYS if d >= retrain.day)
    assert run.judged[retrain.day] == "1" and run.judged[retrain.day + pd.Timedelta(days=1)] == "2"
    # the day before the retrain was judged ok: the decay had not shown in the known labels yet
    assert not run.reports[retrain.day - pd.Timedelta(days=1)].retrain
    # the new version is not judged on the rows it fit: the day after its retrain, one day of
    # unseen rows, none of them a day old yet (but the first, at midnight)
    after = run.reports[retrain.day + pd.Timedelta(days=1)]
    assert (after.unseen_rows, after.labelled_rows) == (PER_DAY, 1) and not after.decayed


def test_each_policy_s_daily_auc_is_its_version_on_the_day_s_rows(table):
    models = FakeModels(table)
    replay = Replay(table, models, THRESHOLDS, window_days=7)
    never = dict.fromkeys(DAYS, "1")
    monthly = serving_monthly(DAYS, {FIRST: "1"})
    frame = daily_frame(replay, {"never": never, "monthly": monthly})
    day = DAYS[3]
    rows = table.loc[table[CASE.timestamp].dt.normalize() == day]
    expected = roc_auc_score(rows[CASE.label].astype(int), models.scores("1")[rows.index])
    assert frame.set_index("day").loc[day, "auc_never"] == pytest.approx(expected)
    assert (frame["version_monthly"] == "1").all()


def test_the_truth_of_the_alarms_and_the_label_free_alarms_agree_with_decide(table):
    replay = Replay(table, FakeModels(table), THRESHOLDS, window_days=7)
    signals = signals_frame(replay, dict.fromkeys(DAYS, "1"), THRESHOLDS)  # checks decide's own alarms
    assert signals.loc[signals["day"] < BREAK, "decayed"].sum() == 0
    assert signals.loc[signals["day"] >= BREAK + pd.Timedelta(days=4), "decayed"].all()
    judged = judge_alarms(signals, months=1)
    assert judged["realized decay"].count("caught") == 1 and judged["realized decay"].false_alarm_days == 0
    lower = replace(THRESHOLDS, max_weighted_psi=0.0)  # any weighted drift at all
    assert (
        label_free_alarms(signals, lower)["drift"].sum()
        >= label_free_alarms(signals, THRESHOLDS)["drift"].sum()
    )


def test_measures_kept_on_disk_are_read_back_unchanged(table, tmp_path):
    models = FakeModels(table)
    first = Replay(table, models, THRESHOLDS, 7, MeasureStore(tmp_path, lambda version: "key"))
    measured = first.measure("1", DAYS[12])
    first.store.flush()
    again = Replay(table, models, THRESHOLDS, 7, MeasureStore(tmp_path, lambda version: "key"))
    read = again.measure("1", DAYS[12])
    figures = {k: v for k, v in measured.report.as_dict().items() if not isinstance(v, list)}
    assert {k: read.report.as_dict()[k] for k in figures} == pytest.approx(figures, nan_ok=True)
    assert (read.truth_auc, read.truth_rows) == (measured.truth_auc, measured.truth_rows)
    pd.testing.assert_frame_equal(
        read.drift.reset_index(drop=True), measured.drift.reset_index(drop=True), check_dtype=False
    )
    assert not math.isnan(read.report.realized_auc)


def test_thresholds_are_never_chosen_on_the_months_the_replay_judges():
    """`--choose` runs on the months before the replay's first (March-June for July-December by
    default); a choice that reaches a judged month is refused before anything runs."""
    from scripts.daily_replay import config_of, default_start

    judged_from = pd.Timestamp(f"{default_start()}-01")
    chosen_on = config_of(["--choose", "--months", "4"]).days
    assert chosen_on[-1] < judged_from <= chosen_on[-1] + pd.Timedelta(days=1)
    with pytest.raises(
        SystemExit, match="2013-05..2013-08 reaches 2013-07, the first month the replay judges"
    ):
        config_of(["--choose", "--start", "2013-05", "--months", "4"])
    assert config_of(["--start", "2013-05", "--months", "4"]).days[0] == pd.Timestamp("2013-05-01")


def test_the_replay_watches_the_use_cases_monitoring_days_as_its_launch_plan_does(monkeypatch):
    """The window defaults to the declaration's `monitoring_days` (the daily monitoring launch
    plan's fixed `days`); `--window-days` still sets another."""
    from scripts.daily_replay import DailyReplayConfig, config_of

    assert config_of([]).window_days == DailyReplayConfig().window_days == 7
    monkeypatch.setenv(usecases.ENV, "visibility")
    declared = usecases.current().monitoring_days
    assert declared != 7
    assert config_of([]).window_days == DailyReplayConfig().window_days == declared
    assert config_of(["--window-days", "14"]).window_days == 14


class UncuredModels(FakeModels):
    """Every version guesses from BREAK on: a retrain does not cure the decay."""

    def scores(self, version: str) -> np.ndarray:
        p = self.table["p"].to_numpy().copy()
        late = (self.table[CASE.timestamp] >= BREAK).to_numpy()
        p[late] = np.random.default_rng(int(version)).permutation(p[late])
        return p


def test_a_retrain_that_did_not_cure_the_decay_is_followed_by_a_cool_down_not_a_retrain_a_day(table):
    models = UncuredModels(table)
    thresholds = replace(THRESHOLDS, min_days_after_uncured=10)
    run = Replay(table, models, thresholds, window_days=7).run_loop(DAYS, base="1")
    first, *then = (t.day for t in run.trainings)
    # the first decay came after windows judged ok: retrained at once, as before
    assert BREAK < first <= BREAK + pd.Timedelta(days=7)
    # then every window of the new version alarmed: the next retrain learnt 10 new days
    assert then == [first + pd.Timedelta(days=10)]
    waiting = run.reports[first + pd.Timedelta(days=9)]
    assert waiting.decayed and not waiting.retrain and not waiting.ok_since_training


def test_the_retrain_rule_chosen_reaches_the_monthly_schedule_at_the_least_cost():
    from core.daily_replay import LoopCost, choose_setting

    costs = [
        LoopCost(7, mean_auc=0.7010, retrains=12, fit_cpu_seconds=600.0),
        LoopCost(14, mean_auc=0.7003, retrains=7, fit_cpu_seconds=350.0),
        LoopCost(21, mean_auc=0.6990, retrains=5, fit_cpu_seconds=250.0),
    ]
    assert choose_setting(costs, monthly_auc=0.7000) == 14
    # none reaches the monthly schedule: the highest ROC AUC
    assert choose_setting(costs, monthly_auc=0.7050) == 7
    # the same ROC AUC (the retrains held back never served): the fewest retrains, then the
    # smaller setting, whatever the fit CPU seconds measured under the load of the day
    same = [
        LoopCost(7, mean_auc=0.7047, retrains=12, fit_cpu_seconds=180.5),
        LoopCost(14, mean_auc=0.7047, retrains=9, fit_cpu_seconds=135.1),
        LoopCost(21, mean_auc=0.7047, retrains=8, fit_cpu_seconds=120.6),
        LoopCost(28, mean_auc=0.7047, retrains=8, fit_cpu_seconds=120.2),
    ]
    assert choose_setting(same, monthly_auc=0.7128) == 21


def test_a_loop_setting_is_chosen_on_trials_of_the_same_months_never_the_judged_ones():
    """Each value of one of the loop's rules is replayed on its own (`--trial`, on the months
    before those judged); `--choose-trial` reads the trials and chooses by `choose_setting`."""
    from core.gate import GateConfig
    from scripts.daily_replay import config_of, trial_choice

    trial = config_of(["--trial", "t.json", "--max-refresh-loss", "0.001", "--months", "4"])
    assert trial.gate.max_refresh_loss == 0.001 and trial.trial == "t.json"
    assert trial.days[-1] < pd.Timestamp(usecases.current().demo_as_of[0]).replace(day=1)
    waits = config_of(
        ["--trial", "t.json", "--min-new-days", "21", "--min-days-after-uncured", "28"]
        + ["--min-unexplained-auc-drop", "0.02"]
    )
    assert (waits.thresholds.min_new_days, waits.thresholds.min_days_after_uncured) == (21, 28)
    settings = {
        "max_refresh_loss": GateConfig().max_refresh_loss,
        "min_new_days": 21,
        "min_days_after_uncured": 28,
        "min_unexplained_auc_drop": 0.02,
    }
    assert waits.loop_settings() == settings
    with pytest.raises(SystemExit, match="never on those they are judged on"):
        config_of(["--trial", "t.json", "--start", "2013-05", "--months", "4"])

    def trial_of(auc, retrains, margin=0.004, new_days=7, monthly=0.7128, start="2013-03"):
        return {
            "start": start,
            "months": 4,
            "max_refresh_loss": margin,
            "min_new_days": new_days,
            "min_days_after_uncured": 21,
            "min_unexplained_auc_drop": -math.inf,
            "loop_mean_auc": auc,
            "monthly_mean_auc": monthly,
            "retrains": retrains,
            "fit_cpu_seconds": 100.0 * retrains,
            "promoted": 2,
            "challenger": retrains - 2,
            "rejected": 0,
        }

    margins = [trial_of(0.7130, 6), trial_of(0.7047, 8, margin=0.0), trial_of(0.7131, 7, margin=0.002)]
    frame = trial_choice(margins)
    assert frame["max_refresh_loss"].tolist() == [0.0, 0.002, 0.004]
    # both reach the monthly schedule: the fewer retrains, not the higher ROC AUC
    assert frame.loc[frame["chosen"], "max_refresh_loss"].tolist() == [0.004]
    waits = [trial_of(0.7119, 6), trial_of(0.7125, 5, new_days=14), trial_of(0.7101, 4, new_days=28)]
    frame = trial_choice(waits)
    assert list(frame.columns[:2]) == ["min_new_days", "loop mean AUC"]
    # none reaches the monthly schedule: the highest ROC AUC
    assert frame.loc[frame["chosen"], "min_new_days"].tolist() == [14]
    with pytest.raises(SystemExit, match="differ in max_refresh_loss, min_new_days"):
        trial_choice([*margins, trial_of(0.72, 5, new_days=14)])
    with pytest.raises(SystemExit, match="the same settings"):
        trial_choice([trial_of(0.7130, 6), trial_of(0.7130, 6)])
    with pytest.raises(SystemExit, match="different periods"):
        trial_choice([*margins, trial_of(0.72, 5, margin=0.008, start="2013-02")])
    with pytest.raises(SystemExit, match="monthly schedules differ"):
        trial_choice([*margins, trial_of(0.72, 5, margin=0.008, monthly=0.71)])


def test_a_trial_writes_the_loops_cost_beside_the_monthly_schedule(table, tmp_path):
    import json

    from core.gate import GateConfig
    from scripts.daily_replay import DailyReplayConfig, read_trial, trial_choice, write_trial

    replay = Replay(table, FakeModels(table), THRESHOLDS, window_days=7)
    loop = replay.run_loop(DAYS, base="1")
    config = DailyReplayConfig(start=f"{DAYS[0]:%Y-%m}", months=1, gate=GateConfig(max_refresh_loss=0.001))
    write_trial(config, replay, loop, dict.fromkeys(DAYS, "1"), tmp_path / "trial.json")
    trial = json.loads((tmp_path / "trial.json").read_text())
    serving_auc = np.nanmean([replay.day_auc(loop.serving[d], d) for d in DAYS])
    never_auc = np.nanmean([replay.day_auc("1", d) for d in DAYS])
    assert trial["max_refresh_loss"] == 0.001 and trial["retrains"] == 1 == trial["promoted"]
    assert trial["min_new_days"] == config.thresholds.min_new_days
    assert read_trial(str(tmp_path / "trial.json")) == trial
    assert trial["loop_mean_auc"] == pytest.approx(serving_auc)
    assert trial["monthly_mean_auc"] == pytest.approx(never_auc) and never_auc < serving_auc
    assert trial_choice([trial])["chosen"].tolist() == [True]


def test_each_change_of_model_is_judged_on_the_days_it_served_against_the_model_it_replaced(table):
    from core.daily_replay import DailyReplay, changes_frame
    from core.daily_replay_report import changes_summary, changes_table

    replay = Replay(table, FakeModels(table), THRESHOLDS, window_days=7)
    run = replay.run_loop(DAYS, base="1")
    (retrain,) = run.trainings
    never = dict.fromkeys(DAYS, "1")
    changes = changes_frame(replay, {"never": never, LOOP: run.serving})
    (change,) = changes.to_dict("records")  # never retraining changes nothing
    served = [d for d in DAYS if d >= retrain.day]
    gains = [replay.day_auc("2", d) - replay.day_auc("1", d) for d in served]
    assert (change["policy"], change["version"], change["replaced"]) == (LOOP, "2", "1")
    assert change["first day"] == retrain.day and change["days"] == len(served)
    assert change["gain"] == pytest.approx(np.mean(gains))
    # version 1 guesses after BREAK, version 2 knows the truth: better on every day it served
    assert change["low"] > 0.1 and change["better days"] == 1.0
    result = DailyReplay(THRESHOLDS, 1, 7, daily_frame(replay, {LOOP: run.serving}), [], {})
    result.changes = changes
    assert changes_table(result)["model"].tolist() == ["v2 for v1"]
    assert changes_summary(result, "monthly") == "Changes of model, retrain monthly: none."
    assert changes_summary(result, LOOP).startswith(
        "Changes of model, this loop (daily): 1; the new model better on the days it served "
        "(90 % interval above 0) 1, worse 0, not told apart 0"
    )


def test_a_trial_file_that_is_missing_broken_or_incomplete_is_refused_naming_it(tmp_path):
    import json

    from scripts.daily_replay import main

    missing, broken, old = tmp_path / "missing.json", tmp_path / "broken.json", tmp_path / "old.json"
    broken.write_text("{not json")
    # a trial of the gate's margin written before the waits were recorded
    old.write_text(json.dumps({"start": "2013-03", "months": 4, "max_refresh_loss": 0.004}))
    with pytest.raises(SystemExit, match=f"trial {missing}: no such file"):
        main(["--choose-trial", str(missing)])
    with pytest.raises(SystemExit, match=f"trial {broken}: not JSON"):
        main(["--choose-trial", str(broken)])
    with pytest.raises(
        SystemExit,
        match=f"trial {old}: no min_new_days, min_days_after_uncured, min_unexplained_auc_drop, loop_mean",
    ):
        main(["--choose-trial", str(old)])
