"""Alarms judged against what the labels later showed: each decay counted as caught (with how
many days early or late) or missed, each alarm that no decay followed as a false alarm.

Day by day, a signal either alarms or not (drift, estimated decay, realized decay as monitoring
saw it that day); the truth is whether the model had decayed on the same window, measured once
every label is in. Both are runs of days:

- a **decay** is a run of decayed days (gaps of up to `MERGE_GAP_DAYS` quiet days inside one
  decay: a trailing window's AUC hovers around the line);
- a decay is **caught** by the first alarm day from `EARLY_DAYS` before its start to its end:
  negative days are a warning before the labels show it; it is **late** when that first alarm
  comes more than `CATCH_DAYS` after the start, **missed** when none comes;
- an alarm day that answers no decay (outside every decay's `EARLY_DAYS` before its start to
  `LAG_DAYS` after its end) is a **false alarm**: every daily monitoring run that raises it asks
  for a retrain the labels do not justify. They are counted as days (what the choice of
  thresholds bounds: an alarm that never stops is false on every day between the decays) and
  as runs of days (what a person sees as one alert).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

MERGE_GAP_DAYS = 2
EARLY_DAYS = 7  # a monitoring window: an alarm up to a week before the decay shows is a warning
LAG_DAYS = 2  # a trailing window's figures lag: an alarm up to two days after a decay's end answers it
CATCH_DAYS = 7  # the target: every decay caught within a week of its start


@dataclass(frozen=True)
class Run:
    start: pd.Timestamp
    end: pd.Timestamp  # the last day of the run, inclusive


@dataclass(frozen=True)
class Catch:
    """One decay and the first alarm that answered it (`days`: alarm day minus the decay's
    first day; NaN when missed)."""

    decay: Run
    alarm_day: pd.Timestamp | None
    days: float

    @property
    def outcome(self) -> str:
        if self.alarm_day is None:
            return "missed"
        return "late" if self.days > CATCH_DAYS else "caught"


@dataclass(frozen=True)
class AlarmJudgement:
    """One signal on one sequence of days: every decay's catch, and the false alarms."""

    catches: list[Catch] = field(default_factory=list)
    false_alarms: list[Run] = field(default_factory=list)
    alarm_runs: int = 0
    months: float = 0.0
    false_alarm_days: int = 0  # days alarming that answer no decay

    def count(self, outcome: str) -> int:
        return sum(c.outcome == outcome for c in self.catches)

    @property
    def false_alarms_per_month(self) -> float:
        """False alarm days per month."""
        return self.false_alarm_days / self.months if self.months else math.nan

    @property
    def days(self) -> list[float]:
        """Days early (negative) or late of each decay caught (late ones included)."""
        return [c.days for c in self.catches if c.alarm_day is not None]

    def summary(self) -> dict:
        days = self.days
        return {
            "decays": len(self.catches),
            "caught": self.count("caught"),
            "late": self.count("late"),
            "missed": self.count("missed"),
            "false alarm days": self.false_alarm_days,
            "false alarm days / month": self.false_alarms_per_month,
            "false alarm runs": len(self.false_alarms),
            "median days": float(pd.Series(days).median()) if days else math.nan,
            "days": ", ".join(f"{d:+.0f}" for d in days),
        }


def runs(flags: pd.Series, merge_gap: int = MERGE_GAP_DAYS) -> list[Run]:
    """Runs of True days of a daily boolean series (index: consecutive days), merging runs
    separated by at most `merge_gap` False days."""
    days = [pd.Timestamp(d) for d, on in flags.items() if bool(on)]
    found: list[Run] = []
    for day in days:
        if found and (day - found[-1].end).days <= merge_gap + 1:
            found[-1] = Run(found[-1].start, day)
        else:
            found.append(Run(day, day))
    return found


def judge(decayed: pd.Series, alarms: pd.Series, months: float) -> AlarmJudgement:
    """The alarms (a daily boolean series) against the decays (the same days), over `months`."""
    decays, alarm_runs = runs(decayed), runs(alarms)
    alarm_days = sorted(pd.Timestamp(d) for d, on in alarms.items() if bool(on))
    early = pd.Timedelta(days=EARLY_DAYS)
    catches = []
    for decay in decays:
        answering = [d for d in alarm_days if decay.start - early <= d <= decay.end]
        first = answering[0] if answering else None
        days = float((first - decay.start).days) if first is not None else math.nan
        catches.append(Catch(decay, first, days))
    # Alarm days that answer no decay (outside every [start - EARLY_DAYS, end]), as runs: an
    # alarm that never stops is false between the decays, not one lucky run over all of them.
    answering = pd.Series(False, index=alarms.index)
    lag = pd.Timedelta(days=LAG_DAYS)
    for decay in decays:
        answering |= (alarms.index >= decay.start - early) & (alarms.index <= decay.end + lag)
    unanswered = alarms.astype(bool) & ~answering
    return AlarmJudgement(catches, runs(unanswered), len(alarm_runs), months, int(unanswered.sum()))


def combine(judgements: Iterable[AlarmJudgement]) -> AlarmJudgement:
    """Several sequences (one per policy's models) judged as one: catches and false alarms
    added, months added."""
    catches: list[Catch] = []
    false_alarms: list[Run] = []
    alarm_runs, months, days = 0, 0.0, 0
    for one in judgements:
        catches += one.catches
        false_alarms += one.false_alarms
        alarm_runs += one.alarm_runs
        months += one.months
        days += one.false_alarm_days
    return AlarmJudgement(catches, false_alarms, alarm_runs, months, days)


def choose(candidates: dict[float, AlarmJudgement], max_false_alarms_per_month: float = 1.0) -> float | None:
    """The threshold whose alarms catch the most decays within `CATCH_DAYS`, among those with at
    most `max_false_alarms_per_month` false alarm days; ties go to the earlier catches (lower
    median days), then to the fewer alarms. None when every candidate alarms falsely more often than allowed.
    `candidates` maps a threshold to its judgement on the months it is chosen on."""
    allowed = {
        value: judged
        for value, judged in candidates.items()
        if judged.false_alarms_per_month <= max_false_alarms_per_month
    }
    if not allowed:
        return None

    def rank(value: float) -> tuple:
        judged = allowed[value]
        median = judged.summary()["median days"]
        return (-judged.count("caught"), math.inf if math.isnan(median) else median, judged.alarm_runs)

    return min(allowed, key=rank)
