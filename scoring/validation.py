"""Check a prediction request against the bundle's schema.json and turn it into model columns.

Two request shapes are accepted (Seldon v1 protocol):
  {"jsonData": {...}} or {"jsonData": [{...}, ...]}            records keyed by feature name
  {"data": {"names": [...], "ndarray": [[...], ...]}}           rows in the order of `names`

Every rule that fails raises `RequestError` naming the field, the row and the rule: the scorer's
own error (no HTTP library here); the Seldon adapter (`seldon.model`) answers it as a 4xx.

The checks run column by column, so a 1000-row batch costs a few list scans and numpy
comparisons, not 20,000 Python calls. Up to FEW_ROWS rows the number checks run on Python floats
(same rules, order and messages, proven equal by a property test): for one row that is several
times cheaper than the numpy calls, and the difference is a visible share of a served request
(docs/performance.md).
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contract.bundle import CATEGORY, EntitySpec, FeatureSpec, Schema
from operational.definitions import minute_of

JSON_DATA = "jsonData"
DATA = "data"
NAMES = "names"
NDARRAY = "ndarray"
_NUMBER_TYPES = (int, float)
# Up to this many rows a number column is checked on Python floats, above it with numpy
# (`_check_number`): the same rules, order and messages, measured crossover (docs/performance.md).
FEW_ROWS = 64
_INFINITIES = (math.inf, -math.inf)  # bool is neither (type(True) is bool), so true/false is refused
# An entity the online store is read by that is not a feature (contract.bundle.EntitySpec) is a
# string of at most this many characters: it becomes part of a store key.
MAX_ENTITY_CHARS = 64
LOCAL_TIME_EXAMPLE = "2013-06-14T07:05"  # how an event time is written (operational.definitions.minute_of)
META = "meta"
PUID = "puid"
MAX_PUID_CHARS = 256

_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxdict = 4


def short_repr(value: object) -> str:
    """A value as an error message may quote it: bounded in length and depth."""
    if type(value) is int and abs(value) >= 10**30:
        return f"an integer of {len(str(abs(value))) if abs(value) < 10**4000 else 'over 4000'} digits"
    return _REPR.repr(value)


class RequestError(Exception):
    """A request that breaks a schema rule: HTTP 400 (or 413) naming the field and the rule."""

    def __init__(self, message: str, field: str | None, rule: str, status_code: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule
        self.status_code = status_code

    @property
    def reason(self) -> str:
        return f"BAD_REQUEST_{self.rule.upper()}"

    def to_dict(self) -> dict:
        """The answer's body, in the shape of a Seldon v1 status."""
        return {
            "status": {
                "status": 1,
                "info": self.message,
                "code": self.status_code,
                "reason": self.reason,
                "field": self.field,
                "rule": self.rule,
            }
        }


@dataclass(frozen=True)
class Checked:
    """A valid request: model columns in schema order and what monitoring wants to know; for a
    model with an online store, the keys that find each row's online features (the event time as
    whole minutes, each entity that is not a feature as sent) and, once joined, what the join
    said."""

    columns: dict[str, list | np.ndarray]
    n_rows: int
    unknown_categories: dict[str, int]
    keys: dict[str, list] = field(default_factory=dict)
    online: Any = None  # scoring.online.Joined, once joined


class RequestSchema:
    """The bundle's `Schema` compiled once into what the per-request checks need."""

    def __init__(self, schema: Schema, max_rows: int, few_rows: int = FEW_ROWS):
        online = schema.online_store
        # the online store's features are never sent: its keys are, in their place
        self.served = frozenset(online.features if online else ())
        self.time = online.time if online else ""
        self.entity_keys = schema.entity_keys
        self.keys = ([self.time] if online else []) + [e.name for e in self.entity_keys]
        self.features = schema.request_features
        self.names = [f.name for f in self.features] + self.keys
        self.name_set = frozenset(self.names)
        self.categories = {f.name: frozenset(f.categories or ()) for f in self.features if f.kind == CATEGORY}
        self.max_rows = max_rows
        self.few_rows = few_rows  # number columns of up to this many rows: checked on Python floats

    def check(self, body: object) -> Checked:
        return _check_request(body, self)


