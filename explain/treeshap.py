"""Exact per-feature contributions of a fitted HistGradientBoostingClassifier (path-dependent
TreeSHAP) in numpy, with nothing but numpy imported: the pipeline and the serving environments
both run it.

For one row x, the model's raw score (log-odds of a late arrival) splits exactly into

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
points computes it exactly. Every leaf of every tree is one row of flat arrays, so explaining a
row is a handful of vectorised numpy operations, not a Python loop over trees.

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

    Built once per model (about a tenth of a second for 400 trees); `explain_encoded` then
    explains rows of the classifier's input matrix (after the Pipeline's preprocessing).
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
        self._flatten(paths)

    def _flatten(self, paths: list[_Path]) -> None:
        """Every path's feature entries and split nodes as flat arrays, in groups of paths."""
        # Paths sorted by how many features they test, cut into groups that need the same number
        # of quadrature points (ceil(d / 2)): short paths do not pay for the longest one.
        paths.sort(key=lambda path: len(path.features))
        entry_feature: list[int] = []
        entry_zero: list[float] = []
        entry_value: list[float] = []
        entry_path: list[int] = []
        node_entry: list[int] = []
        node_feature: list[int] = []
        node_threshold: list[float] = []
        node_missing_left: list[bool] = []
        node_left: list[bool] = []
        self._groups: list[_Group] = []
        for number, path in enumerate(paths):
            points = -(-len(path.features) // 2)
            if not self._groups or self._groups[-1].points != points:
                self._groups.append(_Group(points, len(entry_feature)))
            first = len(entry_feature)
            entry_feature.extend(path.features)
            entry_zero.extend(path.zeros)
            entry_value.extend([path.value] * len(path.features))
            entry_path.extend([number] * len(path.features))
            node_entry.extend(first + slot for slot in path.node_slot)
            node_feature.extend(path.node_feature)
            node_threshold.extend(path.node_threshold)
            node_missing_left.extend(path.node_missing_left)
            node_left.extend(path.node_left)
        for group, following in zip(self._groups, [*self._groups[1:], None], strict=True):
            group.finish(np.asarray(entry_path), following.start if following else len(entry_feature))

        self._entry_feature = np.asarray(entry_feature, dtype=np.intp)
        self._entry_zero = np.asarray(entry_zero, dtype=np.float64)
        self._entry_value = np.asarray(entry_value, dtype=np.float64)
        self._node_entry = np.asarray(node_entry, dtype=np.intp)
        self._node_feature = np.asarray(node_feature, dtype=np.intp)
        self._node_threshold = np.asarray(node_threshold, dtype=np.float64)
        self._node_missing_left = np.asarray(node_missing_left, dtype=bool)
        self._node_left = np.asarray(node_left, dtype=bool)

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
        out = np.empty(matrix.shape, dtype=np.float64)
        for row in range(matrix.shape[0]):
            out[row] = self._explain_row(matrix[row])
        return Explanation(self.base_value, out, self.feature_names)

    def explain(self, frame: Any) -> Explanation:
        """Contributions of each row of a DataFrame of the Pipeline's input features (an
        explainer made by `from_pipeline` applies the Pipeline's preprocessing first)."""
        return self.explain_encoded(frame if self._transform is None else self._transform.transform(frame))

    def _explain_row(self, x: np.ndarray) -> np.ndarray:
        values = x[self._node_feature]
        # The tree's own rule: missing values go where the split sends them, others by threshold.
        goes_left = np.where(np.isnan(values), self._node_missing_left, values <= self._node_threshold)
        strays = np.bincount(
            self._node_entry, weights=goes_left != self._node_left, minlength=len(self._entry_zero)
        )
        one = (strays == 0).astype(np.float64)
        zero = self._entry_zero
        phi = np.empty_like(zero)
        for group in self._groups:
            part = slice(group.start, group.stop)
            z, o = zero[part], one[part]
            # factor[e, q] = z + t_q (o - z); its product over the path; each entry's without it.
            factor = z[:, None] + (o - z)[:, None] * group.t[None, :]
            product = np.multiply.reduceat(factor, group.path_start, axis=0)
            others = np.repeat(product, group.path_length, axis=0) / factor
            phi[part] = self._entry_value[part] * (o - z) * (others @ group.w)
        return np.bincount(self._entry_feature, weights=phi, minlength=self._n_features)


class _Path:
    """One root-to-leaf path: its leaf value, the share of training rows that took it, and its
    features (a feature tested twice is one entry: its shares multiply, x must follow both)."""

    def __init__(self, value: float) -> None:
        self.value = value
        self.share = 1.0
        self.features: list[int] = []
        self.zeros: list[float] = []
        self.node_slot: list[int] = []
        self.node_feature: list[int] = []
        self.node_threshold: list[float] = []
        self.node_missing_left: list[bool] = []
        self.node_left: list[bool] = []

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
        self.zeros[slot] *= ratio
        self.share *= ratio
        self.node_slot.append(slot)
        self.node_feature.append(feature)
        self.node_threshold.append(tree.threshold[parent])
        self.node_missing_left.append(tree.missing_left[parent])
        self.node_left.append(went_left)


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


class _Group:
    """Consecutive entries of paths that share a number of Gauss-Legendre points on [0, 1]
    (exact for polynomials of degree <= 2 * points - 1)."""

    def __init__(self, points: int, start: int) -> None:
        self.points = points
        self.start = start
        nodes, weights = np.polynomial.legendre.leggauss(points)
        self.t = (nodes + 1.0) / 2.0
        self.w = weights / 2.0

    def finish(self, entry_path: np.ndarray, stop: int) -> None:
        self.stop = stop
        paths = entry_path[self.start : stop]
        boundaries = np.flatnonzero(np.r_[True, paths[1:] != paths[:-1]])
        self.path_start = boundaries
        self.path_length = np.diff(np.r_[boundaries, len(paths)])


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
