"""Exact per-feature contributions of a fitted HistGradientBoostingClassifier (path-dependent
TreeSHAP) in numpy, with nothing but numpy imported: the pipeline and the serving environments
both run it.

For one row x, the model's raw score (log-odds of the positive class) splits exactly into

    raw(x) = base_value + sum_i contribution_i(x)

where `base_value` is the raw score expected over the training data (each tree's leaves weighted
by the training rows that reached them) and `contribution_i` is feature i's Shapley value in
TreeSHAP's path-dependent game (Lundberg et al., 2020): for a tree leaf l with value v_l, whose
root-to-leaf path tests the set U_l of features (d_l of them), feature i in U_l receives

    v_l * (o_i - z_i) * integral_0^1 prod_{j in U_l, j != i} (z_j + t * (o_j - z_j)) dt

with o_j = 1 when x follows every split on feature j along the path (else 0) and z_j the share of
training rows that followed them. The integral is the Beta-function form of the Shapley weights
(|S|!(d-|S|-1)!/d! = integral t^|S| (1-t)^(d-|S|-1) dt, as in Linear TreeSHAP, Yu et al., 2022);
its integrand is a polynomial of degree d_l - 1, so Gauss-Legendre quadrature with ceil(d/2)
points computes it exactly. The paths of one length sit side by side in arrays, so explaining
many rows is a handful of numpy operations per path length, not a Python loop over trees or rows.

Only threshold splits are supported: the model must not use native categorical splits (its
categories enter as ordinal codes, see core/model.py). A model that does is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Explanation:
    """Contributions for each explained row, in log-odds, one column per model feature."""

    base_value: float
    contributions: np.ndarray  # (rows, features)
    feature_names: tuple[str, ...]

    @property
    def raw(self) -> np.ndarray:
        """base value + contributions: the model's raw score (log-odds) of each row."""
        return self.base_value + self.contributions.sum(axis=1)

    @property
    def probability(self) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.raw))


