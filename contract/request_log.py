"""Request log for monitoring: one JSON line per prediction request, one file per worker.

Each gunicorn worker appends to `<dir>/requests-<pid>.jsonl` (no interleaving between
processes) and rotates it by size to `requests-<pid>.jsonl.1`, `.2`, ... A line is:

  {"ts": "2026-01-31T12:00:00.123456+00:00", "request_id": "...", "model_name": "...",
   "model_version": "3", "n_rows": 2, "probability": [0.12, 0.57], "predicted_late": [0, 1],
   "unknown_categories": {"dest": 1},
   "online_features": {"origin_backlog": [3.0, null], ...},       # read from the online store
   "request": {"jsonData": [{"carrier": "UA", ...}, {...}]}}      # the validated request body

`online_features` (only when the model reads any) holds, per feature, the value each row was
scored with (null where missing), so monitoring sees what the model saw.

`request` is the body exactly as the client sent it (records or `data.names` + `data.ndarray`):
the server copies the bytes it already has instead of serializing the features again, which
keeps a 1000-row request's log cost near a memory copy. `read_request_log(directory)` flattens
the lines into one dict per predicted row. Writer and reader need only the standard library.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from contract.names import PREDICTED, PROBABILITY

FILE_PREFIX = "requests-"
ONLINE_FEATURES = "online_features"
FILE_SUFFIX = ".jsonl"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_BACKUPS = 5

logger = logging.getLogger(__name__)

try:  # the serving image has orjson (faster, docs/performance.md); the stdlib writes the same
    from orjson import dumps as _dumps
except ImportError:  # pragma: no cover - pipeline env readers never write

    def _dumps(obj: dict) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


class RequestLog:
    """Append-only JSON-lines writer with size rotation, for this process only."""

    def __init__(
        self,
        directory: str | Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
        on_failure: Callable[[], None] | None = None,
    ):
        self.directory = Path(directory)
        self.path = self.directory / f"{FILE_PREFIX}{os.getpid()}{FILE_SUFFIX}"
        self.max_bytes = max_bytes
        self.backups = backups
        self.on_failure = on_failure
        self.failures = 0
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None
        try:
            self._open()
        except OSError as exc:  # an unwritable log directory must not stop the server
            self._failed(exc)

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open on purpose
        if self._file.tell() > 0:  # after a failed write, end a partial line before the next one
            with open(self.path, "rb") as tail:
                tail.seek(-1, os.SEEK_END)
                if tail.read(1) != b"\n":
                    self._file.write(b"\n")

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
        predicted_late: list[int],
        unknown_categories: dict[str, int],
        online_features: dict[str, list[float | None]] | None = None,
    ) -> None:
        """`request_json`: the request body as one line of JSON (the raw body, or re-encoded);
        `online_features`: the values read from the online store, per feature (None missing)."""
        fields = {
            "ts": datetime.now(UTC).isoformat(),
            "request_id": request_id,
            "model_name": model_name,
            "model_version": model_version,
            "n_rows": len(probability),
            PROBABILITY: probability,
            PREDICTED: predicted_late,
            "unknown_categories": unknown_categories,
        }
        if online_features:
            fields[ONLINE_FEATURES] = online_features
        head = _dumps(fields)
        line = b"".join((head[:-1], b',"request":', request_json, b"}\n"))
        with self._lock:
            try:
                if self._file is None:
                    self._open()
                assert self._file is not None
                self._file.write(line)
                self._file.flush()  # a reader (or a crash) sees whole lines only
                if self._file.tell() >= self.max_bytes:
                    self._rotate()
            except OSError as exc:  # disk full, directory gone or unwritable
                self._failed(exc)

    def _rotate(self) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._open()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()


def iter_request_lines(directory: str | Path) -> Iterator[dict]:
    """Every whole line of every worker's file, rotated ones included (unordered)."""
    for path in sorted(Path(directory).glob(f"{FILE_PREFIX}*{FILE_SUFFIX}*")):
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
    online store, probability, predicted_late."""
    rows = []
    for line in iter_request_lines(directory):
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
            # lines written before the flag was named predicted_late call it late
            row[PREDICTED] = line[PREDICTED if PREDICTED in line else "late"][index]
            rows.append(row)
    rows.sort(key=lambda r: (r["ts"], r["request_id"], r["row"]))
    return rows
