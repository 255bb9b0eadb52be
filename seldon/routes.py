"""Flask hooks the wrapper registers with the model (`model_error_handler` blueprint).

- `seldon.guard.RequestGuard` wraps the wrapper's WSGI app: unknown routes, wrong methods,
  non-JSON content types and oversized bodies are answered before the body is read;
- request timing starts before the wrapper parses the body (latency histogram);
- JSON bodies are decoded once, by `seldon.guard.decode_json` (orjson, bounded nesting), and
  responses written with orjson (`seldon/jsonio.py`); a body that does not decode gets a 400 here;
- feedback is checked against the Seldon Feedback message before the wrapper converts it;
- every HTTP error Flask raises is answered as a JSON status (the wrapper would make it a 500);
- `/api/v1.0/metadata` answers for the bundle this worker serves now (the wrapper's own answer
  is computed once at start, before any bundle is loaded); `/api/v1.0/openapi.json` serves
  `seldon/openapi.json`;
- admin routes, guarded by ADMIN_TOKEN, act on the shared pointer so every worker follows.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, g, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from contract.bundle import BundleError, load_bundle
from scoring.validation import RequestError, short_repr
from seldon.explaining import register_explain_route
from seldon.guard import (
    BODY_PATHS,
    EXPLAIN_PATHS,
    FEEDBACK_PATHS,
    PREDICT_PATHS,
    RequestGuard,
    decode_json,
)
from seldon.jsonio import FastJSONProvider
from seldon.pointer import VERSIONS_DIR, VersionError, checked_version_dir, read_pointer, write_pointer

if TYPE_CHECKING:
    from seldon.model import FlightsLateModel

METADATA_PATHS = frozenset({"/metadata", "/api/v1.0/metadata"})
OPENAPI_FILE = Path(__file__).with_name("openapi.json")
OPENAPI_PATH = "/api/v1.0/openapi.json"
WRAPPER_OPENAPI_PATH = "/seldon.json"
FEEDBACK_KEYS = frozenset({"request", "response", "reward", "truth"})

logger = logging.getLogger(__name__)


def _error(error: RequestError):
    return jsonify(error.to_dict()), error.status_code


def build_blueprint(model: FlightsLateModel) -> Blueprint:
    blueprint = Blueprint("flights_serving", __name__)
    _install_transport(blueprint, model)
    _register_request_hooks(blueprint, model)
    _register_error_handlers(blueprint, model)
    register_explain_route(blueprint, model)
    blueprint.add_url_rule(OPENAPI_PATH, "openapi", _openapi, methods=["GET"])
    blueprint.add_url_rule("/openapi.json", "openapi_short", _openapi, methods=["GET"])
    _register_admin_routes(blueprint, model)
    return blueprint


def _install_transport(blueprint: Blueprint, model: FlightsLateModel) -> None:
    """The body limit, the guarded JSON provider and the WSGI guard, set on the wrapper's app."""

    def count_guard_rejection(path: str, rule: str, seconds: float) -> None:
        if path in PREDICT_PATHS:
            model.metrics_buffer.request("rejected", seconds, rule)
        elif path in EXPLAIN_PATHS:
            model.metrics_buffer.explain_request("rejected", seconds, rule)

    @blueprint.record_once
    def _configure(state) -> None:
        state.app.config["MAX_CONTENT_LENGTH"] = model.settings.max_request_bytes
        state.app.json = GuardedJSONProvider(state.app)
        state.app.wsgi_app = RequestGuard(
            state.app.wsgi_app,
            model.settings.max_request_bytes,
            state.app.url_map,
            on_reject=count_guard_rejection,
        )


def _reject(model: FlightsLateModel, error: RequestError):
    """A 4xx answer, counted as a rejected prediction or explanation where it is one."""
    started = g.get("started") or time.perf_counter()
    if request.path in PREDICT_PATHS:
        model.metrics_buffer.request("rejected", time.perf_counter() - started, error.rule)
        g.counted = True
    elif request.path in EXPLAIN_PATHS:
        model.metrics_buffer.explain_request("rejected", time.perf_counter() - started, error.rule)
        g.counted = True
    return _error(error)


def _register_request_hooks(blueprint: Blueprint, model: FlightsLateModel) -> None:
    @blueprint.before_app_request
    def _before():
        g.started = time.perf_counter()
        if request.method == "GET" and request.path in METADATA_PATHS:
            return jsonify(model.live_metadata())
        if request.method == "GET" and request.path == WRAPPER_OPENAPI_PATH:
            return _openapi()  # the wrapper's generic document would describe another API
        if request.method != "POST" or request.path not in BODY_PATHS:
            return None
        raw = request.get_data(cache=True)
        try:
            body = decode_json(raw)
            if not isinstance(body, dict) or not body:
                raise RequestError(
                    f"request body must be a non-empty JSON object, got {short_repr(body)}", None, "shape"
                )
            if request.path in FEEDBACK_PATHS:
                _check_feedback(body)
        except RequestError as error:
            return _reject(model, error)
        g.decoded_body = (raw, body)  # the wrapper's get_json() gets this, not a second parse
        return None

    @blueprint.after_app_request
    def _count_the_rest(response):
        # wrapper-level answers (its own 400s, 500s from an exception) still count as requests
        if request.path in PREDICT_PATHS and not g.get("counted") and "started" in g:
            outcome = "error" if response.status_code >= 500 else "rejected"
            reason = None if outcome == "error" else "bad_data"
            model.metrics_buffer.request(outcome, time.perf_counter() - g.started, reason)
        if request.path in EXPLAIN_PATHS and not g.get("counted") and "started" in g:
            model.metrics_buffer.explain_request("error", time.perf_counter() - g.started)
        if response.status_code >= 400 and response.is_json:
            _complete_status(response)
        return response


