"""Reports read the declaration: the holdout's slices, the label-rate figure, the feature
profile, the confusion matrix's classes, the batch predictions' columns and the batch deck follow
each use case (its fixtures' feature table), and name none of another use case's columns."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import numpy as np
import pandas as pd
import pytest

import usecases
from core import batch, evaluation, reports

CASES = [folder.replace("_", "-") for folder in usecases.available()]
EVERYTHING = (datetime(1900, 1, 1), datetime(2100, 1, 1))


@cache
def features(name: str) -> pd.DataFrame:
    case = usecases.load(name)
    return case.build_features(case.load_window(str(case.fixtures), *EVERYTHING), None)


def labelled(name: str) -> pd.DataFrame:
    table = features(name)
    return table.loc[table[usecases.load(name).label].notna()].reset_index(drop=True)


class _Stub:
    """Scores every row with a fixed pseudo-random probability: enough for the plumbing."""

    def score_frame(self, frame: pd.DataFrame) -> np.ndarray:
        return np.random.default_rng(len(frame)).uniform(0.01, 0.99, len(frame))


def others(name: str) -> set[str]:
    """Columns only other use cases slice by."""
    mine = set(usecases.load(name).slices)
    return {c for other in CASES if other != name for c in usecases.load(other).slices} - mine


@pytest.mark.parametrize("name", CASES)
def test_the_holdout_is_sliced_by_the_use_cases_slices(name):
    case = usecases.load(name)
    holdout = labelled(name)
    table = evaluation.slice_table(holdout, _Stub().score_frame(holdout), case)
    assert list(table.columns) == evaluation.SLICE_TABLE_COLUMNS
    assert list(dict.fromkeys(table["slice"])) == list(case.slices)
    for column in case.slices:
        rows = table.loc[table["slice"] == column]
        assert sorted(rows["value"].astype(str)) == sorted(holdout[column].astype(str).unique())
        assert rows["n"].sum() == len(holdout)


def test_a_slice_the_holdout_lacks_is_named():
    case = usecases.load(CASES[0])
    holdout = labelled(CASES[0]).drop(columns=case.slices[0])
    with pytest.raises(
        ValueError, match=rf"no slice column\(s\) \['{case.slices[0]}'\].*'{case.name}', slices"
    ):
        evaluation.slice_table(holdout, np.full(len(holdout), 0.5), case)


@pytest.mark.parametrize("name", CASES)
def test_the_figures_and_profile_read_the_declaration(name):
    case = usecases.load(name)
    table = labelled(name)
    for figure in (
        reports.label_rate_figure(table, case),
        reports.evaluation_figure(
            table[case.label].to_numpy(), _Stub().score_frame(table), case.threshold, case
        ),
    ):
        assert figure[:8] == b"\x89PNG\r\n\x1a\n"
    profile = reports.feature_profile(table, case)
    assert profile["feature"].tolist() == list(case.features)
    kinds = dict(zip(profile["feature"], profile["kind"], strict=True))
    assert {f for f, kind in kinds.items() if kind == "number"} == set(case.numeric_features)


@pytest.mark.parametrize("name", CASES)
def test_batch_predictions_carry_the_use_cases_columns_and_validate(name):
    case = usecases.load(name)
    table = features(name)
    parts = [
        batch.score_partition(_Stub(), part, case.threshold, "3", "run", case)
        for part in batch.day_partitions(table, 7, case)
    ]
    scored = batch.combine(parts, case)
    assert list(scored.columns) == batch.prediction_columns(case)
    assert list(scored.columns[:2]) == [case.key, case.timestamp]
    assert {case.predicted, case.label, *case.slices} <= set(scored.columns)
    assert not others(name) & set(scored.columns)
    batch.prediction_table(case).validate(scored)
    assert scored[case.label].isna().sum() == table[case.label].isna().sum()  # the truth as known
    by_slice = batch.summary_by(scored, case.slices[0], case)
    assert list(by_slice.columns) == [case.slices[0], "rows", "mean_score", "positive_rate", "label_rate"]
    assert by_slice["rows"].sum() == len(scored)


@pytest.mark.parametrize("name", CASES)
def test_the_prediction_schema_refuses_a_flag_that_is_not_binary_naming_it(name):
    import pandera.errors

    case = usecases.load(name)
    scored = batch.score_partition(_Stub(), features(name).head(20), case.threshold, "3", "run", case)
    scored.loc[0, case.predicted] = 2
    with pytest.raises(pandera.errors.SchemaError, match=case.predicted):
        batch.prediction_table(case).validate(scored)


@pytest.mark.parametrize("name", CASES)
def test_the_batch_deck_breaks_down_by_the_use_cases_slices(name, monkeypatch):
    from tasks.batch_deck import batch_deck_html

    monkeypatch.setenv(usecases.ENV, name)
    case = usecases.load(name)
    scored = batch.score_partition(_Stub(), features(name), case.threshold, "3", "run", case)
    html = batch_deck_html(scored, "3")
    for column in case.slices:
        assert f"<h4>By {column}</h4>" in html
    assert not [column for column in others(name) if f"By {column}<" in html]
    assert case.positive_class in html