def feedback_labels(message: dict, field: str, column_name: str) -> list[int]:
    """The 0/1 labels of a feedback message's part: the `column_name` column of data (the
    bundle's `output.truth` for the truth, its predicted flag for a response), or a flat /
    one-column ndarray, or jsonData."""
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
    labels = [row[column] if isinstance(row, list) and row else row for row in rows]
    for value in labels:
        if value not in (0, 1) or isinstance(value, str):
            raise RequestError(f"feedback '{field}' label {value!r} must be 0 or 1", field, "feedback")
    return [int(value) for value in labels]


def _fail(message: str, field: str | None, rule: str) -> RequestError:
    return RequestError(message, field, rule)


def _row_label(index: int, n_rows: int) -> str:
    return f" (row {index})" if n_rows > 1 else ""


def _check_request(body: object, schema: RequestSchema) -> Checked:
    rows_by_name, n_rows = _columns_of(body, schema)
    columns: dict[str, list | np.ndarray] = {}
    unknown: dict[str, int] = {}
    for spec in schema.features:
        name = spec.name
        values = rows_by_name[name]
        if spec.kind == CATEGORY:
            columns[name] = _check_category(spec, values, n_rows)
            missing = sum(1 for v in values if v is not None and v not in schema.categories[name])
            if missing:
                unknown[name] = missing
        else:
            columns[name] = _check_number(spec, values, n_rows, schema.few_rows)
    if not schema.keys:
        return Checked(columns, n_rows, unknown)
    keys = {schema.time: _check_time(schema.time, rows_by_name[schema.time], n_rows)}
    for entity in schema.entity_keys:
        keys[entity.name] = _check_entity(entity, rows_by_name[entity.name], n_rows)
    return Checked(columns, n_rows, unknown, keys)


def _check_time(name: str, values: list, n_rows: int) -> list[int]:
    """The event time of each row (local wall clock, to the minute) as whole minutes."""
    minutes = []
    for index, value in enumerate(values):
        where = _row_label(index, n_rows)
        if value is None:
            raise _fail(f"field '{name}'{where} is null: a value is required", name, "null")
        if type(value) is not str:
            raise _fail(
                f"field '{name}'{where} must be a string, a local time like '{LOCAL_TIME_EXAMPLE}', "
                f"got {type(value).__name__} {short_repr(value)}",
                name,
                "type",
            )
        try:
            minutes.append(minute_of(value))
        except ValueError:
            raise _fail(
                f"field '{name}'{where} must be a local time like '{LOCAL_TIME_EXAMPLE}', "
                f"got {short_repr(value)}",
                name,
                "format",
            ) from None
    return minutes


def _check_entity(entity: EntitySpec, values: list, n_rows: int) -> list:
    """An entity the store is read by: a string of 1 to MAX_ENTITY_CHARS characters, or null
    where the schema allows it (the store then has nothing under it for that row)."""
    name = entity.name
    for index, value in enumerate(values):
        if type(value) is str and 0 < len(value) <= MAX_ENTITY_CHARS:
            continue
        where = _row_label(index, n_rows)
        if value is None:
            if entity.nullable:
                continue
            raise _fail(f"field '{name}'{where} is null: a value is required", name, "null")
        allowed = " or null" if entity.nullable else ""
        raise _fail(
            f"field '{name}'{where} must be a string of 1 to {MAX_ENTITY_CHARS} characters{allowed}, "
            f"got {short_repr(value)}",
            name,
            "type",
        )
    return values


def key_inputs(schema: Schema) -> list[dict]:
    """How a request's online-store keys are described to a caller (the metadata route's inputs,
    beside the features): the event time, then each entity that is not a feature."""
    if schema.online_store is None:
        return []
    inputs = [{"name": schema.online_store.time, "kind": "local_time", "nullable": False}]
    for entity in schema.entity_keys:
        inputs.append(
            {
                "name": entity.name,
                "kind": "entity",
                "nullable": entity.nullable,
                "max_length": MAX_ENTITY_CHARS,
            }
        )
    return inputs


