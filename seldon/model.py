"""The Seldon v1 model class: `python -m seldon.serve seldon.model.BundleModel`.

Load, predict, explain and feedback over the worker's `Session`; the request id, the answer's
shape and the mapping of the scorer's `RequestError` to Seldon's status answer. The names it
answers and reads by are the served bundle's, whatever its use case. HTTP concerns (the guard,
the hooks that count requests, the live metadata, OpenAPI and admin routes) are the wrapper's or
`seldon.wrapper_changes`'s.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from flask import after_this_request, has_request_context, request
from seldon_core.flask_utils import SeldonMicroserviceException
from seldon_core.proto import prediction_pb2
from seldon_core.utils import json_to_seldon_message, seldon_message_to_json

from scoring.online import online_tags
from scoring.predictor import Predictor
from scoring.validation import RequestError, feedback_labels
from seldon.session import Session
from seldon.settings import Settings

REQUEST_ID_HEADER = "X-Request-Id"

logger = logging.getLogger(__name__)


class SeldonRequestError(SeldonMicroserviceException):
    """The scorer's `RequestError` as the wrapper's exception: its handler answers `to_dict()`
    with the error's status code."""

    def __init__(self, error: RequestError) -> None:
        super().__init__(error.message, status_code=error.status_code, reason=error.reason)
        self.error = error

    def to_dict(self) -> dict:
        return self.error.to_dict()


class BundleModel:
    def __init__(self, **parameters) -> None:
        self.settings = Settings.from_env()
        self.session: Session | None = None

    def load(self) -> None:
        """Runs once in every gunicorn worker."""
        self.session = Session(self.settings)
        self.session.start()

    def _served(self) -> tuple[Session, Predictor]:
        session = self.session
        if session is None:
            raise RequestError("no model loaded yet", None, "not_loaded", status_code=503)
        return session, session.served()

    def health_status(self) -> dict:
        try:
            _session, served = self._served()
        except RequestError as error:
            raise SeldonRequestError(error) from None
        return {"ready": True, "model_version": served.version}

    def predict_raw(self, body) -> dict:
        """A scorer's refusal is answered as a Seldon status, which the wrapper sends with its code."""
        try:
            session, _served = self._served()
            request_id = _request_id(body)
            raw = request.get_data(cache=True) if has_request_context() and request.is_json else None
            defer = _after_response if has_request_context() else None  # the shadow waits for the answer
            served, prediction = session.predict(body, request_id, raw, defer)
        except RequestError as error:
            return error.to_dict()
        return {
            "data": {
                "names": served.output_names,
                "ndarray": list(  # orjson writes rows
                    zip(prediction.probability.tolist(), prediction.predicted.tolist(), strict=True)
                ),
            },
            "meta": {"puid": request_id, "tags": {**_tags(served), **online_tags(prediction.online)}},
        }

    def explain(self, body: object) -> dict:
        """Explained predictions (`scoring.explanation`); raises `RequestError` like predict."""
        session, _served = self._served()
        served, data = session.explain(body)
        return {"jsonData": data, "meta": {"tags": _tags(served)}}

    def send_feedback_raw(self, feedback: prediction_pb2.Feedback) -> prediction_pb2.SeldonMessage:
        """Truth for earlier predictions: compare it with the labels the response carried (or, if
        the feedback has no response, with a fresh prediction on its request) and count hits."""
        try:
            session, served = self._served()
            output = served.output
            truth = feedback_labels(seldon_message_to_json(feedback.truth), "truth", output.truth)
            response = seldon_message_to_json(feedback.response)
            if response.get("data"):
                predicted = feedback_labels(response, "response", output.predicted)
            else:  # no response sent back: score the request again with the model served now
                body = seldon_message_to_json(feedback.request)
                predicted = served.predict(body).predicted.tolist()
            meta = response.get("meta") or seldon_message_to_json(feedback.request).get("meta") or {}
            correct = session.feedback(truth, predicted, meta.get("puid"))
        except RequestError as error:
            raise SeldonRequestError(error) from None
        tags = {"feedback_rows": str(len(truth)), "correct": str(correct)}
        return json_to_seldon_message({"meta": {"tags": tags}})


def _after_response(work: Callable[[], None]) -> None:
    """Run `work` once the answer's body has been sent (the client does not wait for it)."""

    def hook(response):
        response.call_on_close(work)
        return response

    after_this_request(hook)


def _tags(served: Predictor) -> dict:
    return {"model_name": served.name, "model_version": served.version}


def _request_id(body: dict) -> str:
    puid = (body.get("meta") or {}).get("puid") if isinstance(body.get("meta"), dict) else None
    if puid:
        return str(puid)
    if has_request_context() and request.headers.get(REQUEST_ID_HEADER):
        return request.headers[REQUEST_ID_HEADER]
    return uuid.uuid4().hex
