"""Transport-level guards in front of the wrapper's Flask app, and the guarded JSON decoder.

`RequestGuard` is a WSGI middleware (installed by `seldon/routes.py` on the wrapper's app). It
answers, before the body is read and before Flask routes anything:

- an unknown path: 404; a known path with a method it does not serve: 405 (with `Allow`);
- a body sent in a `json` query parameter: 400 (the body must carry the JSON);
- a Content-Type other than JSON (form, multipart, text ...): 415, so form and multipart
  parsers never run;
- a body over MAX_REQUEST_BYTES: 413, decided from Content-Length before a byte of the body is
  read; a chunked body is read up to the limit and no further. The 413 is written first, then
  the rest of the body is read and thrown away (bounded in bytes and seconds, never buffered):
  a client sends its whole body before reading the answer, and a server that closes with unread
  bytes makes the kernel reset the connection, so the client would see a reset, not the 413.

Every answer is the JSON status the model's own 4xx carry, naming the rule.

`decode_json` parses a body with orjson (the standard library for what orjson refuses: NaN,
Infinity, integers beyond 64 bits), turns every decoding failure into a 400 (`not_json`), and
refuses nesting deeper than MAX_JSON_DEPTH (`nesting`): the deepest valid request is 5 levels,
and deep structures make recursive code (repr, protobuf, the standard library decoder) fail.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from io import BytesIO
from itertools import chain
from typing import Any
from urllib.parse import parse_qsl

try:  # the serving image has orjson; the pipeline env (unit tests, tools) decodes with json
    import orjson

    _fast_loads = orjson.loads
    _FastError: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - exercised by the pipeline env's unit tests
    _fast_loads = json.loads
    _FastError = ValueError

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map

from scoring.validation import RequestError

logger = logging.getLogger(__name__)

MAX_JSON_DEPTH = 32
LINGER_SECONDS = 5.0  # at most this long spent discarding the rest of a refused body
LINGER_BYTES = 512 * 1024 * 1024  # and at most this many bytes
_CHUNK = 64 * 1024

PREDICT_PATHS = frozenset({"/predict", "/api/v1.0/predictions", "/api/v0.1/predictions"})
FEEDBACK_PATHS = frozenset({"/send-feedback", "/api/v1.0/feedback", "/api/v0.1/feedback"})
# Explained predictions (seldon/explaining.py): the model's own explanations, same body as predictions.
EXPLAIN_PATHS = frozenset({"/explain", "/api/v1.0/explain"})
BODY_PATHS = PREDICT_PATHS | FEEDBACK_PATHS | EXPLAIN_PATHS

# The wrapper also routes these Seldon component calls, which this model does not implement, and
# accepts GET (with a `json` query parameter) on /predict and /send-feedback: answered 404 / 405.
DISABLED_PATHS = frozenset({"/transform-input", "/transform-output", "/route", "/aggregate"})
JSON_TYPES = frozenset({"application/json", ""})  # no Content-Type: read as JSON (curl -d '...')


def error_body(error: RequestError) -> bytes:
    return json.dumps(error.to_dict()).encode()


@dataclass
class RequestGuard:
    """WSGI middleware: `app.wsgi_app = RequestGuard(app.wsgi_app, limit, on_reject)`."""

    app: Callable
    max_body_bytes: int
    url_map: Map  # the Flask app's routes, read at request time (blueprints may add some)
    on_reject: Callable[[str, str, float], None] | None = None  # (path, rule, seconds)
    linger_seconds: float = LINGER_SECONDS
    linger_bytes: int = LINGER_BYTES

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method == "OPTIONS":  # CORS preflight, answered by the wrapper's flask-cors
            return self.app(environ, start_response)
        # the body routes answer POST by construction (the wrapper's and seldon/explaining.py's):
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
                self.on_reject(path, error.rule, time.perf_counter() - started)
            except Exception:  # counting must never turn a 4xx into a 500
                logger.exception("could not count a rejection")
        payload = error_body(error)
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
