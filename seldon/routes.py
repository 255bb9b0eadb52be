"""Flask hooks the wrapper registers with the model (`model_error_handler` blueprint).

- request timing starts before the wrapper parses the body (latency histogram);
- JSON bodies are parsed and responses written with orjson (`seldon/jsonio.py`);
- a body that is not JSON, or too large, gets a 400/413 JSON status here, before the wrapper;
- `/api/v1.0/metadata` answers for the bundle this worker serves now (the wrapper's own answer
  is computed once at start, before any bundle is loaded);
- admin routes, guarded by ADMIN_TOKEN, act on the shared pointer so every worker follows.
"""

from __future__ import annotations

import hmac
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from seldon.bundle import BundleError, load_bundle
from seldon.jsonio import FastJSONProvider
from seldon.pointer import VERSIONS_DIR, read_pointer, version_dir, write_pointer
from seldon.validation import RequestError

if TYPE_CHECKING:
    from seldon.model import FlightsLateModel

PREDICT_PATHS = frozenset({"/predict", "/api/v1.0/predictions", "/api/v0.1/predictions"})
FEEDBACK_PATHS = frozenset({"/send-feedback", "/api/v1.0/feedback", "/api/v0.1/feedback"})
METADATA_PATHS = frozenset({"/metadata", "/api/v1.0/metadata"})
FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})

logger = logging.getLogger(__name__)


def _error(error: RequestError):
    return jsonify(error.to_dict()), error.status_code


def build_blueprint(model: FlightsLateModel) -> Blueprint:
    blueprint = Blueprint("flights_serving", __name__)

    @blueprint.record_once
    def _configure(state) -> None:
        state.app.config["MAX_CONTENT_LENGTH"] = model.settings.max_request_bytes
        state.app.json = FastJSONProvider(state.app)

    @blueprint.before_app_request
    def _before():
        g.started = time.perf_counter()
        if request.method == "GET" and request.path in METADATA_PATHS:
            return jsonify(model.live_metadata())
        if request.method != "POST" or request.path not in PREDICT_PATHS | FEEDBACK_PATHS:
            return None
        limit = model.settings.max_request_bytes
        if request.content_length is not None and request.content_length > limit:
            return _reject(
                RequestError(
                    f"request body is {request.content_length} bytes, over the limit of {limit}",
                    None,
                    "body_too_large",
                    status_code=413,
                )
            )
        # the wrapper also takes a `json` form or query field, and multipart: leave those to it
        if request.mimetype == "multipart/form-data" or "json" in request.args:
            return None
        if request.mimetype in FORM_TYPES and "json" in request.form:
            return None
        if request.get_json(silent=True) is None:
            return _reject(
                RequestError(
                    "request body is not valid JSON: send a JSON object with Content-Type application/json",
                    None,
                    "not_json",
                )
            )
        return None

    def _reject(error: RequestError):
        if request.path in PREDICT_PATHS:
            model.metrics_buffer.request("rejected", time.perf_counter() - g.started, error.rule)
            g.counted = True
        return _error(error)

    @blueprint.after_app_request
    def _count_the_rest(response):
        # wrapper-level answers (its own 400s, 500s from an exception) still count as requests
        if request.path in PREDICT_PATHS and not g.get("counted") and "started" in g:
            outcome = "error" if response.status_code >= 500 else "rejected"
            reason = None if outcome == "error" else "bad_data"
            model.metrics_buffer.request(outcome, time.perf_counter() - g.started, reason)
        return response

    @blueprint.app_errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        limit = model.settings.max_request_bytes
        return _reject(
            RequestError(
                f"request body is over the limit of {limit} bytes",
                None,
                "body_too_large",
                status_code=413,
            )
        )

    @blueprint.route("/admin/versions", methods=["GET"])
    def _versions():
        _authorize()
        root = model.settings.model_root
        folder = Path(root) / VERSIONS_DIR
        found = folder.iterdir() if folder.is_dir() else []
        # dot-folders are downloads in progress (seldon.sync), not versions
        versions = sorted(p.name for p in found if p.is_dir() and not p.name.startswith("."))
        active = model.active
        return jsonify(
            {
                "pointer": read_pointer(root),
                "versions": versions,
                "this_worker_serves": active.version if active else None,
            }
        )

    @blueprint.route("/admin/pointer", methods=["POST"])
    def _move_pointer():
        """Roll back (or forward) to a version already synced under versions/."""
        _authorize()
        body = request.get_json(silent=True) or {}
        version = str(body.get("version", ""))
        target = version_dir(model.settings.model_root, version)
        if not version or not target.is_dir():
            return _error(
                RequestError(
                    f"no bundle for version {version!r} under {VERSIONS_DIR}/",
                    "version",
                    "unknown_version",
                )
            )
        try:
            load_bundle(target)  # never point the fleet at a bundle that fails its checks
        except BundleError as exc:
            return _error(RequestError(str(exc), "version", "bad_bundle", status_code=409))
        pointer = write_pointer(model.settings.model_root, version, source=body.get("reason", "admin"))
        logger.warning("admin moved the pointer to version %s", version)
        return jsonify({"pointer": pointer})

    def _authorize() -> None:
        token = model.settings.admin_token
        if not token:
            raise _NotFound()
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise _Forbidden()

    @blueprint.app_errorhandler(_NotFound)
    def _not_found(_exc):
        return jsonify(
            {
                "status": {
                    "status": 1,
                    "code": 404,
                    "info": "admin routes are disabled (no ADMIN_TOKEN)",
                    "reason": "ADMIN_DISABLED",
                }
            }
        ), 404

    @blueprint.app_errorhandler(_Forbidden)
    def _forbidden(_exc):
        return jsonify(
            {
                "status": {
                    "status": 1,
                    "code": 403,
                    "info": "admin token missing or wrong",
                    "reason": "ADMIN_FORBIDDEN",
                }
            }
        ), 403

    return blueprint


class _NotFound(Exception):
    pass


class _Forbidden(Exception):
    pass