def _register_error_handlers(blueprint: Blueprint, model: FlightsLateModel) -> None:
    @blueprint.app_errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # the wrapper's catch-all handler would turn a 404/405 into a 500
        code = exc.code or 400
        error = RequestError(exc.description or exc.name, None, exc.name.lower().replace(" ", "_"), code)
        return _reject(model, error) if code < 500 else (jsonify(error.to_dict()), code)

    @blueprint.app_errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        limit = model.settings.max_request_bytes
        return _reject(
            model,
            RequestError(
                f"request body is over the limit of {limit} bytes",
                None,
                "body_too_large",
                status_code=413,
            ),
        )

    @blueprint.app_errorhandler(_NotFound)
    def _not_found(_exc):
        return _admin_status(404, "admin routes are disabled (no ADMIN_TOKEN)", "ADMIN_DISABLED")

    @blueprint.app_errorhandler(_Forbidden)
    def _forbidden(_exc):
        return _admin_status(403, "admin token missing or wrong", "ADMIN_FORBIDDEN")


def _admin_status(code: int, info: str, reason: str):
    return jsonify({"status": {"status": 1, "code": code, "info": info, "reason": reason}}), code


def _openapi():
    return Response(OPENAPI_FILE.read_bytes(), mimetype="application/json")


def _register_admin_routes(blueprint: Blueprint, model: FlightsLateModel) -> None:
    def authorize() -> None:
        token = model.settings.admin_token
        if not token:
            raise _NotFound()
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise _Forbidden()

    @blueprint.route("/admin/versions", methods=["GET"])
    def _versions():
        authorize()
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
        authorize()
        return _moved_pointer(model, request.get_json(silent=True))


def _moved_pointer(model: FlightsLateModel, body: object):
    version = body.get("version") if isinstance(body, dict) else None
    if not isinstance(version, str | int) or isinstance(version, bool):
        return _error(RequestError('send {"version": "<registry version>"}', "version", "missing"))
    version = str(version)
    try:
        target = checked_version_dir(model.settings.model_root, version)
    except VersionError as exc:
        return _error(RequestError(str(exc), "version", "version_name"))
    if not target.is_dir():
        return _error(
            RequestError(
                f"no bundle for version {version!r} under {VERSIONS_DIR}/", "version", "unknown_version"
            )
        )
    try:
        load_bundle(target)  # never point the fleet at a bundle that fails its checks
    except BundleError as exc:
        return _error(RequestError(str(exc), "version", "bad_bundle", status_code=409))
    reason = body.get("reason") if isinstance(body, dict) else None
    pointer = write_pointer(
        model.settings.model_root, version, source=reason if isinstance(reason, str) else "admin"
    )
    logger.warning("admin moved the pointer to version %s", version)
    return jsonify({"pointer": pointer})


class _NotFound(Exception):
    pass


class _Forbidden(Exception):
    pass


class GuardedJSONProvider(FastJSONProvider):
    """orjson provider whose loads() is `decode_json` (bounded nesting, errors as 400s), and
    returns the body the before-request hook already decoded instead of parsing it again."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if has_request_context():
            decoded = g.get("decoded_body")
            if decoded is not None and decoded[0] is s:
                return decoded[1]
        return decode_json(s)


def _check_feedback(body: object) -> None:
    """The wrapper converts feedback to its protobuf before the model sees it, and fails with a
    500 on what protobuf cannot hold: check here and answer 400 instead."""
    if not isinstance(body, dict):
        raise RequestError(
            "feedback must be a JSON object with 'truth' and 'response' or 'request'", None, "shape"
        )
    unknown = sorted(set(body) - FEEDBACK_KEYS)
    if unknown:
        raise RequestError(
            f"unknown field {unknown[0]!r} in feedback: use {sorted(FEEDBACK_KEYS)}",
            unknown[0],
            "unknown_field",
        )
    reward = body.get("reward")
    if reward is not None and not _finite_non_negative(reward):
        raise RequestError(
            f"feedback 'reward' must be a finite number >= 0, got {short_repr(reward)}", "reward", "reward"
        )
    from seldon_core.utils import json_to_feedback

    try:
        json_to_feedback(body)
    except Exception as exc:  # protobuf's parse errors, and the overflows it does not catch
        raise RequestError(
            f"feedback is not a Seldon Feedback message: {exc}"[:500], None, "feedback"
        ) from None


def _finite_non_negative(value: object) -> bool:
    if type(value) is not int and type(value) is not float:
        return False
    try:
        number = float(value)
    except OverflowError:
        return False
    return math.isfinite(number) and number >= 0


def _complete_status(response: Response) -> None:
    """The wrapper's own errors say `code: -1` and no rule: give them the HTTP code and a rule
    (from their reason), like every answer of this server."""
    try:
        body = response.get_json(silent=True)
    except Exception:
        return
    status = body.get("status") if isinstance(body, dict) else None
    if not isinstance(status, dict) or ("rule" in status and status.get("code") == response.status_code):
        return
    status["code"] = response.status_code
    status.setdefault("field", None)
    status.setdefault("rule", str(status.get("reason", "error")).lower())
    response.set_data(json.dumps(body))
