"""Every change this project makes to the stock seldon-core 1.17.1 wrapper, in one module.

`python -m seldon.serve` applies them (`apply`) and then runs the stock
`seldon_core.microservice.main`; the model class (`seldon.model`) knows none of them. Each is
pinned by a test named in brackets.

 1. Bind host: the wrapper hard-codes 0.0.0.0 (right in a pod, wrong on a laptop or CI machine);
    SERVING_BIND_HOST replaces the host of gunicorn's `bind`. [test_wrapper_changes_applied]
 2. Graceful SIGTERM: a stopping worker answers the connections already waiting in the listen
    backlog before it exits (gunicorn would reset them), for at most 2 s: clients that keep
    connecting do not hold it for the graceful timeout. [test_serving_faults, test_wrapper_changes]
 3. Metrics: the model writes prometheus-client's multiprocess files in PROMETHEUS_MULTIPROC_DIR
    (emptied at start); the wrapper's metrics answer merges them beside Seldon's own series, and
    a worker's gauges leave with it. Seldon's custom-metrics channel sends every update through a
    multiprocessing manager (its cost: docs/performance.md): its empty update after every
    prediction is skipped. [test_serving_prometheus, test_wrapper_changes_applied]
 4. Request guard, a WSGI middleware in front of the app, answers before the body is read:
    unknown path 404, wrong method 405 (with `Allow`), a body in a `json` query parameter 400,
    a non-JSON Content-Type 415 (form and multipart parsers never run), a body over
    MAX_REQUEST_BYTES 413 (from Content-Length, or reading a chunked body up to the limit; the
    rest is read and dropped after the answer, bounded in bytes and seconds, so the client sees
    the 413 and not a reset). The disabled Seldon component routes (/route, /aggregate,
    /transform-*) answer 404. [test_serving_hardening, test_serving_guard]
 5. One JSON decoder, `decode_json`: orjson, the standard library for what orjson refuses (NaN,
    Infinity, integers beyond 64 bits), every failure a 400 `not_json`, nesting deeper than
    MAX_JSON_DEPTH a 400 `nesting` (deep structures make recursive code fail); it is the app's
    JSON provider, and answers are written with orjson. [test_serving_guard, test_serving_hardening]
 6. Body checks before the wrapper converts a body: a non-empty JSON object, and feedback that
    fits Seldon's Feedback message (the wrapper's protobuf conversion fails with a 500 on what it
    cannot hold). [test_serving_hardening]
 7. Error answers: the scorer's `RequestError` is answered with its status code and a body
    naming the field and the rule; Flask's HTTP errors are JSON statuses (the wrapper's catch-all
    makes a 404 a 500); the wrapper's own errors (`code: -1`, no rule) get the HTTP code and a
    rule. [test_serving_hardening, test_serving_server]
 8. Counting: every predict or explain answer is counted once, by `_count`, from the
    after-request hook (every answer Flask writes: the model's, the wrapper's, an error
    handler's) or from the guard's refusal (before Flask sees the request); none passes both.
    [test_serving_explain, test_serving_prometheus]
 9. Routes: `/api/v1.0/metadata` answers for the bundle this worker serves now (the wrapper's is
    computed once at start, before any bundle is loaded); `/api/v1.0/openapi.json` and
    `/seldon.json` serve the document generated from the served schema (`seldon/openapi.py`; the
    wrapper's generic document describes another API); `POST /api/v1.0/explain`
    (`scoring.explanation`); admin routes, guarded by ADMIN_TOKEN, move the shared pointer so
    every worker follows. [test_serving_server, test_serving_explain,
    test_serving_hardening, test_serving_lifecycle]
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from io import BytesIO
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

try:  # the serving image has orjson; the pipeline env (unit tests, tools) decodes with json
    import orjson

    _fast_loads = orjson.loads
    _FastError: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - exercised by the pipeline env's unit tests
    orjson = None  # type: ignore[assignment]
    _fast_loads = json.loads
    _FastError = ValueError

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map

from contract.bundle import BundleError, load_bundle
from scoring.online import request_inputs
from scoring.validation import RequestError, short_repr
from seldon import openapi
from seldon.pointer import VERSIONS_DIR, VersionError, checked_version_dir, read_pointer, write_pointer

if TYPE_CHECKING:
    from flask import Flask, Response

    from seldon.model import BundleModel

BIND_HOST = "SERVING_BIND_HOST"
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
_LEGACY_MULTIPROC_DIR = "prometheus_multiproc_dir"  # the name prometheus-client 0.8 reads
STARTED = "serving.started"  # WSGI environ key: when the guard first saw the request
METADATA_PATHS = frozenset({"/metadata", "/api/v1.0/metadata"})
OPENAPI_PATHS = ("/api/v1.0/openapi.json", "/openapi.json")
WRAPPER_OPENAPI_PATH = "/seldon.json"
PREDICT, EXPLAIN = "predict", "explain"  # the two kinds of counted request
FEEDBACK_KEYS = frozenset({"request", "response", "reward", "truth"})

# A stopping worker answers the listen backlog for at most this long (the connections that were
# waiting, and those a client sent before it heard of the stop), then exits.
BACKLOG_BUDGET_SECONDS = 2.0

logger = logging.getLogger(__name__)


# ---- 1-3: the process: gunicorn options and the metrics server -----------------------------
def apply(metrics_dir: Path, host: str | None) -> None:
    """Install every change on the wrapper, before `seldon_core.microservice.main` runs."""
    merge_model_metrics(metrics_dir)
    patch_gunicorn_options(host)
    install_on_rest_app()


def patch_gunicorn_options(host: str | None) -> None:
    from seldon_core.gunicorn_utils import StandaloneApplication

    original = StandaloneApplication.load_config

    def load_config(self) -> None:
        bind = self.options.get("bind")
        if bind and host:
            self.options["bind"] = f"{host}:{bind.rsplit(':', 1)[1]}"
        on_exit = self.options.get("worker_exit")
        if on_exit is not None and not getattr(on_exit, "finishes_backlog", False):
            self.options["worker_exit"] = _finish_backlog_then(on_exit)
        original(self)

    StandaloneApplication.load_config = load_config


def _finish_backlog_then(on_exit):
    def worker_exit(server, worker) -> None:
        try:
            answered = finish_backlog(worker)
            if answered:
                logger.info("worker %s answered %d waiting connection(s) on exit", worker.pid, answered)
        finally:
            on_exit(server, worker)

    worker_exit.finishes_backlog = True  # type: ignore[attr-defined]
    return worker_exit


def finish_backlog(worker, budget_seconds: float = BACKLOG_BUDGET_SECONDS) -> int:
    """In a stopping sync worker: accept and answer what waits in the listen backlog, until it
    is empty or `budget_seconds` have passed. Under steady traffic the backlog never empties:
    without the budget a worker kept answering for gunicorn's whole graceful timeout (30 s,
    1,537 requests after SIGTERM in test_serving_faults)."""
    from gunicorn.workers.sync import SyncWorker

    if os.getpid() != getattr(worker, "pid", None) or not isinstance(worker, SyncWorker):
        return 0  # the arbiter calls worker_exit too, for workers that are already gone
    deadline = time.monotonic() + budget_seconds
    answered = 0
    for listener in getattr(worker, "sockets", []):
        try:
            listener.setblocking(False)
        except OSError:
            continue
        while time.monotonic() < deadline:
            try:
                worker.accept(listener)  # the sync worker's accept: blocking client, handled whole
            except OSError:  # EAGAIN: the backlog is empty (or the listener is gone)
                break
            answered += 1
    return answered


def prepare_multiprocess_dir() -> Path:
    """The metrics directory, exported under both names, emptied of an earlier run's files.
    Must run before prometheus_client is imported: it picks its value class at import."""
    given = os.environ.get(MULTIPROC_DIR) or os.environ.get(_LEGACY_MULTIPROC_DIR)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="serving-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_DIR] = os.environ[_LEGACY_MULTIPROC_DIR] = str(path)
    return path


def merge_model_metrics(path: Path) -> None:
    """The wrapper's metrics answer: Seldon's series plus every worker's model metrics."""
    from prometheus_client import CollectorRegistry, exposition, multiprocess
    from seldon_core import microservice
    from seldon_core.metrics import SeldonMetrics

    def generate_metrics(self):
        registry = CollectorRegistry()
        registry.register(self)
        multiprocess.MultiProcessCollector(registry, path=str(path))
        return exposition.generate_latest(registry).decode("utf-8"), exposition.CONTENT_TYPE_LATEST

    original_update = SeldonMetrics.update

    def update(self, custom_metrics, method):
        if custom_metrics:
            original_update(self, custom_metrics, method)

    original_exit = microservice.worker_exit

    def worker_exit(server, worker, seldon_metrics):
        multiprocess.mark_process_dead(os.getpid(), str(path))
        original_exit(server, worker, seldon_metrics=seldon_metrics)

    SeldonMetrics.generate_metrics = generate_metrics
    SeldonMetrics.update = update
    microservice.worker_exit = worker_exit


