"""Request log for monitoring: one JSON line per prediction request, in segments per worker.

Each gunicorn worker appends to its open segment `<dir>/requests-<pid>.jsonl` (no interleaving
between processes), holding an exclusive `flock` on it while it lives, and closes it (renames it
to `requests-<pid>-<opened>.jsonl`, `opened` the UTC time of its first line, e.g.
`requests-8-20261202T135312123456Z.jsonl`) when it reaches `max_bytes`, when it is
`max_seconds` old, and when the worker exits. A closed segment never changes again, so its name
is an idempotent name for shipping (`seldon.ship`); an open segment whose lock anyone can take
belongs to a worker that died (SIGKILL) and is closed by whoever finds it. A line is:

  {"ts": "2026-01-31T12:00:00.123456+00:00", "request_id": "...", "model_name": "...",
   "model_version": "3", "n_rows": 2, "probability": [0.12, 0.57], "predicted": [0, 1],
   "unknown_categories": {"<feature>": 1},
   "online_features": {"<feature>": [3.0, null], ...},         # read from the online store
   "request": {"jsonData": [{"<feature>": "...", ...}, {...}]}}  # the validated request body

The line's own fields have the same names whatever the use case: `predicted` is the 0/1 flag
(the bundle calls it `output.predicted` in answers), `truth` the truth feedback gave (the
bundle's `output.truth`). Only the request's features are the use case's.

`online_features` (only when the model reads any) holds, per feature, the value each row was
scored with (null where missing), so monitoring sees what the model saw. The shadow challenger's
scores of a request (`scoring.shadow`, in batches, so they follow the prediction's line) and truth
sent later to the feedback route are lines of their own, under the request's id:

  {"ts": "...", "kind": "shadow", "request_id": "...", "challenger_version": "4",
   "challenger_probability": [0.10, 0.61]}
  {"ts": "...", "kind": "feedback", "request_id": "...", "truth": [0, 1]}

`request` is the body exactly as the client sent it (records or `data.names` + `data.ndarray`):
the server copies the bytes it already has instead of serializing the features again, which
keeps a 1000-row request's log cost near a memory copy. `read_request_log(directory)` flattens
the lines of every segment under `directory` (recursively: a shipped store's `date=.../replica=...`
folders too) into one dict per predicted row. Writer and reader need only the standard library.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from contract.log_segments import (
    FILE_PREFIX,
    FILE_SUFFIX,
    close_open_segment,
    close_orphans,
    closed_segments,
    first_line_time,
    open_segment_path,
)
from contract.names import PROBABILITY

PREDICTED = "predicted"  # the 0/1 flag of each row, on a prediction's line
TRUTH = "truth"  # the truth of each row, on a `feedback` line
ONLINE_FEATURES = "online_features"
CHALLENGER_VERSION = "challenger_version"  # the shadow challenger's version, on its `shadow` lines
CHALLENGER_PROBABILITY = "challenger_probability"  # its probability of each row
FEEDBACK = "feedback"  # `kind` of a line carrying truth for an earlier request's rows
SHADOW = "shadow"  # `kind` of a line carrying the challenger's scores of an earlier request's rows
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_SECONDS = 300.0
DEFAULT_BACKUPS = 5  # closed segments a writer keeps when nothing ships them; 0: keep them all

logger = logging.getLogger(__name__)

try:  # the serving image has orjson (faster, docs/performance.md); the stdlib writes the same
    from orjson import dumps as _dumps
except ImportError:  # pragma: no cover - pipeline env readers never write

    def _dumps(obj: dict) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


def segment_options(max_bytes: int, env: Mapping[str, str] | None = None) -> dict:
    """The writer's segment limits: `max_bytes`, and from the serving environment (read when
    called) `REQUEST_LOG_SEGMENT_SECONDS` (a segment's age limit, 0 for size only) and
    `REQUEST_LOG_KEEP_SEGMENTS` (closed segments a worker keeps, 0 for all: what a shipper needs)."""
    env = os.environ if env is None else env
    return {
        "max_bytes": max_bytes,
        "max_seconds": float(env.get("REQUEST_LOG_SEGMENT_SECONDS", DEFAULT_MAX_SECONDS)),
        "backups": int(env.get("REQUEST_LOG_KEEP_SEGMENTS", DEFAULT_BACKUPS)),
    }


class RequestLog:
    """Append-only JSON-lines writer for this process: one open segment, closed by size, by age
    (`max_seconds`, 0 for never) and at exit. `backups` caps the closed segments it keeps (the
    oldest go first; 0 keeps all, for a shipper to take)."""

    def __init__(
        self,
        directory: str | Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
        on_failure: Callable[[], None] | None = None,
        max_seconds: float = DEFAULT_MAX_SECONDS,
    ):
        self.directory = Path(directory)
        self.pid = os.getpid()
        self.path = open_segment_path(self.directory, self.pid)
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.backups = backups
        self.on_failure = on_failure
        self.failures = 0
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None
        self._opened: datetime | None = None  # when the open segment's first line was written
        self._opened_at = 0.0  # the same, on the monotonic clock
        self._stopped = threading.Event()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # a file under our pid is a killed run's (a restarted container reuses pids)
            close_orphans(self.directory, min_idle_seconds=0, pid=self.pid)
            self._open()  # the worker's file exists from the start (tools find workers by it)
        except OSError as exc:  # an unwritable log directory must not stop the server
            self._failed(exc)
        if max_seconds > 0:
            threading.Thread(target=self._close_when_due, name="request-log-closer", daemon=True).start()
        atexit.register(self.close)  # a worker stopped by SIGTERM exits normally: flush its segment

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open on purpose
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)  # alive: nobody closes it as an orphan
        if self._file.tell() > 0:  # after a failed write, end a partial line before the next one
            with open(self.path, "rb") as tail:
                tail.seek(-1, os.SEEK_END)
                if tail.read(1) != b"\n":
                    self._file.write(b"\n")
            if self._opened is None:
                self._opened, self._opened_at = first_line_time(self.path), time.monotonic()

    def _failed(self, exc: OSError) -> None:
        """Count the lost line, say so (the first time, then every 100th), and drop the file so
        the next write opens it again: predictions go on while the disk is full or gone."""
        self.failures += 1
        if self.failures == 1 or self.failures % 100 == 0:
            logger.warning("request log %s: %d line(s) not written so far: %s", self.path, self.failures, exc)
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass  # the buffered part of the lost line cannot be flushed either
            self._file = None
        if self.on_failure is not None:
            self.on_failure()

    def write(
        self,
        request_id: str,
        model_name: str,
        model_version: str,
        request_json: bytes,
        probability: list[float],
        predicted: list[int],
        unknown_categories: dict[str, int],
        online_features: dict[str, list[float | None]] | None = None,
    ) -> None:
        """`request_json`: the request body as one line of JSON (the raw body, or re-encoded);
        `online_features`: the values read from the online store, per feature (None missing)."""
        now = datetime.now(UTC)
        fields: dict = {
            "ts": now.isoformat(),
            "request_id": request_id,
            "model_name": model_name,
            "model_version": model_version,
            "n_rows": len(probability),
            PROBABILITY: probability,
            PREDICTED: predicted,
            "unknown_categories": unknown_categories,
        }
        if online_features:
            fields[ONLINE_FEATURES] = online_features
        head = _dumps(fields)
        self._append(b"".join((head[:-1], b',"request":', request_json, b"}\n")))

    def write_feedback(self, request_id: str, truth: list[int]) -> None:
        """Truth for the rows of an earlier request (by its id), as the feedback route got it."""
        line = _dumps(
            {"ts": datetime.now(UTC).isoformat(), "kind": FEEDBACK, "request_id": request_id, TRUTH: truth}
        )
        self._append(line + b"\n")

    def write_shadow(self, request_id: str, challenger_version: str, probability: list[float]) -> None:
        """The shadow challenger's probabilities of an earlier request's rows (by its id)."""
        fields: dict = {"ts": datetime.now(UTC).isoformat(), "kind": SHADOW, "request_id": request_id}
        fields[CHALLENGER_VERSION], fields[CHALLENGER_PROBABILITY] = challenger_version, probability
        self._append(_dumps(fields) + b"\n")

    def _append(self, line: bytes) -> None:
        now = datetime.now(UTC)
        with self._lock:
            try:
                if self._file is None:
                    self._open()
                assert self._file is not None
                if self._opened is None:
                    self._opened, self._opened_at = now, time.monotonic()
                self._file.write(line)
                self._file.flush()  # a reader (or a crash) sees whole lines only
                if self._file.tell() >= self.max_bytes:
                    self._close_segment()
            except OSError as exc:  # disk full, directory gone or unwritable
                self._failed(exc)

    def _close_segment(self) -> None:
        """Rename the open segment to its closed name, then release it (lock held)."""
        assert self._file is not None and self._opened is not None
        try:
            close_open_segment(self.path, self._opened)
        finally:
            self._file.close()
            self._file, self._opened = None, None
        if self.backups > 0:
            for older in closed_segments(self.directory, self.pid)[: -self.backups]:
                older.unlink(missing_ok=True)

    def _close_when_due(self) -> None:
        tick = min(1.0, self.max_seconds / 4)
        while not self._stopped.wait(tick):
            with self._lock:
                if self._opened is None or time.monotonic() - self._opened_at < self.max_seconds:
                    continue  # nothing written yet, or not old enough
                try:
                    self._close_segment()
                except OSError as exc:
                    logger.warning("request log %s: could not close the segment: %s", self.path, exc)

    def close(self) -> None:
        """Close the open segment (it becomes shippable; an empty one is removed) and stop the
        age check."""
        self._stopped.set()
        with self._lock:
            if self._file is not None:
                try:
                    if self._opened is None:
                        self._opened = datetime.now(UTC)
                    self._close_segment()
                except OSError as exc:
                    logger.warning("request log %s: could not close the segment: %s", self.path, exc)


def iter_request_lines(directory: str | Path) -> Iterator[dict]:
    """Every whole line of every segment under `directory`, open and closed (unordered)."""
    for path in sorted(Path(directory).rglob(f"{FILE_PREFIX}*{FILE_SUFFIX}*")):
        with open(path, encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.endswith("\n"):
                    break  # a line still being written
                try:
                    yield json.loads(text)
                except json.JSONDecodeError:
                    logger.warning("skipping unreadable line %s:%d", path, number)


def request_json(body: object, raw: bytes | None) -> bytes:
    """The body as one JSON line: the client's bytes when they are one ASCII line (the usual
    case), else re-encoded (multi-line or non-ASCII bodies, calls without HTTP)."""
    if raw and raw.isascii() and b"\n" not in raw and b"\r" not in raw:
        return raw
    return json.dumps(body, separators=(",", ":")).encode()


def request_records(body: dict) -> list[dict]:
    """The feature records of a logged request body (jsonData or data.names + data.ndarray)."""
    if "jsonData" in body:
        records = body["jsonData"]
        return [records] if isinstance(records, dict) else list(records)
    data = body["data"]
    rows = data["ndarray"]
    if rows and not isinstance(rows[0], list):
        rows = [rows]
    return [dict(zip(data["names"], row, strict=True)) for row in rows]


def read_request_log(directory: str | Path) -> list[dict]:
    """One dict per predicted row, oldest first: ts, request_id, model_name, model_version,
    row (index in its request), every feature as sent (None for null) and as read from the
    online store, probability, predicted, and challenger_version + challenger_probability
    where the challenger scored it in shadow (its `shadow` line joined by request id, or the
    same fields on the line itself, as lines were written before). Feedback lines are
    `read_feedback`'s. A prediction line of an earlier format (its flag under the use case's
    name, not `predicted`) is skipped, counted and logged."""
    predictions, shadows, earlier = [], {}, 0
    for line in iter_request_lines(directory):
        kind = line.get("kind")
        if kind is None:
            if PREDICTED in line:
                predictions.append(line)
            else:
                earlier += 1
        elif kind == SHADOW:
            shadows[line["request_id"]] = line
    _skipped(earlier, "prediction", PREDICTED, directory)
    rows = []
    for line in predictions:
        scored = shadows.get(line["request_id"], line)
        shadow = scored.get(CHALLENGER_PROBABILITY)
        if shadow is not None and len(shadow) != len(line[PROBABILITY]):
            shadow = None  # another request under the same id: not this one's scores
        for index, record in enumerate(request_records(line["request"])):
            row = {
                "ts": line["ts"],
                "request_id": line["request_id"],
                "model_name": line["model_name"],
                "model_version": line["model_version"],
                "row": index,
            }
            row.update(record)
            for name, values in line.get(ONLINE_FEATURES, {}).items():
                row[name] = values[index]
            row[PROBABILITY] = line[PROBABILITY][index]
            row[PREDICTED] = line[PREDICTED][index]
            if shadow is not None:
                row[CHALLENGER_VERSION], row[CHALLENGER_PROBABILITY] = (
                    scored[CHALLENGER_VERSION],
                    shadow[index],
                )
            rows.append(row)
    rows.sort(key=lambda r: (r["ts"], r["request_id"], r["row"]))
    return rows


def read_feedback(directory: str | Path) -> dict[tuple[str, int], int]:
    """The truth the feedback lines under `directory` carry: (request id, row) -> 0/1 (the
    latest line wins when a request got feedback twice). A line of an earlier format (the truth
    under the use case's name, not `truth`) is skipped, counted and logged."""
    feedback = [line for line in iter_request_lines(directory) if line.get("kind") == FEEDBACK]
    lines = [line for line in feedback if TRUTH in line]
    _skipped(len(feedback) - len(lines), "feedback", TRUTH, directory)
    truth = {}
    for line in sorted(lines, key=lambda line: line["ts"]):
        for index, value in enumerate(line[TRUTH]):
            truth[(line["request_id"], index)] = int(value)
    return truth


def _skipped(count: int, kind: str, field: str, directory: str | Path) -> None:
    if count:
        logger.warning(
            "skipped %d %s line(s) under %s written in an earlier format: no '%s' field",
            count,
            kind,
            directory,
            field,
        )