def _columns_of(body: object, schema: RequestSchema) -> tuple[dict[str, list], int]:
    if not isinstance(body, dict):
        raise _fail("request body must be a JSON object with 'jsonData' or 'data'", None, "shape")
    _check_meta(body.get(META))
    if JSON_DATA in body:
        return _columns_of_records(body[JSON_DATA], schema)
    if DATA in body:
        return _columns_of_ndarray(body[DATA], schema)
    raise _fail("request needs 'jsonData' (records) or 'data' with 'names' and 'ndarray'", None, "shape")


def _check_meta(meta: object) -> None:
    """`meta.puid` names the request in the response and the request log: a short string."""
    if meta is None:
        return
    if not isinstance(meta, dict):
        raise _fail(f"'meta' must be an object, got {type(meta).__name__}", META, "shape")
    puid = meta.get(PUID)
    if puid is not None and (type(puid) is not str or len(puid) > MAX_PUID_CHARS):
        raise _fail(
            f"'meta.puid' must be a string of at most {MAX_PUID_CHARS} characters, got {short_repr(puid)}",
            PUID,
            "type",
        )


def _check_size(n_rows: int, schema: RequestSchema, field: str) -> None:
    if n_rows == 0:
        raise _fail(f"'{field}' holds no rows: send at least one", field, "empty")
    if n_rows > schema.max_rows:
        raise _fail(
            f"'{field}' holds {n_rows} rows, over the limit of {schema.max_rows} per request",
            field,
            "batch_limit",
        )


def _columns_of_records(records: object, schema: RequestSchema) -> tuple[dict[str, list], int]:
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list):
        raise _fail("'jsonData' must be an object or a list of objects", JSON_DATA, "shape")
    n_rows = len(records)
    _check_size(n_rows, schema, JSON_DATA)
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise _fail(f"'jsonData' row {index} is not an object", JSON_DATA, "shape")
        if record.keys() != schema.name_set:
            _field_set_error(record.keys(), schema, _row_label(index, n_rows))
    return {name: [record[name] for record in records] for name in schema.names}, n_rows


def _columns_of_ndarray(data: object, schema: RequestSchema) -> tuple[dict[str, list], int]:
    if not isinstance(data, dict):
        raise _fail("'data' must be an object with 'names' and 'ndarray'", DATA, "shape")
    names, rows = data.get(NAMES), data.get(NDARRAY)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _fail("'data.names' must list the feature names of the ndarray columns", NAMES, "shape")
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise _fail(f"'data.names' repeats {duplicated}", duplicated[0], "duplicate")
    if set(names) != schema.name_set:
        _field_set_error(names, schema, "")
    if not isinstance(rows, list):
        raise _fail("'data.ndarray' must be a list of rows", NDARRAY, "shape")
    if rows and not isinstance(rows[0], list):
        rows = [rows]  # one flat row
    n_rows = len(rows)
    _check_size(n_rows, schema, NDARRAY)
    width = len(names)
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            got = len(row) if isinstance(row, list) else type(row).__name__
            raise _fail(
                f"'data.ndarray' row {index} must hold {width} values (one per name), got {got}",
                NDARRAY,
                "shape",
            )
    columns = [list(col) for col in zip(*rows, strict=True)]
    return dict(zip(names, columns, strict=True)), n_rows


def _field_set_error(given, schema: RequestSchema, where: str) -> None:
    given = set(given)
    missing = [n for n in schema.names if n not in given]
    if missing:
        raise _fail(f"missing field '{missing[0]}'{where}: every feature is required", missing[0], "missing")
    extra = sorted(str(n) for n in given - schema.name_set)
    if extra[0] in schema.served:
        raise _fail(
            f"field '{extra[0]}'{where} is read from the online store at request time: do not send it",
            extra[0],
            "online_store",
        )
    raise _fail(f"unknown field '{extra[0]}'{where}: not a feature of this model", extra[0], "unknown_field")


def _check_category(spec: FeatureSpec, values: list, n_rows: int) -> list:
    name = spec.name
    for index, value in enumerate(values):
        if type(value) is str:
            continue
        where = _row_label(index, n_rows)
        if value is None:
            if spec.nullable:
                continue
            raise _fail(f"field '{name}'{where} is null: a value is required", name, "null")
        raise _fail(
            f"field '{name}'{where} must be a string, got {type(value).__name__} {short_repr(value)}",
            name,
            "type",
        )
    return values