# ---- 4-9: the Flask app the wrapper builds -------------------------------------------------
def install_on_rest_app() -> None:
    """The wrapper's app factory, followed by `install` for this project's model class."""
    import seldon_core.wrapper as wrapper

    from seldon.model import BundleModel

    original = wrapper.get_rest_microservice

    def get_rest_microservice(user_model, seldon_metrics):
        app = original(user_model, seldon_metrics)
        if isinstance(user_model, BundleModel):
            install(app, user_model)
        return app

    wrapper.get_rest_microservice = get_rest_microservice


def install(app: Flask, model: BundleModel) -> None:
    kinds = dict.fromkeys(PREDICT_PATHS, PREDICT) | dict.fromkeys(EXPLAIN_PATHS, EXPLAIN)
    limit = model.settings.max_request_bytes
    app.config["MAX_CONTENT_LENGTH"] = limit
    app.json = json_provider(app)

    def count_refusal(path: str, error: RequestError, seconds: float) -> None:
        kind = kinds.get(path)
        if kind is not None:
            _count(model, kind, error.status_code, seconds, error.rule)

    app.wsgi_app = RequestGuard(app.wsgi_app, limit, app.url_map, on_reject=count_refusal)  # type: ignore[method-assign]
    _add_hooks(app, model, kinds)
    _add_error_handlers(app, limit)
    _add_routes(app, model)


