"""The predictor: validate -> encode -> score -> threshold, built from a verified bundle.

No Flask, no pandas on the request path. The Seldon model class (`seldon.model`) is a thin HTTP
adapter around it, the batch task scores its partitions with it, and the serving benchmark's
in-process floor calls it: one code path everywhere.

Encoding follows the bundle contract (`contract.bundle`): the schema's features in order, a
category as its index in the feature's `categories` list, an unknown category or a missing value
as NaN, which is what the Pipeline's OrdinalEncoder does. Scoring then skips the Pipeline's
ColumnTransformer: up to `compiled_max_rows` rows go through the compiled trees (treelite), more
rows through the fitted classifier's own vectorised `predict_proba`. Registration proves both
agree with the whole Pipeline to 1e-9 (`scoring.parity.check_parity`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from contract.bundle import CATEGORY, Bundle
from operational.store import OnlineStore
from scoring.online import Joined, OnlineJoin
from scoring.validation import Checked, RequestSchema

# Rows up to which the compiled trees beat scikit-learn's vectorised predict_proba. Picked from
# `make bench-serving`'s crossover measurement (docs/performance.md).
COMPILED_MAX_ROWS = 64
DEFAULT_MAX_ROWS = 10_000
_NAN = math.nan


@dataclass(frozen=True)
class Prediction:
    """A scored request: one probability and one 0/1 flag per row, and what monitoring counts."""

    probability: np.ndarray
    predicted: np.ndarray  # int64, 1 when probability >= threshold (the bundle's output.predicted)
    unknown_categories: dict[str, int]
    n_rows: int
    online: Joined | None = None  # what the online store gave (None: the model reads none)


class Predictor:
    """Everything one bundle needs to answer requests, built once per bundle (per swap)."""

    def __init__(
        self,
        bundle: Bundle,
        max_rows: int = DEFAULT_MAX_ROWS,
        compiled_max_rows: int = COMPILED_MAX_ROWS,
        compiled: Any = None,
        online_store: OnlineStore | None = None,
    ):
        self.bundle = bundle
        # A model that reads online features joins them to each checked request; with no store
        # (batch scores a table that has them; an in-process caller may have none) a request
        # gets them missing.
        spec = bundle.schema.online_store
        self.online = OnlineJoin(spec, online_store) if spec is not None else None
        feature_names = set(bundle.schema.names)
        # where each entity's values are in a checked request: a feature's column, else its key
        self._entities = [(e.name, e.name in feature_names) for e in spec.entities] if spec else []
        self._time = spec.time if spec else ""
        self.schema = bundle.schema
        self.output = bundle.schema.output
        self.output_names = list(self.output.names)  # the answer's column names, built once
        self.threshold = bundle.schema.threshold
        self.request_schema = RequestSchema(bundle.schema, max_rows)
        self.names = bundle.schema.names
        self._kinds = [(spec.name, spec.kind == CATEGORY) for spec in bundle.schema.features]
        self._codes = {
            spec.name: {value: float(code) for code, value in enumerate(spec.categories or ())}
            for spec in bundle.schema.features
            if spec.kind == CATEGORY
        }
        model = bundle.model
        # the Pipeline's last step sees the encoded matrix; the encoding above replaces the rest
        self.classifier = model[-1] if hasattr(model, "steps") else model
        if compiled is None and bundle.compiled_path is not None:
            from scoring.compiled import load_compiled

            compiled = load_compiled(bundle.compiled_path)
        self.compiled = compiled
        self.compiled_max_rows = compiled_max_rows if compiled is not None else 0

    @property
    def version(self) -> str:
        return self.bundle.version

    @property
    def name(self) -> str:
        return self.bundle.metadata.name

    # ---- the four steps ---------------------------------------------------------------------
    def check(self, body: object) -> Checked:
        """Validate a request body (raises `RequestError` naming the field and the rule), then,
        for a model with an online store, join each row's online features as of its t."""
        return self.join(self.request_schema.check(body))

    def join(self, checked: Checked) -> Checked:
        """`checked` with each row's online features from the store (itself when the model reads
        none)."""
        if self.online is None:
            return checked
        columns, keys = checked.columns, checked.keys
        entities = [columns[name] if is_feature else keys[name] for name, is_feature in self._entities]
        joined = self.online.join(entities, keys[self._time])
        checked.columns.update(joined.columns)
        return replace(checked, online=joined)

    def encode(self, columns: Mapping[str, Sequence | np.ndarray]) -> np.ndarray:
        """The numeric row matrix the trees see (n_rows x features, float64): categories as
        codes, unknown or missing as NaN. Takes validated columns or a DataFrame's columns;
        an explainer that needs the model's inputs reuses exactly this."""
        first = columns[self.names[0]]
        n_rows = len(first)
        if n_rows == 1:  # the common online case: one small list, one array
            row = []
            for name, is_category in self._kinds:
                value = columns[name][0]
                if is_category:
                    row.append(self._codes[name].get(value, _NAN))
                else:
                    row.append(_NAN if value is None else value)
            return np.array([row], dtype=np.float64)
        matrix = np.empty((n_rows, len(self._kinds)), dtype=np.float64)
        for index, (name, is_category) in enumerate(self._kinds):
            values = columns[name]
            if is_category:
                codes = self._codes[name]
                matrix[:, index] = [codes.get(value, _NAN) for value in values]
            else:
                matrix[:, index] = np.asarray(values, dtype=np.float64)
        return matrix

    def score_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Probability of the positive class per row: compiled trees for small requests, the
        classifier's vectorised path for large ones (the same numbers to 1e-9)."""
        if len(matrix) <= self.compiled_max_rows:
            return self.compiled_scores(matrix)
        return self.vectorised_scores(matrix)

    def threshold_flags(self, scores: np.ndarray) -> np.ndarray:
        return (scores >= self.threshold).astype(np.int64)

    # ---- the two scoring paths, public so parity can be tested ------------------------------
    def compiled_scores(self, matrix: np.ndarray) -> np.ndarray:
        return self.compiled.predict(matrix)

    def vectorised_scores(self, matrix: np.ndarray) -> np.ndarray:
        return self.classifier.predict_proba(matrix)[:, 1]

    # ---- compositions -----------------------------------------------------------------------
    def score(self, columns: Mapping[str, Sequence | np.ndarray]) -> np.ndarray:
        """Encode then score already valid columns (a DataFrame of features works too)."""
        if len(columns[self.names[0]]) == 0:
            return np.empty(0, dtype=np.float64)
        return self.score_matrix(self.encode(columns))

    def score_frame(self, frame: Any) -> np.ndarray:
        """Score a DataFrame holding the schema's features (the batch task's call)."""
        return self.score({name: frame[name].to_numpy() for name in self.names})

    def predict(self, body: object) -> Prediction:
        """The whole request path: validate -> encode -> score -> threshold."""
        return self.predict_checked(self.check(body))

    def predict_checked(self, checked: Checked) -> Prediction:
        """Score a request `check` accepted (columns joined to it, e.g. looked up, are scored too)."""
        scores = self.score(checked.columns)
        flags = self.threshold_flags(scores)
        return Prediction(scores, flags, checked.unknown_categories, checked.n_rows, checked.online)

    def warm_up(self) -> None:
        """Score one valid row on every path, so the first real request pays no lazy init."""
        row: dict[str, list] = {}
        for spec in self.schema.features:
            if spec.kind == CATEGORY:
                row[spec.name] = [(spec.categories or ("?",))[0]]
            else:
                row[spec.name] = [float(spec.max if spec.max is not None else (spec.min or 0.0))]
        matrix = self.encode(row)
        self.vectorised_scores(matrix)
        if self.compiled is not None:
            self.compiled_scores(matrix)
