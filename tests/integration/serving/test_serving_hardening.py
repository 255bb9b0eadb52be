"""Malformed input against the real microservice: every answer is a 4xx naming the problem.

The first tests replay what a new user found (overflowing integers, 5,000-level nesting, form
bodies, a 200,000-row batch); the last ones are Hypothesis-generated corpora (bounded in examples
and time) sent to the live server, asserting no 5xx and that every 4xx body names the problem.
"""

from __future__ import annotations

import json
import socket
import time
from datetime import datetime

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving_support import MAX_REQUEST_BYTES, REPO, load_cases

import usecases
from contract.bundle import Schema
from seldon.openapi import document

cases = load_cases()
pytestmark = pytest.mark.slow
PREDICT = "/api/v1.0/predictions"
RECORD = cases.records()[0]
NUMERIC = [name for name, value in RECORD.items() if not isinstance(value, str)]
CORPUS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same corpus on every run: a failure is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def post(server, body: bytes | str, content_type: str | None = "application/json", path=PREDICT, **kw):
    headers = {"Content-Type": content_type} if content_type else {}
    return requests.post(f"{server.url}{path}", data=body, headers=headers, timeout=30, **kw)


def assert_names_the_problem(response: requests.Response) -> dict:
    """A 4xx whose JSON status says what is wrong (and the rule); never a 5xx."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    status = response.json()["status"]
    assert status["code"] == response.status_code
    assert status["rule"] and len(status["info"]) > 10, status
    return status


@pytest.mark.parametrize("field", NUMERIC)
def test_integers_beyond_float64_are_a_400_naming_the_field(server, field):
    huge = json.dumps({"jsonData": {**RECORD, field: "__HUGE__"}}).replace('"__HUGE__"', "9" * 400)
    status = assert_names_the_problem(post(server, huge))
    assert status["field"] == field and status["rule"] == "finite"
    assert f"'{field}'" in status["info"] and "400 digits" in status["info"]
    big = json.dumps({"jsonData": {**RECORD, field: "__BIG__"}}).replace('"__BIG__"', str(10**19))
    status = assert_names_the_problem(post(server, big))
    assert status["field"] == field and status["rule"] == "max"


@pytest.mark.parametrize(
    ("name", "body", "content_type", "code", "rule", "says"),
    [
        (
            "5000 levels",
            '{"jsonData": ' + "[" * 5000 + "]" * 5000 + "}",
            "application/json",
            400,
            "nesting",
            "deeper than 32",
        ),
        (
            "100 levels in a field",
            json.dumps({"jsonData": {**RECORD, "carrier": "X"}}).replace('"X"', "[" * 100 + "]" * 100),
            "application/json",
            400,
            "nesting",
            "deeper than 32",
        ),
        (
            "nested puid",
            json.dumps({"jsonData": RECORD, "meta": {"puid": [[["x"]]]}}),
            "application/json",
            400,
            "type",
            "'meta.puid'",
        ),
        (
            "form with a json field",
            "json=" + json.dumps({"jsonData": RECORD}),
            "application/x-www-form-urlencoded",
            415,
            "content_type",
            "application/json",
        ),
        (
            "form with broken json",
            "json=[[[",
            "application/x-www-form-urlencoded",
            415,
            "content_type",
            "x-www-form-urlencoded",
        ),
        (
            "multipart",
            '--b\r\nContent-Disposition: form-data; name="json"\r\n\r\n{}\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
            415,
            "content_type",
            "multipart/form-data",
        ),
        ("text", json.dumps({"jsonData": RECORD}), "text/plain", 415, "content_type", "text/plain"),
        ("empty body", "", "application/json", 400, "not_json", "empty"),
        (
            "5000-digit integer",
            '{"jsonData": {"distance": ' + "9" * 5000 + "}}",
            "application/json",
            400,
            "not_json",
            "not valid JSON",
        ),
        ("not utf-8", b'{"jsonData": "\xff\xfe"}', "application/json", 400, "not_json", "not valid JSON"),
    ],
)
def test_malformed_bodies_found_by_users(server, name, body, content_type, code, rule, says):
    status = assert_names_the_problem(post(server, body, content_type))
    assert (status["code"], status["rule"]) == (code, rule), status
    assert says in status["info"], status


@pytest.mark.parametrize(
    ("method", "path", "code", "rule"),
    [
        ("GET", "/no/such/route", 404, "not_found"),
        ("GET", PREDICT, 405, "method"),
        ("PUT", PREDICT, 405, "method"),
        ("GET", "/predict?json=%5B%5B", 405, "method"),
        ("POST", PREDICT + "?json=%5B%5B", 400, "query_json"),
        ("POST", "/transform-input", 404, "not_found"),
        ("DELETE", "/health/status", 405, "method"),
    ],
)
def test_routes_and_methods_outside_the_api_are_4xx(server, method, path, code, rule):
    response = requests.request(method, f"{server.url}{path}", json={"jsonData": RECORD}, timeout=10)
    status = assert_names_the_problem(response)
    assert (status["code"], status["rule"]) == (code, rule), status


def test_feedback_the_protobuf_cannot_hold_is_a_400(server):
    url = "/api/v1.0/feedback"
    for body, rule in [
        ([1], "shape"),
        ({"truth": {"data": {"ndarray": [[1]]}}, "reward": -1}, "reward"),
        ({"truth": {"data": {"ndarray": [[1]]}}, "reward": "1e999"}, "reward"),
        ({"truth": {"data": {"ndarray": [[1]]}}, "extra": 1}, "unknown_field"),
        ({"truth": {"data": {"ndarray": 5}}}, "feedback"),
    ]:
        status = assert_names_the_problem(post(server, json.dumps(body), path=url))
        assert status["rule"] == rule, (body, status)
    huge = '{"truth": {"data": {"ndarray": [[1]]}}, "reward": ' + "9" * 400 + "}"
    assert assert_names_the_problem(post(server, huge, path=url))["rule"] == "reward"


def _http_post_raw(server, headers: dict, timeout: float = 10) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.http_port), timeout=timeout)
    head = f"POST {PREDICT} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode())
    return sock


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while True:
        block = sock.recv(65536)  # ConnectionResetError here is the failure this test is about
        if not block:
            return data
        data += block


def test_oversized_body_gets_413_before_it_is_read_and_no_reset(server):
    """A 200,000-row batch (about 77 MB): the 413 is on the wire after 1 MB has been sent, and
    the client can send the rest and read the answer without the connection being reset."""
    row = json.dumps(RECORD).encode()
    size = 200_000 * (len(row) + 1) + 14
    sock = _http_post_raw(server, {"Content-Type": "application/json", "Content-Length": size})
    try:
        sent = b'{"jsonData": [' + (row + b",") * 2500
        sock.sendall(sent)
        sock.settimeout(10)
        first = sock.recv(65536)  # the answer arrives while 98 % of the body is still unsent
        assert first.startswith(b"HTTP/1.1 413"), first[:200]
        remaining = size - len(sent)
        block = (row + b",") * 2000
        while remaining > 0:  # the server discards it instead of resetting the connection
            chunk = block[:remaining]
            sock.sendall(chunk)
            remaining -= len(chunk)
        rest = _read_response(sock)
    finally:
        sock.close()
    body = (first + rest).split(b"\r\n\r\n", 1)[1]
    status = json.loads(body)["status"]
    assert status["rule"] == "body_too_large" and str(size) in status["info"]


def test_chunked_body_over_the_limit_gets_413_without_being_read_whole(server):
    row = json.dumps(RECORD).encode() + b","
    total = 0

    def chunks():
        nonlocal total
        yield b'{"jsonData": ['
        while total < 6 * MAX_REQUEST_BYTES:
            block = row * 500
            total += len(block)
            yield block
        yield row[:-1] + b"]}"

    started = time.monotonic()
    response = requests.post(
        f"{server.url}{PREDICT}", data=chunks(), headers={"Content-Type": "application/json"}, timeout=30
    )
    status = assert_names_the_problem(response)
    assert status["rule"] == "body_too_large" and response.status_code == 413
    assert str(MAX_REQUEST_BYTES) in status["info"]
    assert time.monotonic() - started < 20


def test_the_server_still_answers_after_all_that(server):
    for _ in range(4):  # both workers
        assert (
            requests.post(f"{server.url}{PREDICT}", json={"jsonData": RECORD}, timeout=10).status_code == 200
        )
    assert server.process.poll() is None


# ---- generated corpora ---------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False)
    | st.integers(min_value=-(10**500), max_value=10**500)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated_requests(draw) -> str:
    """A valid record with one to three fields broken, in records or ndarray shape, one or more rows."""
    record = dict(RECORD)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["set", "drop", "add", "literal"]))
        name = draw(st.sampled_from(sorted(record) or ["carrier"]))
        if action == "set":
            record[name] = draw(json_values)
        elif action == "drop":
            record.pop(name, None)
        elif action == "add":
            record[draw(st.text(max_size=12))] = draw(json_values)
        else:
            record[name] = "__LITERAL__"
    rows = [record] * draw(st.integers(1, 3))
    if draw(st.booleans()):
        names = list(record)
        body = {"data": {"names": names, "ndarray": [[r[n] for n in names] for r in rows]}}
    else:
        body = {"jsonData": rows if len(rows) > 1 else record}
    text = json.dumps(body)
    literal = draw(
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "9" * 320, "[" * 40 + "]" * 40])
    )
    return text.replace('"__LITERAL__"', literal)


@CORPUS
@given(body=mutated_requests())
def test_generated_malformed_records_never_reach_a_500(server, body):
    response = post(server, body)
    if response.status_code == 200:  # a mutation can stay valid (an unknown category, a float in range)
        assert response.json()["data"]["ndarray"]
        return
    status = assert_names_the_problem(response)
    if status["field"]:
        assert status["field"] in status["info"]


@CORPUS
@given(
    body=st.binary(max_size=200) | json_values.map(json.dumps),
    content_type=st.sampled_from(
        [
            None,
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/octet-stream",
        ]
    ),
    path=st.sampled_from([PREDICT, "/api/v1.0/feedback", "/predict", "/send-feedback"]),
)
def test_generated_arbitrary_bodies_never_reach_a_500(server, body, content_type, path):
    assert_names_the_problem(post(server, body, content_type, path=path))


# ---- the OpenAPI document, and requests generated from it -------------------------------------

# generated from the schema the served bundles share with the test data (seldon/openapi.py)
OPENAPI = document(
    Schema.from_dict(json.loads((REPO / "tests" / "data" / "serving" / "schema.json").read_text())),
    usecases.current().model_name,  # the bundles are the use case's
)


def from_schema(schema: dict) -> st.SearchStrategy:
    """Hypothesis strategy for the subset of OpenAPI 3.0 schemas seldon/openapi.json uses
    ($ref, oneOf, object, array, string, number with bounds, nullable, enum)."""
    if "$ref" in schema:
        return st.deferred(
            lambda: from_schema(OPENAPI["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
        )
    if "oneOf" in schema:
        strategy = st.one_of([from_schema(s) for s in schema["oneOf"]])
    elif "enum" in schema:
        strategy = st.sampled_from(schema["enum"])
    elif schema.get("type") == "object":
        required = schema.get("required", [])
        strategy = st.fixed_dictionaries(
            {k: from_schema(schema["properties"][k]) for k in required},
            optional={
                k: from_schema(v) for k, v in schema.get("properties", {}).items() if k not in required
            },
        )
    elif schema.get("type") == "array":
        strategy = st.lists(
            from_schema(schema["items"]),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 3), 3),
            unique=schema.get("uniqueItems", False),
        )
    elif schema.get("type") == "string" and "pattern" in schema:  # the scheduled departure
        strategy = st.datetimes(datetime(2013, 1, 1), datetime(2013, 12, 31)).map(
            lambda t: t.strftime("%Y-%m-%dT%H:%M")
        )
    elif schema.get("type") == "string":
        strategy = st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 12))
    elif schema.get("type") == "number":
        strategy = st.floats(
            schema.get("minimum"),
            schema.get("maximum"),
            exclude_min=schema.get("exclusiveMinimum", False),
            allow_nan=False,
        )
    else:
        raise ValueError(f"schema construct not covered: {schema}")
    return strategy | st.none() if schema.get("nullable") else strategy


def test_openapi_document_is_served_and_describes_the_served_model(server):
    for path in ("/api/v1.0/openapi.json", "/seldon.json"):
        served = requests.get(f"{server.url}{path}", timeout=10)
        assert served.status_code == 200 and served.json() == OPENAPI
    inputs = requests.get(f"{server.url}/api/v1.0/metadata", timeout=10).json()["inputs"]
    record = OPENAPI["components"]["schemas"]["Record"]
    assert record["required"] == [f["name"] for f in inputs]
    for spec in inputs:
        documented = record["properties"][spec["name"]]
        assert documented["type"] == ("number" if spec["kind"] == "number" else "string")
        assert documented.get("nullable", False) == bool(spec.get("nullable"))
        assert (documented.get("minimum"), documented.get("maximum")) == (spec.get("min"), spec.get("max"))
        assert documented.get("exclusiveMinimum", False) == bool(spec.get("min_exclusive"))
    for path, operations in OPENAPI["paths"].items():  # every documented route is routed
        for method in operations:
            answer = requests.request(method.upper(), f"{server.url}{path}", json={}, timeout=10)
            assert answer.status_code not in (404, 405) or answer.json()["status"]["rule"] not in (
                "not_found",
                "method",
            ), (method, path, answer.text)


@CORPUS
@given(body=from_schema(OPENAPI["components"]["schemas"]["RecordsRequest"]))
def test_requests_valid_under_the_openapi_schema_are_scored(server, body):
    response = post(server, json.dumps(body))
    assert response.status_code == 200, response.text[:500]
    rows = body["jsonData"] if isinstance(body["jsonData"], list) else [body["jsonData"]]
    assert len(response.json()["data"]["ndarray"]) == len(rows)


@CORPUS
@given(body=from_schema(OPENAPI["components"]["schemas"]["RecordsRequest"]))
def test_requests_valid_under_the_openapi_schema_are_explained(server, body):
    response = requests.post(
        f"{server.url}/api/v1.0/explain",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text[:500]
    rows = body["jsonData"] if isinstance(body["jsonData"], list) else [body["jsonData"]]
    explained = response.json()["jsonData"]["explanations"]
    documented = OPENAPI["components"]["schemas"]["ExplanationResponse"]["properties"]["jsonData"]
    assert len(explained) == len(rows)
    for row in explained:
        assert set(documented["properties"]["explanations"]["items"]["required"]) <= set(row)
        total = row["base_value"] + sum(c["contribution"] for c in row["contributions"])
        assert abs(total - row["raw_score"]) < 1e-6, row


@st.composite
def schema_violations(draw):
    """A schema-valid record with one feature given a value its OpenAPI schema forbids."""
    record = draw(from_schema(OPENAPI["components"]["schemas"]["Record"]))
    name = draw(st.sampled_from(sorted(record)))
    spec = OPENAPI["components"]["schemas"]["Record"]["properties"][name]
    if spec["type"] == "string":
        value, rules = draw(st.integers() | st.booleans() | st.lists(st.text(), max_size=2)), {"type"}
    else:
        value, rules = draw(
            st.sampled_from(
                [
                    (spec["maximum"] + draw(st.floats(0.001, 1e300)), {"max"}),
                    (spec["minimum"] - draw(st.floats(0.001, 1e300)), {"min"}),
                    (draw(st.text(max_size=5)), {"type"}),
                    (draw(st.booleans()), {"type"}),
                    (None if not spec.get("nullable") else "x", {"null", "type"}),
                ]
            )
        )
    return {"jsonData": {**record, name: value}}, name, rules


@CORPUS
@given(case=schema_violations())
def test_requests_breaking_the_openapi_schema_get_a_400_naming_field_and_rule(server, case):
    body, name, rules = case
    status = assert_names_the_problem(post(server, json.dumps(body)))
    assert status["field"] == name and status["rule"] in rules, status
    assert f"'{name}'" in status["info"]