def _count(model: BundleModel, kind: str, status: int, seconds: float, rule: str | None) -> None:
    """Count one answered predict or explain request, the one place that does: ok below 400; a
    5xx naming no rule is an error; any other failure is rejected, by its rule (`bad_data` when
    it names none)."""
    if model.session is None:
        return
    if status < 400:
        outcome, reason = "ok", None
    elif status >= 500 and rule is None:
        outcome, reason = "error", None
    else:
        outcome, reason = "rejected", rule or "bad_data"
    metrics = model.session.metrics
    (metrics.request if kind == PREDICT else metrics.explain_request)(outcome, seconds, reason)


def json_provider(app: Flask):
    from flask.json.provider import DefaultJSONProvider

    class OneDecoderJSONProvider(DefaultJSONProvider):
        def loads(self, s: str | bytes, **kwargs: Any) -> Any:
            return decode_json(s)

        def dumps(self, obj: Any, **kwargs: Any) -> str:
            try:
                return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode()
            except TypeError:  # what orjson cannot encode: Flask's default encoder
                return super().dumps(obj, **kwargs)

    return OneDecoderJSONProvider(app)


def _add_hooks(app: Flask, model: BundleModel, kinds: dict[str, str]) -> None:
    from flask import jsonify, request

    @app.before_request
    def _before():
        if request.method == "GET" and request.path in METADATA_PATHS:
            return jsonify(_live_metadata(model))
        if request.method == "GET" and request.path == WRAPPER_OPENAPI_PATH:
            return _openapi(model)
        if request.method != "POST" or request.path not in BODY_PATHS:
            return None
        body = request.get_json(force=True)  # decoded once: the wrapper's get_json() reads this
        if not isinstance(body, dict) or not body:
            raise RequestError(
                f"request body must be a non-empty JSON object, got {short_repr(body)}", None, "shape"
            )
        if request.path in FEEDBACK_PATHS:
            _check_feedback(body)
        return None

    @app.after_request
    def _after(response):
        rule = _complete_status(response) if response.status_code >= 400 and response.is_json else None
        kind = kinds.get(request.path)
        started = request.environ.get(STARTED)
        if kind is not None and started is not None:
            _count(model, kind, response.status_code, time.perf_counter() - started, rule)
        return response