def _check_number(spec: FeatureSpec, values: list, n_rows: int, few_rows: int) -> np.ndarray | list[float]:
    name = spec.name
    nullable = bool(spec.nullable)
    has_null = False
    for index, value in enumerate(values):
        kind = type(value)
        if kind is float or kind is int:
            continue
        if value is None:
            has_null = True
            if nullable:
                continue
            where = _row_label(index, n_rows)
            raise _fail(f"field '{name}'{where} is null: a value is required", name, "null")
        where = _row_label(index, n_rows)
        raise _fail(
            f"field '{name}'{where} must be a number, got {kind.__name__} {short_repr(value)}", name, "type"
        )
    if n_rows <= few_rows:
        return _checked_floats(spec, values, has_null, n_rows)
    try:
        column = np.array(
            [math.nan if v is None else v for v in values] if has_null else values, dtype=np.float64
        )
    except OverflowError:  # an integer beyond float64 (about 1.8e308): JSON allows any length
        index = next(i for i, v in enumerate(values) if type(v) is int and not _fits_float(v))
        raise _too_large(name, values, index, n_rows) from None
    nan = np.isnan(column)
    if not nullable and nan.any():
        raise _nan_error(name, int(np.argmax(nan)), n_rows)
    inf = np.isinf(column)
    if inf.any():
        index = int(np.argmax(inf))
        raise _inf_error(name, index, column[index], n_rows)
    _check_range(spec, column, n_rows)
    return column


def _checked_floats(spec: FeatureSpec, values: list, has_null: bool, n_rows: int) -> list[float]:
    """The numpy checks of `_check_number`, rule by rule in the same order, on Python floats:
    for a few rows a numpy call costs more than the whole loop (one row: about 10x)."""
    name = spec.name
    if has_null:
        values = [math.nan if v is None else v for v in values]
    floats = []
    for index, value in enumerate(values):
        try:
            floats.append(float(value))
        except OverflowError:
            raise _too_large(name, values, index, n_rows) from None
    if not spec.nullable:
        for index, number in enumerate(floats):
            if number != number:
                raise _nan_error(name, index, n_rows)
    for index, number in enumerate(floats):
        if number in _INFINITIES:
            raise _inf_error(name, index, number, n_rows)
    low, high = spec.min, spec.max
    if low is not None:
        exclusive = spec.min_exclusive
        for index, number in enumerate(floats):
            if number <= low if exclusive else number < low:
                raise _below_error(spec, index, number, n_rows)
    if high is not None:
        for index, number in enumerate(floats):
            if number > high:
                raise _above_error(spec, index, number, n_rows)
    return floats


def _too_large(name: str, values: list, index: int, n_rows: int) -> RequestError:
    return _fail(
        f"field '{name}'{_row_label(index, n_rows)} is {short_repr(values[index])}, "
        "too large for a number: must be a finite float64",
        name,
        "finite",
    )


def _nan_error(name: str, index: int, n_rows: int) -> RequestError:
    return _fail(f"field '{name}'{_row_label(index, n_rows)} is NaN: a value is required", name, "null")


def _inf_error(name: str, index: int, value: float, n_rows: int) -> RequestError:
    return _fail(f"field '{name}'{_row_label(index, n_rows)} must be finite, got {value}", name, "finite")


def _below_error(spec: FeatureSpec, index: int, value: float, n_rows: int) -> RequestError:
    low = spec.min
    bound = f"above {low}" if spec.min_exclusive else f">= {low}"
    name = spec.name
    return _fail(f"field '{name}'{_row_label(index, n_rows)} is {value}, must be {bound}", name, "min")


def _above_error(spec: FeatureSpec, index: int, value: float, n_rows: int) -> RequestError:
    name = spec.name
    return _fail(f"field '{name}'{_row_label(index, n_rows)} is {value}, must be <= {spec.max}", name, "max")


def _fits_float(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _check_range(spec: FeatureSpec, column: np.ndarray, n_rows: int) -> None:
    low, high = spec.min, spec.max
    if low is not None:
        below = column <= low if spec.min_exclusive else column < low
        if below.any():
            index = int(np.argmax(below))
            raise _below_error(spec, index, column[index], n_rows)
    if high is not None:
        above = column > high
        if above.any():
            index = int(np.argmax(above))
            raise _above_error(spec, index, column[index], n_rows)
