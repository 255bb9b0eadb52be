"""The compiled form of the trees: treelite, written at training time, checked at registration.

scikit-learn's HistGradientBoosting `predict_proba` walks its trees in a Python loop, one Cython
call per tree: for one row that per-call overhead is almost all of the time. treelite imports the
fitted trees (`treelite.sklearn.import_model`) and scores a row in one native call. Its
checkpoint (`Model.serialize`) is a plain binary format, not pickle, and the bundle's
metadata.json carries its sha256 like that of model.skops.

A compiled form is only trusted after `check_parity`: on the whole holdout, encoded the way the
server encodes requests, it must reproduce the Pipeline's probabilities within `PARITY_TOLERANCE`,
and so must the vectorised path. Registration refuses a bundle that fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contract.bundle import Bundle, CompiledForm

PARITY_TOLERANCE = 1e-9
LIBRARY = "treelite"


class CompiledParityError(RuntimeError):
    """The compiled trees (or the encoding) do not reproduce scikit-learn's probabilities."""


@dataclass(frozen=True)
class Parity:
    compiled: CompiledForm  # the form that was checked
    rows: int
    compiled_max_abs_diff: float
    vectorised_max_abs_diff: float


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


def load_compiled(path: str | Path) -> Any:
    import treelite

    return treelite.Model.deserialize(str(path))


def predict_compiled(model: Any, matrix: np.ndarray) -> np.ndarray:
    """Probability of the positive class per row, one thread (a serving worker owns one core)."""
    import treelite.gtil

    out = treelite.gtil.predict(model, matrix, nthread=1)
    return out.reshape(len(matrix), -1)[:, -1]


def check_parity(bundle: Bundle, frame: Any, tolerance: float = PARITY_TOLERANCE) -> Parity:
    """Score `frame` (a DataFrame holding the schema's features) three ways: the Pipeline as
    trained (pandas, ColumnTransformer, predict_proba), the predictor's vectorised path and its
    compiled path on the predictor's own encoding. Raise unless all agree within `tolerance`."""
    from scoring.predictor import Predictor

    compiled_form = bundle.metadata.compiled
    if compiled_form is None:
        raise CompiledParityError(f"bundle {bundle.path} has no compiled trees to check")
    predictor = Predictor(bundle)
    names = bundle.schema.names
    expected = bundle.model.predict_proba(frame[names])[:, 1]
    matrix = predictor.encode({name: frame[name].to_numpy() for name in names})
    compiled = predictor.compiled_scores(matrix)
    vectorised = predictor.vectorised_scores(matrix)
    parity = Parity(
        compiled=compiled_form,
        rows=len(expected),
        compiled_max_abs_diff=float(np.max(np.abs(compiled - expected), initial=0.0)),
        vectorised_max_abs_diff=float(np.max(np.abs(vectorised - expected), initial=0.0)),
    )
    for path, diff in (
        ("compiled", parity.compiled_max_abs_diff),
        ("vectorised", parity.vectorised_max_abs_diff),
    ):
        if not diff <= tolerance:  # NaN fails too
            raise CompiledParityError(
                f"the {path} path differs from the Pipeline's probabilities by up to {diff:.3g} on "
                f"{parity.rows} holdout rows (tolerance {tolerance:g}): refusing to register "
                f"{bundle.path}"
            )
    return parity