def _add_error_handlers(app: Flask, limit: int) -> None:
    from flask import jsonify
    from werkzeug.exceptions import RequestEntityTooLarge

    def answer(error: RequestError):
        return jsonify(error.to_dict()), error.status_code

    app.register_error_handler(RequestError, answer)

    def http_error(exc: HTTPException):  # the wrapper's catch-all would make a 404/405 a 500
        code = exc.code or 400
        return answer(
            RequestError(exc.description or exc.name, None, exc.name.lower().replace(" ", "_"), code)
        )

    app.register_error_handler(HTTPException, http_error)

    def too_large(_exc):
        return answer(
            RequestError(f"request body is over the limit of {limit} bytes", None, "body_too_large", 413)
        )

    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_error_handler(
        _AdminDisabled,
        lambda _e: _admin_status(404, "admin routes are disabled (no ADMIN_TOKEN)", "ADMIN_DISABLED"),
    )
    app.register_error_handler(
        _AdminForbidden, lambda _e: _admin_status(403, "admin token missing or wrong", "ADMIN_FORBIDDEN")
    )


def _live_metadata(model: BundleModel) -> dict:
    """The bundle this worker serves now (the wrapper's metadata is computed once, at start)."""
    _session, served = model._served()
    meta = served.bundle.metadata
    return {
        "name": meta.name,
        "versions": [served.version],
        "platform": "sklearn",
        "version": served.version,
        "run_id": meta.run_id,
        "flyte_execution_id": meta.flyte_execution_id,
        "training_window": asdict(meta.training_window),
        "dataset_digests": meta.dataset_digests,
        "metrics": meta.metrics,
        "compiled": asdict(meta.compiled) if meta.compiled else None,
        "inputs": request_inputs(served.schema),
        "unknown_category": served.schema.unknown_category,
        "outputs": served.schema.output.to_dict(),
    }


def _admin_status(code: int, info: str, reason: str):
    from flask import jsonify

    return jsonify({"status": {"status": 1, "code": code, "info": info, "reason": reason}}), code


def _openapi(model: BundleModel) -> Response:
    """The document for the bundle this worker serves now (`seldon/openapi.py`)."""
    from flask import Response

    if model.session is None:
        raise RequestError("no model loaded yet", None, "not_loaded", status_code=503)
    served = model.session.served()
    document = openapi.document(served.schema, served.name)
    return Response(json.dumps(document), mimetype="application/json")


def _add_routes(app: Flask, model: BundleModel) -> None:
    from flask import jsonify, request

    for path in OPENAPI_PATHS:
        endpoint = "openapi" + path.replace("/", "_").replace(".", "_")
        app.add_url_rule(path, endpoint, lambda: _openapi(model), methods=["GET"])

    def explain():
        return jsonify(model.explain(request.get_json()))

    for path in sorted(EXPLAIN_PATHS):
        endpoint = "explain" + path.replace("/", "_").replace(".", "_")  # no dots in endpoint names
        app.add_url_rule(path, endpoint, explain, methods=["POST"])

    def authorize() -> None:
        token = model.settings.admin_token
        if not token:
            raise _AdminDisabled()
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise _AdminForbidden()

    def versions():
        authorize()
        root = model.settings.model_root
        folder = Path(root) / VERSIONS_DIR
        found = folder.iterdir() if folder.is_dir() else []
        # dot-folders are downloads in progress (seldon.sync), not versions
        names = sorted(p.name for p in found if p.is_dir() and not p.name.startswith("."))
        served = model.session.champion if model.session is not None else None
        return jsonify(
            {
                "pointer": read_pointer(root),
                "versions": names,
                "this_worker_serves": served.version if served else None,
            }
        )

    def move_pointer():
        """Roll back (or forward) to a version already synced under versions/."""
        authorize()
        return jsonify({"pointer": _moved_pointer(model.settings.model_root, request.get_json(silent=True))})

    app.add_url_rule("/admin/versions", "admin_versions", versions, methods=["GET"])
    app.add_url_rule("/admin/pointer", "admin_pointer", move_pointer, methods=["POST"])


