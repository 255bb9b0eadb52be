"""What the evaluation and data decks teach, kept while they cost less: every section of each deck
is there, in its order, and the permutation importance the evaluation deck (and the bundle's drift
weights) reads stays within the noise it states. A small model is fitted here, through the
project's Pipeline, on a synthetic feature table whose label follows `temp` and `carrier`."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from flytekit import current_context
from sklearn.inspection import permutation_importance

from core import evaluation, reports
from core.model import Hyperparameters, fit
from core.refusals import NOTHING_REFUSED, row_account
from tests.support.tables import feature_table
from usecases.flights.schemas import FEATURES, LABEL, NUMERIC_FEATURES, TIMESTAMP


@pytest.fixture(scope="module")
def model():
    return fit(feature_table(4000, seed=1), Hyperparameters(max_iter=30, early_stopping=False))


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    """Rows the model never fit: 12,000 of them, the reference's; the deck samples 3,000."""
    return feature_table(12000, seed=2)


@pytest.fixture(scope="module")
def reference(model, holdout) -> pd.Series:
    """Permutation importance on every holdout row, three shuffles each: what a sample estimates
    (on the codes: the same drops, `test_shuffling_the_codes_is_shuffling_the_values`)."""
    estimator, columns, encoded = reports._encoded_once(model, holdout[FEATURES])
    whole = permutation_importance(
        estimator, encoded, holdout[LABEL].to_numpy(), scoring="roc_auc", n_repeats=3, random_state=7
    )
    return pd.Series(whole.importances_mean, index=columns)


def rendered(render) -> str:
    """The HTML of the one deck `render()` adds to the current Flyte context."""
    decks = current_context().decks
    decks.clear()
    render()
    assert len(decks) == 1
    return decks[0].html


def in_order(html: str, sections: list[str]) -> list[str]:
    """The sections of `sections` missing from `html` or out of their order."""
    wrong, position = [], 0
    for section in sections:
        found = html.find(section, position)
        if found < 0:
            wrong.append(section)
        else:
            position = found + len(section)
    return wrong


def test_shuffling_the_codes_is_shuffling_the_values(model, holdout):
    """The importance shuffles the Pipeline's encoded columns (encoded once) instead of the raw
    values (encoded again for every shuffle): the same drops, to the last digit."""
    rows = holdout.head(1500)
    estimator, columns, encoded = reports._encoded_once(model, rows[FEATURES])
    assert estimator is model[-1] and sorted(columns) == sorted(FEATURES)
    on_codes = permutation_importance(
        estimator, encoded, rows[LABEL].to_numpy(), scoring="roc_auc", n_repeats=1, random_state=3
    )
    on_values = permutation_importance(
        model, rows[FEATURES], rows[LABEL], scoring="roc_auc", n_repeats=1, random_state=3
    )
    np.testing.assert_array_equal(
        pd.Series(on_codes.importances[:, 0], index=columns).reindex(FEATURES).to_numpy(),
        on_values.importances[:, 0],
    )


def test_the_importance_stays_within_the_noise_it_states(model, holdout, reference):
    """The drop of each feature on the deck's 3,000 rows against the drop on all 12,000: inside
    the 95 % interval of its stated standard error (Student's t, parts - 1 degrees of freedom)
    about as often as such an interval promises (at least 90 % of the features of four samples;
    the misses are features the model hardly uses, whose three parts can agree by chance), and
    always for the two features the label follows, which come first, far above that noise."""
    t95 = {2: 4.303, 3: 3.182, 4: 2.776}[reports.IMPORTANCE_PARTS - 1]
    inside = []
    for seed in range(4):
        made = reports.feature_importance(model, holdout, random_state=seed).set_index("feature")
        assert made.attrs == {"rows": reports.IMPORTANCE_SAMPLE, "parts": reports.IMPORTANCE_PARTS}
        within = (made["auc_drop"] - reference).abs().reindex(made.index) <= t95 * made["stderr"] + 1e-12
        inside += within.tolist()
        assert list(made.index[:2]) == ["temp", "carrier"] and within.iloc[:2].all()
        assert (made["auc_drop"].iloc[:2] > 4 * made["stderr"].iloc[:2]).all()
    assert np.mean(inside) >= 0.9, f"{sum(inside)} of {len(inside)} inside"


