"""Explanations as the pipeline uses them: top reasons per row, global summaries, the deck section.
A small model is fitted here on a frame built in the test, through the project's Pipeline."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from core import explanations
from core.model import Hyperparameters, fit
from usecases.flights.schemas import CATEGORICAL_FEATURES, FEATURES, LABEL, NUMERIC_FEATURES


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 3000
    frame = pd.DataFrame({name: rng.normal(10, 3, n) for name in NUMERIC_FEATURES})
    frame["carrier"] = rng.choice(["AA", "UA", "DL", "B6"], n)
    frame["origin"] = rng.choice(["EWR", "JFK", "LGA"], n)
    frame["dest"] = rng.choice(["SFO", "ORD", "ATL", "BOS", "MIA"], n)
    frame.loc[rng.random(n) < 0.2, "wind_gust"] = np.nan
    signal = (frame["visib"] < 9) * 1.5 + (frame["carrier"] == "UA") * 1.0 + rng.normal(0, 1, n)
    frame[LABEL] = (signal > 1).astype(int)
    return frame[[*CATEGORICAL_FEATURES, *NUMERIC_FEATURES, LABEL]]


@pytest.fixture(scope="module")
def model(table):
    return fit(table, Hyperparameters(max_iter=30, early_stopping=False))


def test_the_pipeline_explains_exactly(model, table):
    contributions, base = explanations.contributions_frame(model, table.head(400))
    assert list(contributions.columns) == FEATURES
    raw = model.decision_function(table.head(400)[FEATURES])
    np.testing.assert_allclose(base + contributions.sum(axis=1), raw, rtol=0, atol=1e-9)


def test_top_reasons_are_the_largest_contributions_by_size(model, table):
    contributions, _ = explanations.contributions_frame(model, table.head(200))
    reasons = explanations.top_reasons(contributions)
    assert list(reasons.columns) == [
        "reason_1",
        "reason_1_contribution",
        "reason_2",
        "reason_2_contribution",
        "reason_3",
        "reason_3_contribution",
    ]
    for index, row in reasons.iterrows():
        sizes = contributions.loc[index].abs().sort_values(ascending=False, kind="stable")
        assert [row["reason_1"], row["reason_2"], row["reason_3"]] == sizes.index[:3].tolist()
        assert row["reason_1_contribution"] == contributions.loc[index, row["reason_1"]]
        assert abs(row["reason_1_contribution"]) >= abs(row["reason_3_contribution"])


def test_the_features_that_drive_the_label_lead_the_global_ranking(model, table):
    """visib and carrier make the label here: they must rank first by mean |contribution|."""
    contributions, _ = explanations.contributions_frame(model, table)
    ranking = explanations.mean_abs_contribution(contributions)
    assert set(ranking["feature"].head(2)) == {"visib", "carrier"}
    assert ranking["mean_abs_contribution"].is_monotonic_decreasing


def test_contribution_spread_by_category_and_by_bins(model, table):
    sample = table.head(1000)
    contributions, _ = explanations.contributions_frame(model, sample)
    by_carrier = explanations.contribution_spread(sample, contributions, "carrier")
    assert by_carrier.loc[by_carrier["median"].idxmax(), "carrier"] == "UA"
    assert by_carrier["rows"].sum() == len(sample)
    by_gust = explanations.contribution_spread(sample, contributions, "wind_gust", bins=4)
    assert "missing" in by_gust["wind_gust"].tolist()
    assert by_gust["rows"].sum() == len(sample)
    assert (by_gust["p10"] <= by_gust["median"]).all() and (by_gust["median"] <= by_gust["p90"]).all()


def test_the_evaluation_deck_section_shows_both_views_and_how_they_differ(model, table):
    from tasks.evaluation_deck import global_explanations_html

    holdout = table.head(300)
    html = global_explanations_html(model, holdout)
    assert "Mean |contribution| says how much a feature moves the model's predictions" in html
    assert "permutation importance says how much ROC AUC the model loses" in html
    assert html.count("<img") == 2
    for feature in explanations.mean_abs_contribution(
        explanations.contributions_frame(model, holdout.sample(300, random_state=0))[0]
    )["feature"].head(4):
        assert f"<h4>{feature}</h4>" in html


def test_with_top_reasons_appends_three_reasons_to_each_prediction(model, table):
    rows = table.head(50)
    predictions = pd.DataFrame({"score": model.predict_proba(rows[FEATURES])[:, 1]})
    out = explanations.with_top_reasons(predictions, model, rows)
    assert list(out.columns) == ["score", *explanations.top_reasons(pd.DataFrame(columns=FEATURES)).columns]
    contributions, _ = explanations.contributions_frame(model, rows)
    pd.testing.assert_frame_equal(
        out.drop(columns="score"), explanations.top_reasons(contributions).reset_index(drop=True)
    )
    empty = explanations.with_top_reasons(predictions.head(0), model, rows.head(0))
    assert len(empty) == 0 and "reason_3_contribution" in empty.columns


def test_with_top_reasons_refuses_misaligned_rows(model, table):
    predictions = pd.DataFrame({"score": [0.5, 0.5]})
    with pytest.raises(ValueError, match="2 predictions for 3 feature rows"):
        explanations.with_top_reasons(predictions, model, table.head(3))


def test_quantile_bins_read_with_the_fewest_decimals_that_keep_them_apart():
    from core.explanations import bin_labels

    assert list(bin_labels(pd.IntervalIndex.from_breaks([48.019000000000005, 57.02, 60.1])).values()) == [
        "(48, 57]",
        "(57, 60]",
    ]
    assert list(bin_labels(pd.IntervalIndex.from_breaks([1013.09, 1013.3, 1013.62])).values()) == [
        "(1013.1, 1013.3]",
        "(1013.3, 1013.6]",
    ]
    assert list(bin_labels(pd.IntervalIndex.from_breaks([-0.001, 0.0, 0.01])).values()) == [
        "(-0.001, 0.000]",
        "(0.000, 0.010]",
    ]


def test_the_spread_of_a_number_names_its_bins_in_rounded_edges(model, table):
    sample = table.head(1000)
    contributions, _ = explanations.contributions_frame(model, sample)
    by_temp = explanations.contribution_spread(sample, contributions, "temp")
    labels = by_temp["temp"].tolist()
    assert len(labels) == len(set(labels)) > 1
    for label in labels:
        assert re.fullmatch(r"\(-?\d+(\.\d{1,6})?, -?\d+(\.\d{1,6})?\]", label), label
    edges = [float(label[1:-1].split(", ")[0]) for label in labels]
    assert edges == sorted(edges)  # the bins in the order of their values
    assert by_temp["rows"].sum() == len(sample)
