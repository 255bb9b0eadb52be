"""The HTTP ceiling of the serving benchmark: a model that does nothing, on the same wrapper.

    python -m seldon.serve benchmarks.noop_model.NoopModel --workers 2 ...
    python -m seldon.serve benchmarks.noop_model.GuardedNoopModel --workers 2 ...

Same entry point (`seldon.serve`: gunicorn, the stock Seldon v1 wrapper, the metrics server), the
same JSON provider (orjson) and the same response shape as `seldon.model.BundleModel`; no
validation, no model, no request log, no metrics. What the real server reaches against this is
the share of the wrapper's throughput left after the work a prediction needs.
"""

from __future__ import annotations

from flask import Blueprint

from seldon.model import BundleModel
from seldon.wrapper_changes import json_provider

ANSWER = {"data": {"names": ["probability", "predicted_late"], "ndarray": [[0.0, 0]]}, "meta": {}}


class NoopModel:
    """The stock wrapper and the project's JSON provider (`seldon.wrapper_changes` installs the
    rest for BundleModel only)."""

    def __init__(self, **parameters) -> None:
        blueprint = Blueprint("noop", __name__)

        @blueprint.record_once
        def _configure(state) -> None:
            state.app.json = json_provider(state.app)

        self.model_error_handler = blueprint  # the wrapper registers this blueprint on its app

    def load(self) -> None:
        pass

    def health_status(self) -> dict:
        return {"ready": True}

    def predict_raw(self, body) -> dict:
        return ANSWER


class GuardedNoopModel(BundleModel):
    """The same no-op behind this project's changes to the wrapper (`seldon/wrapper_changes.py`):
    the request guard, the body decoded once with its nesting check, JSON errors, the counting
    hook (with no session, nothing counted). No validation, model, request log or metrics.
    Against it, the real server's ratio is the cost of the prediction's own work alone; against
    `NoopModel`, of that and the wrapper changes."""

    def load(self) -> None:
        pass

    def health_status(self) -> dict:
        return {"ready": True}

    def predict_raw(self, body) -> dict:
        return ANSWER