def test_the_importance_cuts_disjoint_parts_that_each_hold_both_classes(model, holdout):
    """A class too rare for three parts gives fewer parts, and one part states no noise."""
    few = pd.concat([holdout[holdout[LABEL] == 0].head(500), holdout[holdout[LABEL] == 1].head(2)])
    made = reports.feature_importance(model, few)
    assert made.attrs == {"rows": 502, "parts": 2} and made["stderr"].notna().all()
    one = pd.concat([holdout[holdout[LABEL] == 0].head(500), holdout[holdout[LABEL] == 1].head(1)])
    made = reports.feature_importance(model, one)
    assert made.attrs["parts"] == 1 and made["stderr"].isna().all()
    from tasks.evaluation_deck import importance_noise_html

    assert "its noise is not measured" in importance_noise_html(made)


EVALUATION_SECTIONS = [
    "<h3>Holdout: 12,000 rows from 2013-07-01</h3>",
    "roc_auc",
    "<img",  # ROC, calibration, confusion matrix
    "<h3>What the model relies on</h3>",
    "Mean |contribution| says how much a feature moves the model's predictions",
    "permutation importance says how much ROC AUC the model loses",
    "Permutation importance: 3,000 holdout rows in 3 disjoint samples, each feature shuffled once",
    "its error bar the standard error between the samples",
    "<img",  # mean |contribution| beside permutation importance
    "<h4>Contributions by value, top features</h4>",
    "<img",  # contribution against value, top features
    # then a spread table per top feature (below), then the slices
]


def test_the_evaluation_deck_shows_every_section_in_order(model, holdout):
    from core import explanations
    from tasks.evaluation_deck import SPREAD_FEATURES, render_evaluation_deck

    scores = model.predict_proba(holdout[FEATURES])[:, 1]
    metrics = evaluation.evaluate(holdout[LABEL].to_numpy(), scores, 0.5)
    slices = evaluation.slice_table(holdout, scores)
    importance = reports.feature_importance(model, holdout)
    html = rendered(lambda: render_evaluation_deck(model, holdout, scores, 0.5, metrics, slices, importance))
    sample = holdout.sample(explanations.GLOBAL_SAMPLE, random_state=0)
    top = explanations.mean_abs_contribution(explanations.contributions_frame(model, sample)[0])
    spreads = [f"<h4>{feature}</h4>" for feature in top["feature"].head(SPREAD_FEATURES)]
    assert len(spreads) == 4
    slice_rows = [f"<td>{value}</td>" for value in slices["value"]]
    assert in_order(html, [*EVALUATION_SECTIONS, *spreads, "<h3>Slices</h3>", *slice_rows]) == []
    assert html.count("<img") == 3
    assert f"{importance.iloc[0]['feature']} {importance.iloc[0]['auc_drop']:.4f} ± " in html


def test_the_data_deck_shows_every_section_in_order():
    from tasks.data_deck import HISTOGRAMS, render_data_deck

    table = feature_table(3000, seed=4)
    rows = row_account(NOTHING_REFUSED, len(table), table, LABEL)
    html = rendered(lambda: render_data_deck(table, rows))
    first, last = table[TIMESTAMP].min(), table[TIMESTAMP].max()
    sections = [
        f"<h3>Feature table</h3><p>3,000 rows from {first:%Y-%m-%d} to {last:%Y-%m-%d}",
        "<h3>Rows</h3>",
        "kept, truth known",
        "<img",  # the label's rate by month and by each slice
        "<img",  # histograms of the first numeric features
        "<h3>Profile</h3>",
        *[f"<td>{feature}</td>" for feature in FEATURES],
    ]
    assert in_order(html, sections) == []
    assert html.count("<img") == 2
    assert len(NUMERIC_FEATURES) >= HISTOGRAMS
    assert re.search(r"rate of \w+ 0\.\d{3}", html)