def _moved_pointer(root: str, body: object) -> dict:
    version = body.get("version") if isinstance(body, dict) else None
    if not isinstance(version, str | int) or isinstance(version, bool):
        raise RequestError('send {"version": "<registry version>"}', "version", "missing")
    version = str(version)
    try:
        target = checked_version_dir(root, version)
    except VersionError as exc:
        raise RequestError(str(exc), "version", "version_name") from None
    if not target.is_dir():
        raise RequestError(
            f"no bundle for version {version!r} under {VERSIONS_DIR}/", "version", "unknown_version"
        )
    try:
        load_bundle(target)  # never point the fleet at a bundle that fails its checks
    except BundleError as exc:
        raise RequestError(str(exc), "version", "bad_bundle", status_code=409) from None
    reason = body.get("reason") if isinstance(body, dict) else None
    pointer = write_pointer(root, version, source=reason if isinstance(reason, str) else "admin")
    logger.warning("admin moved the pointer to version %s", version)
    return pointer


class _AdminDisabled(Exception):
    pass


class _AdminForbidden(Exception):
    pass


def _check_feedback(body: dict) -> None:
    """Feedback that Seldon's Feedback message can hold (else the wrapper's conversion is a 500)."""
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


def _complete_status(response: Response) -> str | None:
    """The rule an error answer names; the wrapper's own errors say `code: -1` and no rule: give
    them the HTTP code and a rule (from their reason), like every answer of this server."""
    try:
        body = response.get_json(silent=True)
    except Exception:
        return None
    status = body.get("status") if isinstance(body, dict) else None
    if not isinstance(status, dict):
        return None
    if "rule" in status and status.get("code") == response.status_code:
        return status["rule"]
    status["code"] = response.status_code
    status.setdefault("field", None)
    status.setdefault("rule", str(status.get("reason", "error")).lower())
    response.set_data(json.dumps(body))
    return None


# ---- 4-5: the request guard and the JSON decoder --------------------------------------------
MAX_JSON_DEPTH = 32
LINGER_SECONDS = 5.0  # at most this long spent discarding the rest of a refused body
LINGER_BYTES = 512 * 1024 * 1024  # and at most this many bytes
_CHUNK = 64 * 1024

PREDICT_PATHS = frozenset({"/predict", "/api/v1.0/predictions", "/api/v0.1/predictions"})
FEEDBACK_PATHS = frozenset({"/send-feedback", "/api/v1.0/feedback", "/api/v0.1/feedback"})
# Explained predictions (scoring/explanation.py), same body as predictions.
EXPLAIN_PATHS = frozenset({"/explain", "/api/v1.0/explain"})
BODY_PATHS = PREDICT_PATHS | FEEDBACK_PATHS | EXPLAIN_PATHS

# The wrapper also routes these Seldon component calls, which this model does not implement, and
# accepts GET (with a `json` query parameter) on /predict and /send-feedback: answered 404 / 405.
DISABLED_PATHS = frozenset({"/transform-input", "/transform-output", "/route", "/aggregate"})
JSON_TYPES = frozenset({"application/json", ""})  # no Content-Type: read as JSON (curl -d '...')


