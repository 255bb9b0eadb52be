"""Explained predictions of a served bundle: for each row of a request shaped exactly like a
prediction request, the probability, the predicted flag (under the bundle's name for it), the
base value, the raw score (log-odds) and every feature's value and exact contribution, largest
first.

The body is checked by the same `RequestSchema` as predictions (same 4xx, same messages), with a
row limit of its own (explaining costs milliseconds a row). The rows are encoded and scored once,
by the predictor's own encoding and scoring path, and `explain.TreeExplainer` splits each raw
score of that same matrix into its contributions (base value + contributions = the logit of the
probability, tested to 1e-6). Built once per bundle: it reads every tree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explain import TreeExplainer, ranked_contributions
from scoring.predictor import Predictor
from scoring.validation import RequestSchema

DEFAULT_MAX_ROWS = 100


class BundleExplainer:
    """What explaining one served bundle needs."""

    def __init__(self, predictor: Predictor, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self.predictor = predictor
        self.names = predictor.names
        self.engine = TreeExplainer(predictor.classifier, self.names)
        self.schema = RequestSchema(predictor.schema, max_rows)
        self.predicted = predictor.output.predicted

    def explain(self, body: object) -> tuple[dict, np.ndarray]:
        """The answer's `jsonData` and the predicted flags (raises `RequestError` like predict)."""
        checked = self.predictor.join(self.schema.check(body))  # online features as predicted
        matrix = self.predictor.encode(checked.columns)
        probability = self.predictor.score_matrix(matrix)
        flags = self.predictor.threshold_flags(probability)
        explanation = self.engine.explain_encoded(matrix)
        columns = [_plain(checked.columns[name]) for name in self.names]
        rows = []
        for index, values in enumerate(zip(*columns, strict=True)):
            rows.append(
                {
                    "probability": float(probability[index]),
                    self.predicted: int(flags[index]),
                    "base_value": explanation.base_value,
                    "raw_score": float(explanation.raw[index]),
                    "contributions": ranked_contributions(explanation, index, list(values)),
                }
            )
        return {"base_value": explanation.base_value, "explanations": rows}, flags


def _plain(column: Any) -> list[object]:
    """JSON-ready values: numpy floats as floats, NaN (missing) as None."""
    values = column.tolist() if isinstance(column, np.ndarray) else list(column)
    return [None if isinstance(value, float) and value != value else value for value in values]
