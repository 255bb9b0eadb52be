"""Labels that arrive late: flights' declaration with a label maturity of 45 days (the truth of a
flight known 45 days after it, and no sooner) on frames built here. The holdout is the most recent
labelled month at `as_of`, training ends before it, the truth of younger events is missing, a
maturity that leaves no labelled month fails naming `label_maturity`, and monitoring counts the
labels pending and decides on drift until they arrive."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from core.features import Window, feature_table, month_window, split_by_time
from core.monitoring import DRIFT, OK, MonitoringReport, MonitoringThresholds, decide
from tests.support.tables import raw_rows
from usecases import UseCaseError
from usecases.flights import USE_CASE as FLIGHTS

SLOW = replace(FLIGHTS, label_maturity=timedelta(days=45), label_known_early=False)
AS_OF = datetime(2013, 7, 1)


@pytest.mark.parametrize(
    ("maturity", "holdout"),
    [
        (timedelta(0), (datetime(2013, 6, 1), datetime(2013, 7, 1))),
        (timedelta(hours=24), (datetime(2013, 6, 1), datetime(2013, 7, 1))),  # flights' own
        (timedelta(days=20), (datetime(2013, 5, 1), datetime(2013, 6, 1))),  # June 2/3 pending
        (timedelta(days=45), (datetime(2013, 5, 1), datetime(2013, 6, 1))),  # May half labelled
        (timedelta(days=46), (datetime(2013, 4, 1), datetime(2013, 5, 1))),  # May under half
        (timedelta(days=100), (datetime(2013, 3, 1), datetime(2013, 4, 1))),
    ],
)
def test_the_holdout_is_the_most_recent_labelled_month(maturity, holdout):
    """The holdout's last month is the latest one at least half of which is older than the
    maturity at `as_of`; training is the months before it."""
    window = month_window(AS_OF, train_months=2, holdout_months=1, label_maturity=maturity)
    start, end = holdout
    assert window == Window(
        train_start=(pd.Timestamp(start) - pd.DateOffset(months=2)).to_pydatetime(),
        holdout_start=start,
        holdout_end=end,
        end=AS_OF,
    )


def _raw(days: list[tuple[int, int]]) -> pd.DataFrame:
    """One arrived flight a day on (month, day) of 2013, alternately on time and late."""
    raw = raw_rows([5.0 if i % 2 == 0 else 40.0 for i in range(len(days))])
    raw["month"] = [m for m, _ in days]
    raw["day"] = [d for _, d in days]
    raw["flight"] = np.arange(len(days))
    return raw


def _known(table: pd.DataFrame) -> dict[str, bool]:
    return dict(zip(table["sched_dep"].dt.strftime("%m-%d"), table["late"].notna(), strict=True))


def test_the_truth_of_events_younger_than_the_maturity_is_missing():
    raw = _raw([(3, 10), (4, 10), (5, 10), (5, 20), (6, 10), (6, 30)])
    slow = feature_table(SLOW, raw, AS_OF)
    # 45 days before 2013-07-01 is 2013-05-17: May 20 and June are pending
    assert _known(slow) == {
        "03-10": True,
        "04-10": True,
        "05-10": True,
        "05-20": False,
        "06-10": False,
        "06-30": False,
    }
    # flights' own rule knows a landed flight at once: every flight here had landed by July 1
    assert all(_known(feature_table(FLIGHTS, raw, AS_OF)).values())
    assert all(_known(feature_table(SLOW, raw, None)).values())  # a closed record: all final


def test_training_ends_before_the_labelled_holdout():
    raw = _raw([(2, 10), (3, 10), (4, 10), (4, 25), (5, 10), (5, 20), (6, 10)])
    window = month_window(AS_OF, train_months=0, holdout_months=1, label_maturity=SLOW.label_maturity)
    table = feature_table(SLOW, raw, window.end)
    train, holdout = split_by_time(table, window.holdout_start, window.holdout_end, case=SLOW)
    assert train["sched_dep"].dt.strftime("%m-%d").tolist() == ["02-10", "03-10", "04-10", "04-25"]
    assert holdout["sched_dep"].dt.strftime("%m-%d").tolist() == ["05-10"]  # May 20 pending


def test_a_holdout_whose_rows_are_all_pending_is_refused_naming_label_maturity():
    raw = _raw([(3, 10), (4, 10), (5, 20), (5, 25)])
    table = feature_table(SLOW, raw, AS_OF)
    with pytest.raises(ValueError) as raised:
        split_by_time(table, datetime(2013, 5, 1), datetime(2013, 6, 1), case=SLOW)
    assert str(raised.value) == (
        "the holdout split is empty: holdout starts 2013-05-01; it holds 2 rows, none labelled "
        "yet: the truth of an event is known 45 days after it (label_maturity)"
    )


def test_a_maturity_that_leaves_no_labelled_month_fails_at_load():
    """At flights' demo date 2013-07-01 a maturity of 150 days makes January the holdout: no
    labelled month is left to train on (the data starts 2013-01-01)."""
    with pytest.raises(UseCaseError) as raised:
        replace(FLIGHTS, label_maturity=timedelta(days=150), label_known_early=False)
    assert str(raised.value) == (
        "use case 'flights': label_maturity: 150 days leaves no labelled month to train on at "
        "as_of 2013-07-01: the holdout would be 2013-01-01 to 2013-02-01 and the data starts "
        "2013-01-01"
    )
    assert raised.value.field == "label_maturity"
    assert replace(FLIGHTS, label_maturity=timedelta(days=45)).label_maturity == timedelta(days=45)


def test_a_window_the_maturity_moves_before_the_data_fails_before_loading():
    with pytest.raises(ValueError) as raised:
        month_window(
            datetime(2013, 2, 1), 0, 1, label_maturity=timedelta(days=45), data_start=datetime(2013, 1, 1)
        )
    assert str(raised.value) == (
        "label_maturity 45 days leaves no labelled month to train on at as_of 2013-02-01: the "
        "holdout would be 2012-12-01 to 2013-01-01 and the data starts 2013-01-01"
    )
    # flights' own maturity moves nothing: the same as_of holds out January as it always did
    window = month_window(
        datetime(2013, 2, 1), 0, 1, label_maturity=timedelta(hours=24), data_start=datetime(2013, 1, 1)
    )
    assert (window.holdout_start, window.holdout_end) == (datetime(2013, 1, 1), datetime(2013, 2, 1))


def _drifted(n: int = 10_000) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "feature": "temp",
                "psi": 3.0,
                "psi_noise": 0.0,
                "n": n,
                "weight": 1.0,
                "source": "batch",
                "judged": True,
            },
            {
                "feature": "score",
                "psi": 0.01,
                "psi_noise": 0.0,
                "n": n,
                "weight": 0.0,
                "source": "batch",
                "judged": True,
            },
        ]
    )


def test_monitoring_counts_the_labels_pending_and_decides_on_drift_until_they_arrive():
    """A period whose labels have not arrived: no realized performance, the pending labels counted
    and named, and the decision taken on drift."""
    report = MonitoringReport(
        n_rows=10_000, labels_pending=10_000, validation_auc=0.76, validation_log_loss=0.55
    )
    # input drift that alarms (the default use case's input drift alone never does)
    decided = decide(report, _drifted(), MonitoringThresholds(max_weighted_psi=0.5))
    assert (decided.decision, decided.retrain, decided.labels_pending) == (DRIFT, True, 10_000)
    assert (
        decided.reasons[-1] == "labels pending: 10,000 of 10,000 rows: decay not measured, decided on drift"
    )


def test_a_few_labels_among_many_pending_do_not_decide_decay():
    """Labels arrive first for the oldest events of the period: 100 labelled rows (fewer than
    `min_performance_rows`) with a realized AUC far below the holdout's are no decay yet."""
    report = MonitoringReport(
        n_rows=10_000,
        labelled_rows=100,
        labels_pending=9_900,
        realized_auc=0.60,
        realized_log_loss=0.70,
        validation_auc=0.76,
        validation_log_loss=0.55,
    )
    quiet = _drifted().assign(psi=[0.01, 0.01])
    decided = decide(report, quiet, MonitoringThresholds())
    assert (decided.decision, decided.decayed) == (OK, False)
    assert decided.reasons[-1] == (
        "labels pending: 9,900 of 10,000 rows: decay not judged on 100 labelled rows (< 2000), "
        "decided on drift"
    )
    # once they have arrived, the same figures are decay
    arrived = replace(report, labelled_rows=10_000, labels_pending=0)
    assert decide(arrived, quiet, MonitoringThresholds()).decayed and not math.isnan(arrived.realized_auc)
