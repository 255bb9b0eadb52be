"""The exact-contribution engine on small models fitted here: Shapley values by enumeration agree,
contributions add up to the raw score, and a model it cannot explain exactly is refused."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from explain import TreeExplainer, ranked_contributions

FEATURES = 4


def _data(n: int = 3000):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, FEATURES))
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values take the trees' missing branch
    signal = np.nan_to_num(x[:, 0]) + x[:, 1] * np.nan_to_num(x[:, 2]) + rng.normal(size=n)
    return x, (signal > 0).astype(int)


@pytest.fixture(scope="module")
def fitted():
    x, y = _data()
    model = HistGradientBoostingClassifier(
        max_iter=25, max_leaf_nodes=15, early_stopping=False, random_state=0
    ).fit(x, y)
    return model, x


def _expected(nodes, x, known: set[int], index: int = 0) -> float:
    """E[tree(x) | features in `known`], the other features integrated out by training counts."""
    node = nodes[index]
    if node["is_leaf"]:
        return float(node["value"])
    left, right = int(node["left"]), int(node["right"])
    if int(node["feature_idx"]) in known:
        value = x[node["feature_idx"]]
        goes_left = node["missing_go_to_left"] if np.isnan(value) else value <= node["num_threshold"]
        return _expected(nodes, x, known, left if goes_left else right)
    n_left, n_right = float(nodes["count"][left]), float(nodes["count"][right])
    return (n_left * _expected(nodes, x, known, left) + n_right * _expected(nodes, x, known, right)) / (
        n_left + n_right
    )


def _shapley_by_enumeration(model, x) -> np.ndarray:
    phi = np.zeros(FEATURES)
    for (tree,) in model._predictors:
        for i in range(FEATURES):
            others = [j for j in range(FEATURES) if j != i]
            for size in range(FEATURES):
                weight = math.factorial(size) * math.factorial(FEATURES - size - 1) / math.factorial(FEATURES)
                for subset in itertools.combinations(others, size):
                    with_i = _expected(tree.nodes, x, {*subset, i})
                    phi[i] += weight * (with_i - _expected(tree.nodes, x, set(subset)))
    return phi


def test_contributions_are_the_shapley_values_of_the_path_dependent_game(fitted):
    model, x = fitted
    explained = TreeExplainer(model, [f"f{i}" for i in range(FEATURES)]).explain_encoded(x[:6])
    by_enumeration = np.array([_shapley_by_enumeration(model, row) for row in x[:6]])
    np.testing.assert_allclose(explained.contributions, by_enumeration, rtol=0, atol=1e-12)


def test_base_value_plus_contributions_is_the_raw_score(fitted):
    model, x = fitted
    explainer = TreeExplainer(model, [f"f{i}" for i in range(FEATURES)])
    explained = explainer.explain_encoded(x[:500])
    gap = np.abs(
        explained.base_value + explained.contributions.sum(axis=1) - model.decision_function(x[:500])
    )
    assert gap.max() < 1e-9
    np.testing.assert_allclose(explained.probability, model.predict_proba(x[:500])[:, 1], atol=1e-12)


def test_base_value_is_the_training_average_of_the_raw_score(fitted):
    """Path-dependent TreeSHAP's base: each tree's leaves weighted by the training rows they got,
    here the rows the trees were grown on (no early-stopping split): their mean raw score."""
    model, x = fitted
    explainer = TreeExplainer(model, [f"f{i}" for i in range(FEATURES)])
    assert explainer.base_value == pytest.approx(model.decision_function(x).mean(), abs=1e-9)


def test_a_feature_the_trees_never_split_on_contributes_nothing():
    x, y = _data(2000)
    x = np.c_[x, np.zeros(len(x))]  # constant: no split can use it
    model = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(x, y)
    explained = TreeExplainer(model, [f"f{i}" for i in range(FEATURES + 1)]).explain_encoded(x[:50])
    assert np.all(explained.contributions[:, -1] == 0.0)
    assert np.any(explained.contributions[:, 0] != 0.0)


def test_native_categorical_splits_are_refused_with_the_reason():
    rng = np.random.default_rng(3)
    x = np.c_[rng.integers(0, 6, 2000).astype(float), rng.normal(size=2000)]
    y = ((x[:, 0] % 2 == 0) ^ (x[:, 1] > 0)).astype(int)
    model = HistGradientBoostingClassifier(max_iter=10, categorical_features=[0], random_state=0).fit(x, y)
    with pytest.raises(ValueError, match="native categorical splits"):
        TreeExplainer(model, ["code", "number"])


def test_a_matrix_of_the_wrong_width_is_refused(fitted):
    model, x = fitted
    explainer = TreeExplainer(model, [f"f{i}" for i in range(FEATURES)])
    with pytest.raises(ValueError, match=r"expected a \(rows, 4\) matrix, got shape \(3, 3\)"):
        explainer.explain_encoded(x[:3, :3])


def test_ranked_contributions_are_ordered_by_size_with_the_values(fitted):
    model, x = fitted
    names = [f"f{i}" for i in range(FEATURES)]
    explained = TreeExplainer(model, names).explain_encoded(x[:2])
    values = x[1].tolist()
    ranked = ranked_contributions(explained, 1, values)
    sizes = [abs(item["contribution"]) for item in ranked]
    assert sizes == sorted(sizes, reverse=True)
    assert sorted(item["feature"] for item in ranked) == names
    for item in ranked:
        index = names.index(item["feature"])
        assert item["contribution"] == explained.contributions[1, index]
        assert item["value"] is values[index]


def test_rows_explained_together_in_many_passes_match_each_row_alone(fitted, monkeypatch):
    """Rows are explained a block of paths and a slice of rows at a time: slices of one row and
    one pass for everything give the same contributions."""
    import explain.treeshap

    model, x = fitted
    explainer = TreeExplainer(model, [f"f{i}" for i in range(FEATURES)])
    together = explainer.explain_encoded(x[:40]).contributions
    monkeypatch.setattr(explain.treeshap, "PASS_ELEMENTS", 1)  # one row a pass
    alone = np.vstack([explainer.explain_encoded(x[i : i + 1]).contributions for i in range(40)])
    sliced = explainer.explain_encoded(x[:40]).contributions
    np.testing.assert_allclose(alone, together, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(sliced, alone)


def test_infinite_values_follow_the_trees_thresholds(fitted):
    """-inf goes left at every split and +inf right, as in the trees: the contributions still add
    up to the raw score (a path's interval is closed at both ends, its lower end the float after
    the threshold)."""
    model, x = fitted
    rows = x[:8].copy()
    rows[::2, 0], rows[1::2, 1], rows[:4, 2] = -np.inf, np.inf, -np.inf
    explained = TreeExplainer(model, [f"f{i}" for i in range(FEATURES)]).explain_encoded(rows)
    np.testing.assert_allclose(explained.raw, model.decision_function(rows), rtol=0, atol=1e-9)