@dataclass
class RequestGuard:
    """WSGI middleware: `app.wsgi_app = RequestGuard(app.wsgi_app, limit, on_reject)`."""

    app: Callable
    max_body_bytes: int
    url_map: Map  # the Flask app's routes, read at request time (blueprints may add some)
    on_reject: Callable[[str, RequestError, float], None] | None = None  # (path, error, seconds)
    linger_seconds: float = LINGER_SECONDS
    linger_bytes: int = LINGER_BYTES

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = environ[STARTED] = time.perf_counter()  # the latency histogram's start
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method == "OPTIONS":  # CORS preflight, answered by the wrapper's flask-cors
            return self.app(environ, start_response)
        # the body routes answer POST by construction (the wrapper's and the explain route):
        # matching them against the url map would cost a prediction a fifth of its time
        refused = (
            None if method == "POST" and path in BODY_PATHS else self._route_error(environ, path, method)
        )
        if refused is not None:
            error, headers = refused
            return self._refuse(environ, start_response, started, error, headers)
        if method != "POST":
            return self.app(environ, start_response)
        if any(
            key == "json" for key, _ in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        ):
            return self._refuse(
                environ,
                start_response,
                started,
                RequestError(
                    "send the request as the JSON body, not in a 'json' query parameter", "json", "query_json"
                ),
            )
        mimetype = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if mimetype not in JSON_TYPES and not mimetype.endswith("+json"):
            return self._refuse(
                environ,
                start_response,
                started,
                RequestError(
                    f"Content-Type {mimetype!r} is not supported: send Content-Type application/json",
                    "Content-Type",
                    "content_type",
                    415,
                ),
            )
        return self._check_size(environ, start_response, started)

    def _route_error(
        self, environ: dict, path: str, method: str
    ) -> tuple[RequestError, list[tuple[str, str]]] | None:
        allowed: list[str] = []
        if path not in DISABLED_PATHS:
            try:
                self.url_map.bind_to_environ(environ).match(path, method=method)
            except MethodNotAllowed as exc:
                allowed = sorted(exc.valid_methods or [])
            except NotFound:
                pass
            except HTTPException:  # a redirect (trailing slash): Flask answers it
                return None
            else:
                if method in ("GET", "HEAD") and path in BODY_PATHS:
                    allowed = ["POST"]
                else:
                    return None
        if not allowed:
            message = f"no route {path!r} on this server: see /api/v1.0/openapi.json"
            return RequestError(message, None, "not_found", 404), []
        shown = [m for m in allowed if m not in ("HEAD", "OPTIONS")]
        message = f"{method} is not allowed on {path}: use {' or '.join(shown)}"
        return RequestError(message, None, "method", 405), [("Allow", ", ".join(allowed))]

    def _check_size(self, environ: dict, start_response: Callable, started: float) -> Iterable[bytes]:
        limit = self.max_body_bytes
        length = environ.get("CONTENT_LENGTH") or ""
        if length:
            try:
                size = int(length)
            except ValueError:  # gunicorn refuses most bad lengths itself
                size = -1
            if size < 0:
                return self._refuse(
                    environ,
                    start_response,
                    started,
                    RequestError(
                        f"Content-Length {length!r} is not a size", "Content-Length", "content_length"
                    ),
                )
            if size > limit:
                return self._refuse(
                    environ,
                    start_response,
                    started,
                    RequestError(
                        f"request body is {size} bytes, over the limit of {limit}",
                        None,
                        "body_too_large",
                        413,
                    ),
                )
            return self.app(environ, start_response)
        if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return self.app(environ, start_response)  # no body
        # chunked: read at most limit + 1 bytes, then hand the app a sized body
        try:
            body = _read_up_to(environ["wsgi.input"], limit + 1)
        except Exception as exc:  # broken chunk framing
            return self._refuse(
                environ,
                start_response,
                started,
                RequestError(f"request body could not be read: {exc}", None, "body_framing"),
            )
        if len(body) > limit:
            return self._refuse(
                environ,
                start_response,
                started,
                RequestError(f"request body is over the limit of {limit} bytes", None, "body_too_large", 413),
            )
        environ["wsgi.input"] = BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    def _refuse(
        self,
        environ: dict,
        start_response: Callable,
        started: float,
        error: RequestError,
        headers: list[tuple[str, str]] | None = None,
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if self.on_reject is not None:
            try:
                self.on_reject(path, error, time.perf_counter() - started)
            except Exception:  # counting must never turn a 4xx into a 500
                logger.exception("could not count a rejection")
        payload = json.dumps(error.to_dict()).encode()
        start_response(
            f"{error.status_code} {_REASONS.get(error.status_code, 'Error')}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("Connection", "close"),
                *(headers or []),
            ],
        )
        return _AnswerThenDiscard(payload, environ, self.linger_seconds, self.linger_bytes)