class TreeExplainer:
    """Flat path tables of every leaf of a fitted binary HistGradientBoostingClassifier.

    Built once per model (well under a second for 400 trees); `explain_encoded` then explains
    rows of the classifier's input matrix (after the Pipeline's preprocessing).
    """

    def __init__(self, classifier: Any, feature_names: Sequence[str], transform: Any = None) -> None:
        trees = _trees(classifier)
        self._transform = transform
        self.feature_names = tuple(str(name) for name in feature_names)
        n_features = len(self.feature_names)
        if int(classifier.n_features_in_) != n_features:
            raise ValueError(
                f"the classifier takes {classifier.n_features_in_} features, {n_features} names given"
            )
        baseline = float(np.asarray(classifier._baseline_prediction).ravel()[0])
        self.base_value, paths = _leaf_paths(trees, baseline)
        self.n_leaves = sum(int(nodes["is_leaf"].sum()) for nodes in trees)
        self.max_path_features = max((len(path.features) for path in paths), default=0)
        self._n_features = n_features
        # One block per path length: its paths side by side, so every step is a numpy operation
        # over thousands of paths at once.
        by_length: dict[int, list[_Path]] = {}
        for path in paths:
            by_length.setdefault(len(path.features), []).append(path)
        self._blocks = [_Block(group, n_features) for _, group in sorted(by_length.items())]

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> TreeExplainer:
        """The explainer of a fitted scikit-learn Pipeline whose last step is the classifier and
        whose other steps map each input feature to one column (names from
        `get_feature_names_out`)."""
        names = pipeline[:-1].get_feature_names_out() if len(pipeline) > 1 else None
        if names is None:
            names = [f"x{i}" for i in range(int(pipeline[-1].n_features_in_))]
        return cls(pipeline[-1], list(names), pipeline[:-1] if len(pipeline) > 1 else None)

    def explain_encoded(self, encoded: np.ndarray) -> Explanation:
        """Contributions of each row of the classifier's input matrix."""
        matrix = np.asarray(encoded, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != self._n_features:
            raise ValueError(f"expected a (rows, {self._n_features}) matrix, got shape {matrix.shape}")
        out = np.zeros(matrix.shape, dtype=np.float64)
        for block in self._blocks:
            # rows a pass: as many as keep the block's arrays near PASS_ELEMENTS entries
            step = max(1, PASS_ELEMENTS // block.size)
            for first in range(0, matrix.shape[0], step):
                rows = slice(first, first + step)
                out[rows, block.present] += block.contributions(matrix[rows])
        return Explanation(self.base_value, out, self.feature_names)

    def explain(self, frame: Any) -> Explanation:
        """Contributions of each row of a DataFrame of the Pipeline's input features (an
        explainer made by `from_pipeline` applies the Pipeline's preprocessing first)."""
        return self.explain_encoded(frame if self._transform is None else self._transform.transform(frame))


# Entries (rows x path features x paths) of a block in one pass: blocks of a few short paths
# take many rows at once, the large ones a row at a time, whose arrays stay in a core's cache
# (larger passes were slower on the 400-tree model of docs/performance.md).
PASS_ELEMENTS = 1 << 12


class _Block:
    """The n paths that test d features each, as (d, n) arrays (entry k of every path in row k):
    each entry's feature, the interval [low, high] of values that follow every split on it along
    the path, whether a missing value follows them all, and the share z of training rows that
    did; the leaf values; ceil(d / 2) Gauss-Legendre points on [0, 1] (exact for the integrand,
    a polynomial of degree d - 1)."""

    def __init__(self, paths: list[_Path], n_features: int) -> None:
        self.feature = np.array([path.features for path in paths], dtype=np.intp).T
        self.low = np.array([path.low for path in paths], dtype=np.float64).T
        self.high = np.array([path.high for path in paths], dtype=np.float64).T
        self.missing_follows = np.array([path.missing_follows for path in paths], dtype=bool).T
        self.zero = np.array([path.zeros for path in paths], dtype=np.float64).T
        self.value = np.array([path.value for path in paths], dtype=np.float64)
        points, weights = np.polynomial.legendre.leggauss(-(-self.feature.shape[0] // 2))
        self.t = (points + 1.0) / 2.0
        self.w = weights / 2.0
        self.size = self.feature.size
        # the block's entries in feature order, cut where the feature changes: the sum of each
        # feature's entries is one reduceat
        flat = self.feature.ravel()
        self.order = np.argsort(flat, kind="stable")
        self.present, self.cuts = np.unique(flat[self.order], return_index=True)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """(rows, present features): the block's share of each row's contributions."""
        values = matrix[:, self.feature]  # (rows, d, n)
        # x follows every split on the feature: inside the interval, or missing where the
        # splits send missing values (a comparison with NaN is False, so the interval refuses it)
        one = np.where(
            np.isnan(values), self.missing_follows, (values >= self.low) & (values <= self.high)
        ).astype(np.float64)
        spread = one - self.zero  # o - z
        integral = np.zeros_like(spread)
        for t, w in zip(self.t, self.w, strict=True):
            # factor[r, k, p] = z + t (o - z); its product over the path; each entry's without it
            factor = self.zero + t * spread
            product = factor[:, 0].copy()
            for entry in range(1, factor.shape[1]):
                product *= factor[:, entry]
            product *= w
            integral += product[:, None] / factor
        phi = (self.value * spread * integral).reshape(len(matrix), -1)
        return np.add.reduceat(phi[:, self.order], self.cuts, axis=1)


class _Path:
    """One root-to-leaf path: its leaf value, the share of training rows that took it, and its
    features (a feature tested twice is one entry: its shares multiply, x must follow both, so
    its values must lie in the intersection of the splits' intervals)."""

    def __init__(self, value: float) -> None:
        self.value = value
        self.share = 1.0
        self.features: list[int] = []
        self.zeros: list[float] = []
        self.low: list[float] = []
        self.high: list[float] = []
        self.missing_follows: list[bool] = []

    def add(self, tree: _Tree, parent: int, went_left: bool) -> None:
        left, right = tree.left[parent], tree.right[parent]
        ratio = tree.count[left if went_left else right] / (tree.count[left] + tree.count[right])
        feature = tree.feature[parent]
        if feature in self.features:
            slot = self.features.index(feature)
        else:
            slot = len(self.features)
            self.features.append(feature)
            self.zeros.append(1.0)
            self.low.append(-np.inf)
            self.high.append(np.inf)
            self.missing_follows.append(True)
        self.zeros[slot] *= ratio
        self.share *= ratio
        # the tree's own rule: a value <= threshold goes left, a missing one where the split says
        threshold = tree.threshold[parent]
        if went_left:
            self.high[slot] = min(self.high[slot], threshold)
        else:
            low = _above(threshold)
            self.low[slot] = low if np.isnan(low) else max(self.low[slot], low)
        self.missing_follows[slot] = self.missing_follows[slot] and tree.missing_left[parent] == went_left


def _above(threshold: float) -> float:
    """The least float greater than `threshold`: `value > threshold` as `value >= _above(...)`,
    a closed bound that -inf passes when nothing bounds it. Nothing passes `> inf` (a split that
    sends every number left, missing values right): NaN, which no comparison passes."""
    return float(np.nextafter(threshold, np.inf)) if threshold < np.inf else np.nan


class _Tree:
    """One tree's node fields as Python lists (a structured numpy record per access is slow)."""

    def __init__(self, nodes: np.ndarray) -> None:
        self.value: list[float] = nodes["value"].tolist()
        self.count: list[float] = nodes["count"].astype(np.float64).tolist()
        self.feature: list[int] = nodes["feature_idx"].tolist()
        self.threshold: list[float] = nodes["num_threshold"].tolist()
        self.missing_left: list[bool] = nodes["missing_go_to_left"].astype(bool).tolist()
        self.left: list[int] = nodes["left"].tolist()
        self.right: list[int] = nodes["right"].tolist()
        self.is_leaf: list[bool] = nodes["is_leaf"].astype(bool).tolist()

    def leaf_paths(self):
        """(leaf index, [(ancestor index, went left), ...]) for every leaf, root first."""
        stack: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
        while stack:
            index, path = stack.pop()
            if self.is_leaf[index]:
                yield index, path
                continue
            stack.append((self.right[index], [*path, (index, False)]))
            stack.append((self.left[index], [*path, (index, True)]))


def _leaf_paths(trees: list[np.ndarray], base: float) -> tuple[float, list[_Path]]:
    """(base value, paths): `base` plus every leaf's value weighted by the share of training rows
    that reached it, and the paths of the leaves whose path tests at least one feature."""
    paths: list[_Path] = []
    for nodes in trees:
        tree = _Tree(nodes)
        for leaf, steps in tree.leaf_paths():
            path = _Path(tree.value[leaf])
            for parent, went_left in steps:
                path.add(tree, parent, went_left)
            base += path.value * path.share
            if path.features:
                paths.append(path)
    return base, paths


def _trees(classifier: Any) -> list[np.ndarray]:
    """The node arrays of every tree; refuses what the engine cannot explain exactly."""
    predictors = getattr(classifier, "_predictors", None)
    if not predictors:
        raise ValueError("the classifier is not a fitted HistGradientBoostingClassifier")
    if any(len(iteration) != 1 for iteration in predictors):
        raise ValueError("only binary classifiers (one tree per iteration) are supported")
    trees = [iteration[0].nodes for iteration in predictors]
    if any(bool(nodes["is_categorical"].any()) for nodes in trees):
        raise ValueError(
            "the model uses native categorical splits: exact contributions are computed for "
            "threshold splits only (encode categories as ordinal codes treated as numbers)"
        )
    return trees


def ranked_contributions(
    explained: Explanation, row: int, values: Sequence[object] | None = None
) -> list[dict[str, object]]:
    """One row's contributions as {feature, value, contribution}, largest |contribution| first
    (ties in feature order); `values` are the row's feature values as the caller knows them."""
    contributions = explained.contributions[row]
    order = sorted(range(len(contributions)), key=lambda index: -abs(contributions[index]))
    return [
        {
            "feature": explained.feature_names[index],
            "value": None if values is None else values[index],
            "contribution": float(contributions[index]),
        }
        for index in order
    ]
