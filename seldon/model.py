"""The Seldon v1 model class: `seldon-core-microservice seldon.model.FlightsLateModel`.

A thin HTTP adapter over `scoring.predictor.Predictor` (validate -> encode -> score ->
threshold): this class adds the request id, the request log, the metrics and the swaps.

load() reads the bundle that `current.json` points at (refusing a tampered one), then a watcher
thread follows the pointer and swaps predictors atomically: a request holds the predictor it
started with, so in-flight requests finish on the old model while new ones get the new one.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict

from flask import g, has_request_context, request
from seldon_core.flask_utils import SeldonMicroserviceException
from seldon_core.proto import prediction_pb2
from seldon_core.utils import json_to_seldon_message, seldon_message_to_json

from contract.bundle import load_bundle
from contract.names import OUTPUT_NAMES, PREDICTED, TRUTH
from contract.request_log import RequestLog, request_json
from scoring.predictor import Predictor
from scoring.validation import RequestError
from seldon.metrics import ServingMetrics
from seldon.pointer import PointerWatcher, pointed_dir, read_pointer
from seldon.routes import build_blueprint
from seldon.settings import Settings

REQUEST_ID_HEADER = "X-Request-Id"

logger = logging.getLogger(__name__)


class FlightsLateModel:
    def __init__(self, **parameters) -> None:
        self.settings = Settings.from_env()
        self._metrics: ServingMetrics | None = None
        self.active: Predictor | None = None
        self.request_log: RequestLog | None = None
        self.watcher: PointerWatcher | None = None
        # the wrapper registers this blueprint on its Flask app (hooks, 413, metadata, admin)
        self.model_error_handler = build_blueprint(self)

    @property
    def metrics_buffer(self) -> ServingMetrics:
        """The worker's metrics, made on first use in the worker (load()), never in the gunicorn
        master: its per-process gauge files would otherwise outlive the fork as a stale series."""
        if self._metrics is None:
            self._metrics = ServingMetrics()
        return self._metrics

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
        active = Predictor(bundle, self.settings.max_batch_rows, self.settings.compiled_max_rows)
        active.warm_up()  # the first real request pays no lazy init
        previous = self.active
        self.active = active  # one reference assignment: atomic for every thread
        self.metrics_buffer.model_loaded(bundle.metadata, previous.bundle.metadata if previous else None)
        logger.info(
            "serving %s version %s from %s (compiled trees: %s)",
            active.name,
            active.version,
            bundle.path,
            "yes" if active.compiled is not None else "no",
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
            prediction = active.predict(body)  # a scoring failure is a 500, counted by routes.py
        except RequestError as error:
            self.metrics_buffer.request("rejected", time.perf_counter() - started, error.rule)
            _mark_counted()
            return error.to_dict()
        request_id = _request_id(body)
        probability = prediction.probability.tolist()
        predicted = prediction.predicted_late.tolist()
        if self.request_log is not None:
            raw = request.get_data(cache=True) if has_request_context() and request.is_json else None
            self.request_log.write(
                request_id,
                active.name,
                active.version,
                request_json(body, raw),
                probability,
                predicted,
                prediction.unknown_categories,
            )
        self.metrics_buffer.predicted(
            prediction.probability, prediction.predicted_late, prediction.unknown_categories
        )
        self.metrics_buffer.request("ok", time.perf_counter() - started)
        _mark_counted()
        return {
            "data": {
                "names": list(OUTPUT_NAMES),
                "ndarray": list(zip(probability, predicted, strict=True)),  # orjson writes rows
            },
            "meta": {
                "puid": request_id,
                "tags": {"model_name": active.name, "model_version": active.version},
            },
        }

    def send_feedback_raw(self, feedback: prediction_pb2.Feedback) -> prediction_pb2.SeldonMessage:
        """Truth for earlier predictions: compare it with the labels the response carried (or, if
        the feedback has no response, with a fresh prediction on its request) and count hits."""
        truth = _label_column(seldon_message_to_json(feedback.truth), "truth", TRUTH)
        response = seldon_message_to_json(feedback.response)
        if response.get("data"):
            predicted = _label_column(response, "response", PREDICTED)
        else:  # no response sent back: score the request again with the model served now
            active = self.active
            if active is None:
                raise RequestError("no model loaded yet", None, "not_loaded", status_code=503)
            predicted = active.predict(seldon_message_to_json(feedback.request)).predicted_late.tolist()
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
                }
            }
        )

    def live_metadata(self) -> dict:
        active = self.active
        if active is None:
            raise SeldonMicroserviceException(
                "no model loaded yet", status_code=503, reason="MODEL_NOT_LOADED"
            )
        meta = active.bundle.metadata
        return {
            "name": meta.name,
            "versions": [active.version],
            "platform": "sklearn",
            "version": active.version,
            "run_id": meta.run_id,
            "flyte_execution_id": meta.flyte_execution_id,
            "training_window": asdict(meta.training_window),
            "dataset_digests": meta.dataset_digests,
            "metrics": meta.metrics,
            "compiled": asdict(meta.compiled) if meta.compiled else None,
            "inputs": [spec.to_dict() for spec in active.schema.features],
            "unknown_category": active.schema.unknown_category,
            "outputs": active.schema.output.to_dict(),
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


def _label_column(message: dict, field: str, column_name: str) -> list[int]:
    """The 0/1 values of a feedback part: the `column_name` column of data (`late` for the
    truth, `predicted_late` for a response), or a flat / one-column ndarray, or jsonData."""
    data = message.get("data") or {}
    rows = data.get("ndarray")
    if rows is None and isinstance(message.get("jsonData"), list | dict):
        records = message["jsonData"]
        records = [records] if isinstance(records, dict) else records
        rows = [[r.get(column_name)] if isinstance(r, dict) else [r] for r in records]
    if not isinstance(rows, list) or not rows:
        raise RequestError(
            f"feedback '{field}' needs data.ndarray (or jsonData) with labels", field, "feedback"
        )
    names = data.get("names") or []
    column = names.index(column_name) if column_name in names else -1
    labels = []
    for row in rows:
        value = row[column] if isinstance(row, list) and row else row
        if value not in (0, 1) or isinstance(value, str):
            raise RequestError(f"feedback '{field}' label {value!r} must be 0 or 1", field, "feedback")
        labels.append(int(value))
    return labels
