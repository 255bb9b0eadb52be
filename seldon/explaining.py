"""The explain route: `POST /api/v1.0/explain` (and `/explain`) answers, for each row of a request
shaped exactly like a prediction request, the probability, `predicted_late`, the base value, the
raw score (log-odds) and every feature's value and exact contribution, largest first.

The body is checked by the same `RequestSchema` as predictions (same 4xx, same messages), with a
row limit of its own (MAX_EXPLAIN_ROWS, default 100: explaining costs milliseconds a row). The
rows are encoded and scored once, the way predictions are (the served predictor's encoding and
scoring path when it has one, else the Pipeline's preprocessing and classifier), and
`explain.TreeExplainer` splits each raw score of that same matrix into its contributions (base
value + contributions = the logit of the probability, tested to 1e-6).
The explainer of a bundle is built on that bundle's first explain request (it reads every tree)
and kept until the next swap.

The wrapper stores custom metrics only from predict, feedback and health responses: an explain
response hands this worker's buffered metrics over by calling the wrapper's own health handler.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from flask import Blueprint, current_app, g, has_request_context, jsonify

from explain import TreeExplainer, ranked_contributions
from scoring.validation import RequestError, RequestSchema
from seldon.guard import EXPLAIN_PATHS

if TYPE_CHECKING:
    from seldon.model import FlightsLateModel

MAX_EXPLAIN_ROWS = "MAX_EXPLAIN_ROWS"
DEFAULT_MAX_ROWS = 100

logger = logging.getLogger(__name__)


class BundleExplainer:
    """What explaining one served bundle needs, built once per bundle."""

    def __init__(self, active: Any, max_rows: int) -> None:
        self.active = active
        schema = active.bundle.schema
        # the served bundle's schema as a dict (a typed schema has `to_dict`)
        schema_dict = schema.to_dict() if hasattr(schema, "to_dict") else schema
        self.names = [feature["name"] for feature in schema_dict["features"]]
        model = active.bundle.model
        self.classifier = model[-1]
        self.engine = TreeExplainer(self.classifier, self.names)
        self.schema = RequestSchema(schema_dict, max_rows)

    def _score(self, columns: dict) -> tuple[np.ndarray, np.ndarray]:
        """(encoded matrix, probability) the way predictions are made: the predictor's own
        encoding and scoring path when the served object has one, else the Pipeline's."""
        active = self.active
        if hasattr(active, "encode") and hasattr(active, "score_matrix"):
            matrix = active.encode(columns)
            return matrix, active.score_matrix(matrix)
        matrix = active.bundle.model[:-1].transform(pd.DataFrame(columns)[self.names])
        return matrix, self.classifier.predict_proba(matrix)[:, 1]

    def explain(self, body: object) -> tuple[dict, np.ndarray]:
        """The answer's `jsonData` and the predicted flags (raises `RequestError` like predict)."""
        checked = self.schema.check(body)
        matrix, probability = self._score(checked.columns)
        flags = (probability >= self.active.threshold).astype(np.int64)
        explanation = self.engine.explain_encoded(matrix)
        columns = [_plain(checked.columns[name]) for name in self.names]
        rows = []
        for index, values in enumerate(zip(*columns, strict=True)):
            rows.append(
                {
                    "probability": float(probability[index]),
                    "predicted_late": int(flags[index]),
                    "base_value": explanation.base_value,
                    "raw_score": float(explanation.raw[index]),
                    "contributions": ranked_contributions(explanation, index, list(values)),
                }
            )
        return {"base_value": explanation.base_value, "explanations": rows}, flags


def register_explain_route(blueprint: Blueprint, model: FlightsLateModel) -> None:
    max_rows = int(os.environ.get(MAX_EXPLAIN_ROWS, DEFAULT_MAX_ROWS))
    lock = threading.Lock()
    built: dict[str, Any] = {"active": None, "explainer": None}

    def explainer_for(active: Any) -> BundleExplainer:
        with lock:  # one build per bundle, even when requests arrive together
            if built["active"] is not active:
                built["explainer"] = BundleExplainer(active, max_rows)
                built["active"] = active
            return built["explainer"]

    def explain():
        started = g.get("started", None) if has_request_context() else None
        started = started or time.perf_counter()
        _raw, body = g.decoded_body
        active = model.active
        try:
            if active is None:
                raise RequestError("no model loaded yet", None, "not_loaded", status_code=503)
            data, flags = explainer_for(active).explain(body)
        except RequestError as error:
            model.metrics_buffer.explain_request("rejected", time.perf_counter() - started, error.rule)
            g.counted = True
            _export_metrics()
            return jsonify(error.to_dict()), error.status_code
        model.metrics_buffer.explained(flags)
        model.metrics_buffer.explain_request("ok", time.perf_counter() - started)
        g.counted = True
        _export_metrics()
        metadata = active.bundle.metadata
        name = metadata.get("name", "") if isinstance(metadata, dict) else metadata.name
        return jsonify(
            {"jsonData": data, "meta": {"tags": {"model_name": name, "model_version": active.version}}}
        )

    for path in sorted(EXPLAIN_PATHS):
        endpoint = "explain" + path.replace("/", "_").replace(".", "_")  # no dots in endpoint names
        blueprint.add_url_rule(path, endpoint, explain, methods=["POST"])


def _export_metrics() -> None:
    """Hand this worker's buffered metrics to the wrapper through its health handler (which
    calls `model.metrics()`): an explain response is not one the wrapper reads metrics from."""
    health = current_app.view_functions.get("HealthStatus")
    if health is None:
        return
    try:
        health()
    except Exception:  # no model loaded: nothing to export, the answer already says so
        logger.debug("explain metrics not exported", exc_info=True)


def _plain(column: Any) -> list[object]:
    """JSON-ready values: numpy floats as floats, NaN (missing) as None."""
    values = column.tolist() if isinstance(column, np.ndarray) else list(column)
    return [None if isinstance(value, float) and value != value else value for value in values]
