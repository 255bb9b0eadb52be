"""The Seldon v1 model class: `seldon-core-microservice seldon.model.FlightsLateModel`.

load() reads the bundle that `current.json` points at (refusing a tampered one), then a watcher
thread follows the pointer and swaps bundles atomically: a request holds the `Active` it started
with, so in-flight requests finish on the old model while new ones get the new one.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
from flask import g, has_request_context, request
from seldon_core.flask_utils import SeldonMicroserviceException
from seldon_core.proto import prediction_pb2
from seldon_core.utils import json_to_seldon_message, seldon_message_to_json

from seldon.bundle import Bundle, load_bundle
from seldon.metrics import ServingMetrics
from seldon.pointer import PointerWatcher, pointed_dir, read_pointer
from seldon.request_log import RequestLog, request_json
from seldon.routes import build_blueprint
from seldon.settings import Settings
from seldon.validation import RequestError, RequestSchema

OUTPUT_NAMES = ["probability", "late"]
REQUEST_ID_HEADER = "X-Request-Id"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Active:
    """Everything one request needs from the served bundle, swapped as one reference."""

    bundle: Bundle
    schema: RequestSchema
    threshold: float

    @property
    def version(self) -> str:
        return self.bundle.version

    def score(self, columns: dict) -> np.ndarray:
        return self.bundle.model.predict_proba(pd.DataFrame(columns))[:, 1]


class FlightsLateModel:
    def __init__(self, **parameters) -> None:
        self.settings = Settings.from_env()
        self.metrics_buffer = ServingMetrics()
        self.active: Active | None = None
        self.request_log: RequestLog | None = None
        self.watcher: PointerWatcher | None = None
        # the wrapper registers this blueprint on its Flask app (hooks, 413, metadata, admin)
        self.model_error_handler = build_blueprint(self)

    # ---- lifecycle --------------------------------------------------------------------------
    def load(self) -> None:
        """Runs once in every gunicorn worker. A bundle that fails its checks stops the worker."""
        root = self.settings.model_root
        # the watcher notes the pointer's state first: a flip during our load is not missed
        self.watcher = PointerWatcher(root, self._on_pointer, self.settings.poll_seconds)
        pointer = read_pointer(root)
        if pointer is None:
            logger.warning("no %s/current.json yet: not ready until the sync writes one", root)
        else:
            self.activate(pointer)
        if self.settings.request_log_dir:
            self.request_log = RequestLog(
                self.settings.request_log_dir,
                max_bytes=self.settings.request_log_max_bytes,
                on_failure=self.metrics_buffer.request_log_failed,  # a full disk never fails a prediction
            )
        self.watcher.start()

    def activate(self, pointer: dict) -> None:
        bundle = load_bundle(pointed_dir(self.settings.model_root, pointer))
        active = Active(
            bundle,
            RequestSchema(bundle.schema, self.settings.max_batch_rows),
            float(bundle.schema["output"]["threshold"]),
        )
        active.score(_warmup_columns(bundle.schema))  # first real request pays no lazy init
        previous = self.active
        self.active = active  # one reference assignment: atomic for every thread
        self.metrics_buffer.model_loaded(bundle.metadata, previous.bundle.metadata if previous else None)
        logger.info(
            "serving %s version %s from %s",
            bundle.metadata.get("name"),
            active.version,
            bundle.path,
        )

    def _on_pointer(self, pointer: dict) -> None:
        if self.active is not None and self.active.version == str(pointer.get("version")):
            return
        try:
            self.activate(pointer)
        except Exception:
            self.metrics_buffer.swap_failed()
            raise

    # ---- Seldon entry points ----------------------------------------------------------------
    def health_status(self) -> dict:
        active = self.active
        if active is None:
            raise SeldonMicroserviceException(
                "no model loaded yet", status_code=503, reason="MODEL_NOT_LOADED"
            )
        return {"ready": True, "model_version": active.version}

    def predict_raw(self, body) -> dict:
        started = g.get("started", None) if has_request_context() else None
        started = started or time.perf_counter()
        active = self.active
        try:
            if active is None:
                raise RequestError("no model loaded yet", None, "not_loaded", status_code=503)
            checked = active.schema.check(body)
        except RequestError as error:
            # answered here (not raised) so the rejection's metrics leave with this response
            self.metrics_buffer.request("rejected", time.perf_counter() - started, error.rule)
            _mark_counted()
            return {**error.to_dict(), "meta": {"metrics": self.metrics_buffer.drain("predict")}}
        scores = active.score(checked.columns)  # a failure here is a 500, counted by routes.py
        labels = scores >= active.threshold
        request_id = _request_id(body)
        probability = scores.tolist()
        late = labels.astype(int).tolist()
        metadata = active.bundle.metadata
        if self.request_log is not None:
            raw = request.get_data(cache=True) if has_request_context() and request.is_json else None
            self.request_log.write(
                request_id,
                metadata.get("name", ""),
                active.version,
                request_json(body, raw),
                probability,
                late,
                checked.unknown_categories,
            )
        self.metrics_buffer.predicted(scores, labels, checked.unknown_categories)
        self.metrics_buffer.request("ok", time.perf_counter() - started)
        _mark_counted()
        return {
            "data": {
                "names": OUTPUT_NAMES,
                "ndarray": list(zip(probability, late, strict=True)),  # orjson writes rows
            },
            "meta": {
                "puid": request_id,
                "tags": {"model_name": metadata.get("name", ""), "model_version": active.version},
                "metrics": self.metrics_buffer.drain("predict"),
            },
        }

    def send_feedback_raw(self, feedback: prediction_pb2.Feedback) -> prediction_pb2.SeldonMessage:
        """Truth for earlier predictions: compare it with the labels the response carried (or, if
        the feedback has no response, with a fresh prediction on its request) and count hits."""
        truth = _label_column(seldon_message_to_json(feedback.truth), "truth")
        response = seldon_message_to_json(feedback.response)
        if response.get("data"):
            predicted = _label_column(response, "response")
        else:  # no response sent back: score the request again with the model served now
            active = self.active
            if active is None:
                raise RequestError("no model loaded yet", None, "not_loaded", status_code=503)
            request_body = seldon_message_to_json(feedback.request)
            scores = active.score(active.schema.check(request_body).columns)
            predicted = (scores >= active.threshold).astype(int).tolist()
        if len(truth) != len(predicted):
            raise RequestError(
                f"feedback has {len(truth)} truth values for {len(predicted)} predictions",
                "truth",
                "feedback",
            )
        correct = sum(int(t == p) for t, p in zip(truth, predicted, strict=True))
        self.metrics_buffer.feedback(len(truth), correct)
        return json_to_seldon_message(
            {
                "meta": {
                    "tags": {"feedback_rows": str(len(truth)), "correct": str(correct)},
                    "metrics": self.metrics_buffer.drain("feedback"),
                }
            }
        )

    def metrics(self) -> list[dict]:
        return self.metrics_buffer.drain("health")  # the wrapper calls this on health probes

    def live_metadata(self) -> dict:
        active = self.active
        if active is None:
            raise SeldonMicroserviceException(
                "no model loaded yet", status_code=503, reason="MODEL_NOT_LOADED"
            )
        meta = active.bundle.metadata
        return {
            "name": meta.get("name"),
            "versions": [active.version],
            "platform": "sklearn",
            "version": active.version,
            "run_id": meta.get("run_id"),
            "flyte_execution_id": meta.get("flyte_execution_id"),
            "training_window": meta.get("training_window"),
            "dataset_digest": meta.get("dataset_digest"),
            "metrics": meta.get("metrics"),
            "inputs": active.bundle.schema["features"],
            "unknown_category": active.bundle.schema.get("unknown_category"),
            "outputs": active.bundle.schema["output"],
        }


def _mark_counted() -> None:
    if has_request_context():
        g.counted = True  # routes.py counts what the model did not (wrapper errors, 500s)


def _request_id(body: dict) -> str:
    puid = (body.get("meta") or {}).get("puid") if isinstance(body.get("meta"), dict) else None
    if puid:
        return str(puid)
    if has_request_context() and request.headers.get(REQUEST_ID_HEADER):
        return request.headers[REQUEST_ID_HEADER]
    return uuid.uuid4().hex


def _label_column(message: dict, field: str) -> list[int]:
    """The 0/1 labels of a feedback part: `late` column of data, or a flat/one-column ndarray."""
    data = message.get("data") or {}
    rows = data.get("ndarray")
    if rows is None and isinstance(message.get("jsonData"), list | dict):
        records = message["jsonData"]
        records = [records] if isinstance(records, dict) else records
        rows = [[r.get("late")] if isinstance(r, dict) else [r] for r in records]
    if not isinstance(rows, list) or not rows:
        raise RequestError(
            f"feedback '{field}' needs data.ndarray (or jsonData) with labels", field, "feedback"
        )
    names = data.get("names") or []
    column = names.index("late") if "late" in names else -1
    labels = []
    for row in rows:
        value = row[column] if isinstance(row, list) and row else row
        if value not in (0, 1) or isinstance(value, str):
            raise RequestError(f"feedback '{field}' label {value!r} must be 0 or 1", field, "feedback")
        labels.append(int(value))
    return labels


def _warmup_columns(schema: dict) -> dict[str, list]:
    columns = {}
    for spec in schema["features"]:
        if spec["kind"] == "category":
            columns[spec["name"]] = [(spec.get("categories") or ["?"])[0]]
        else:
            columns[spec["name"]] = [float(spec.get("max", spec.get("min", 0.0)))]
    return columns
