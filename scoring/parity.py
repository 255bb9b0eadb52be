"""Parity of the served scoring paths with the Pipeline as trained, checked at registration.

On the whole holdout, encoded the way the server encodes requests, the compiled trees and the
classifier's vectorised path must each reproduce the Pipeline's probabilities within
`PARITY_TOLERANCE`. Its own module: the predictor and the compiled trees are what it compares,
so it imports both and neither imports it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from contract.bundle import Bundle, CompiledForm
from scoring.compiled import load_compiled
from scoring.predictor import Predictor

PARITY_TOLERANCE = 1e-9


class CompiledParityError(RuntimeError):
    """The compiled trees (or the encoding) do not reproduce scikit-learn's probabilities."""


@dataclass(frozen=True)
class Parity:
    compiled: CompiledForm  # the form that was checked
    rows: int
    compiled_max_abs_diff: float
    vectorised_max_abs_diff: float


def check_parity(bundle: Bundle, frame: Any, tolerance: float = PARITY_TOLERANCE) -> Parity:
    """Score `frame` (a DataFrame holding the schema's features) three ways: the Pipeline as
    trained (pandas, ColumnTransformer, predict_proba), the predictor's vectorised path and its
    compiled path on the predictor's own encoding. Raise unless all agree within `tolerance`.

    The vectorised path is the Pipeline's own classifier on the predictor's matrix: when that
    matrix is the ColumnTransformer's, value for value, its scores are the Pipeline's and the
    trees are walked twice (Pipeline, compiled), not three times."""
    compiled_form, compiled_path = bundle.metadata.compiled, bundle.compiled_path
    if compiled_form is None or compiled_path is None:
        raise CompiledParityError(f"bundle {bundle.path} has no compiled trees to check")
    # the whole holdout through the compiled trees: on every core this process may use
    predictor = Predictor(bundle, compiled=load_compiled(compiled_path, len(os.sched_getaffinity(0))))
    names = bundle.schema.names
    matrix = predictor.encode({name: frame[name].to_numpy() for name in names})
    model = bundle.model
    if hasattr(model, "steps"):  # the Pipeline's predict_proba, step by step
        encoded = np.asarray(model[:-1].transform(frame[names]), dtype=np.float64)
        expected = model[-1].predict_proba(encoded)[:, 1]
        same_matrix = encoded.shape == matrix.shape and np.array_equal(encoded, matrix, equal_nan=True)
    else:
        expected, same_matrix = model.predict_proba(frame[names])[:, 1], False
    compiled = predictor.compiled_scores(matrix)
    vectorised = expected if same_matrix else predictor.vectorised_scores(matrix)
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