_REASONS = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
}


def _read_up_to(stream, limit: int) -> bytes:
    parts, size = [], 0
    while size < limit:
        block = stream.read(min(_CHUNK, limit - size))
        if not block:
            break
        parts.append(block)
        size += len(block)
    return b"".join(parts)


class _AnswerThenDiscard:
    """The refusal's body; on close (after the server wrote it) the unread request body is read
    and dropped, bounded in bytes and time, so the connection closes without a reset."""

    def __init__(self, payload: bytes, environ: dict, seconds: float, max_bytes: int):
        self.payload = payload
        self.environ = environ
        self.seconds = seconds
        self.max_bytes = max_bytes

    def __iter__(self):
        yield self.payload

    def close(self) -> None:
        stream = self.environ.get("wsgi.input")
        if stream is None:
            return
        sock = self.environ.get("gunicorn.socket")
        deadline = time.monotonic() + self.seconds
        discarded = 0
        try:
            while discarded < self.max_bytes:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if sock is not None:
                    sock.settimeout(remaining)
                block = stream.read(_CHUNK)
                if not block:
                    break
                discarded += len(block)
        except Exception as exc:  # client gone, timeout, broken framing: nothing more to do
            logger.debug("stopped discarding a refused body after %d bytes: %s", discarded, exc)


def decode_json(raw: bytes | str) -> Any:
    """Parse a request body; any failure is a RequestError naming the problem."""
    if not raw or not raw.strip():
        raise RequestError("request body is empty: send a JSON object", None, "not_json")
    try:
        value = _fast_loads(raw)
    except RecursionError:
        raise _too_deep() from None
    except _FastError as fast_error:
        if "recursion" in str(fast_error).lower():
            raise _too_deep() from None
        try:  # NaN / Infinity literals and integers beyond 64 bits: the standard library reads them
            value = json.loads(raw)
        except RecursionError:
            raise _too_deep() from None
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int over 4300 digits
            raise RequestError(f"request body is not valid JSON: {exc}", None, "not_json") from None
    if (type(value) is dict or type(value) is list) and not _within_depth(value, raw, MAX_JSON_DEPTH):
        raise _too_deep()
    return value


def _too_deep() -> RequestError:
    return RequestError(
        f"request body nests deeper than {MAX_JSON_DEPTH} levels: requests are at most 5 deep",
        None,
        "nesting",
    )


def _within_depth(value: Any, raw: bytes | str, limit: int) -> bool:
    opened = raw.count(b"[") + raw.count(b"{") if isinstance(raw, bytes) else raw.count("[") + raw.count("{")
    if opened <= limit:  # cannot be deeper than the number of brackets (the one-row case)
        return True
    # level by level, each level's child types gathered in C (map, chain, set): a 1000-record
    # body is two levels of containers over 17,000 scalars, not 17,000 Python-level checks
    level, depth = [value], 1
    while level:
        if depth > limit:
            return False
        children = list(_children(level))
        if not _CONTAINERS & set(map(type, children)):
            return True
        level = [child for child in children if type(child) is list or type(child) is dict]
        depth += 1
    return True


_CONTAINERS = frozenset({dict, list})


def _children(level: list) -> Iterable[Any]:
    return chain(
        chain.from_iterable(map(dict.values, [node for node in level if type(node) is dict])),
        chain.from_iterable(node for node in level if type(node) is list),
    )
