"""The compiled form of the trees: treelite, written at training time, checked at registration.

scikit-learn's HistGradientBoosting `predict_proba` walks its trees in a Python loop, one Cython
call per tree: for one row that per-call overhead is almost all of the time. treelite imports the
fitted trees (`treelite.sklearn.import_model`) and scores a row in one native call. Its
checkpoint (`Model.serialize`) is a plain binary format, not pickle, and the bundle's
metadata.json carries its sha256 like that of model.skops.

A compiled form is only trusted after `scoring.parity.check_parity` has compared it with the
Pipeline on the whole holdout; registration refuses a bundle that fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

LIBRARY = "treelite"


def library_version() -> str:
    import treelite

    return str(treelite.__version__)


def compile_trees(classifier: Any) -> Any:
    """A treelite model of a fitted HistGradientBoostingClassifier (binary)."""
    import treelite.sklearn

    # treelite casts each split's category list to int64; empty lists warn about NaN casts
    with np.errstate(invalid="ignore"):
        return treelite.sklearn.import_model(classifier)


def write_compiled(classifier: Any, path: str | Path) -> Path:
    compile_trees(classifier).serialize(str(path))
    return Path(path)


def load_compiled(path: str | Path, nthread: int = 1) -> CompiledTrees:
    import treelite

    return CompiledTrees(treelite.Model.deserialize(str(path)), nthread)


class CompiledTrees:
    """A treelite model and what one call of its native predictor needs, resolved once.

    `treelite.gtil.predict` builds a configuration object (JSON parsed in C++) and asks the model
    for its types on every call, a large share of a one-row call (docs/performance.md). Here those are made
    once and each call is one `TreeliteGTILPredict` on the matrix and a fresh output array (one
    value per row for a binary model). treelite 4.8.1 (pinned in both environments) exports only
    `predict`, `predict_leaf` and `predict_per_tree` from `treelite.gtil`, each building its
    configuration per call: its `GTILConfig`, `_LIB` and `_check_call` are used here and nowhere
    else, pinned by tests/unit/serving/test_predictor.py (the same numbers as `gtil.predict`), and
    registration's parity check runs through this very object."""

    def __init__(self, model: Any, nthread: int = 1):
        import ctypes

        import treelite.gtil.gtil as gtil
        from treelite.core import _LIB

        if model.input_type != "float64" or model.output_type != "float64":
            raise ValueError(
                f"compiled trees take and give float64, got {model.input_type}/{model.output_type}"
            )
        self.model = model
        self.n_features = model.num_feature  # a C query each time it is read: read once
        # a serving worker owns one core; registration's parity check may use every core it has
        self._config = gtil.GTILConfig(nthread=nthread, predict_type="default")
        self._predict = _LIB.TreeliteGTILPredict
        self._check = gtil._check_call  # noqa: SLF001 - treelite's own error check
        self._void_p, self._uint64 = ctypes.c_void_p, ctypes.c_uint64
        self._input_type = ctypes.c_char_p(b"float64")
        one_row = gtil.predict(model, np.zeros((1, self.n_features)), nthread=1)
        if one_row.size != 1:
            raise ValueError(f"compiled trees give {one_row.size} values per row, expected 1 (binary)")

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Probability of the positive class per row of a float64 (rows x features) matrix."""
        data = np.ascontiguousarray(matrix, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.n_features:
            raise ValueError(f"expected rows x {self.n_features} features, got shape {data.shape}")
        out = np.empty(len(data), dtype=np.float64)
        self._check(
            self._predict(
                self.model.handle,
                self._void_p(data.ctypes.data),
                self._input_type,
                self._uint64(len(data)),
                self._void_p(out.ctypes.data),
                self._config.handle,
            )
        )
        return out
