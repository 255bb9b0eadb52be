"""PSI and binned KS against a reference built the way training builds it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from contract.bundle import Reference
from core import drift
from core.bundle import _categorical_reference, _numeric_reference


@pytest.fixture
def numbers() -> pd.Series:
    return pd.Series(np.random.default_rng(0).normal(50.0, 10.0, 20_000))


def test_same_distribution_has_near_zero_psi(numbers):
    entry = _numeric_reference(numbers)
    fresh = pd.Series(np.random.default_rng(1).normal(50.0, 10.0, 20_000))
    result = drift.feature_drift(entry, fresh)
    assert result["psi"] < 0.01
    assert result["ks"] < 0.02


def test_shifted_distribution_crosses_the_significance_line(numbers):
    entry = _numeric_reference(numbers)
    shifted = numbers + 10.0  # one standard deviation
    result = drift.feature_drift(entry, shifted)
    assert result["psi"] > 0.2
    # A one-sigma shift moves the CDF by about 0.38 at the median.
    assert 0.3 < result["ks"] < 0.45
    assert result["mean"] == pytest.approx(60.0, abs=0.5)


def test_missing_values_count_as_their_own_bin(numbers):
    entry = _numeric_reference(numbers)
    holed = numbers.copy()
    holed[: len(holed) // 2] = np.nan
    result = drift.feature_drift(entry, holed)
    assert result["missing_rate"] == pytest.approx(0.5)
    assert result["psi"] > 1.0


def test_unseen_category_is_drift_not_ignored():
    reference = _categorical_reference(pd.Series(["UA"] * 50 + ["AA"] * 50))
    assert drift.feature_drift(reference, pd.Series(["UA"] * 50 + ["AA"] * 50))["psi"] < 1e-6
    unseen = drift.feature_drift(reference, pd.Series(["UA"] * 50 + ["ZZ"] * 50))
    assert unseen["psi"] > 1.0
    assert unseen["ks"] == pytest.approx(0.5)  # total variation for categories
    assert math.isnan(unseen["mean"])


def test_table_is_worst_first_and_names_a_missing_feature(numbers):
    reference = Reference(
        n_rows=len(numbers),
        label_rate=0.2,
        features={"a": _numeric_reference(numbers), "b": _numeric_reference(numbers)},
        score=_numeric_reference(pd.Series(np.linspace(0, 1, 1000))),
    )
    current = pd.DataFrame({"a": numbers, "b": numbers + 20})
    table = drift.drift_table(reference, current, pd.Series(np.linspace(0, 1, 500)))
    assert table.iloc[0]["feature"] == "b"
    assert table["psi"].is_monotonic_decreasing
    with pytest.raises(ValueError, match=r"missing feature column\(s\) \['b'\]"):
        drift.drift_table(reference, current[["a"]])
    with pytest.raises(ValueError, match="no rows to monitor"):
        drift.drift_table(reference, current.iloc[:0])


def test_drift_weights_are_the_permutation_importance_clipped_and_normalised():
    from core.drift import importance_weights
    from usecases.flights.schemas import FEATURES

    first, second, third = FEATURES[:3]
    importance = pd.DataFrame(
        {"feature": [first, second, third], "auc_drop": [0.03, 0.01, -0.002], "std": [0.001] * 3}
    )
    weights = importance_weights(importance)
    assert set(weights) == set(FEATURES)
    assert (weights[first], weights[second], weights[third]) == (0.75, 0.25, 0.0)
    assert sum(weights.values()) == pytest.approx(1.0)
