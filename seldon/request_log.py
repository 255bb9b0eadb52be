"""Request log for monitoring: one JSON line per prediction request, one file per worker.

Each gunicorn worker appends to `<dir>/requests-<pid>.jsonl` (no interleaving between
processes) and rotates it by size to `requests-<pid>.jsonl.1`, `.2`, ... A line is:

  {"ts": "2026-01-31T12:00:00.123456+00:00", "request_id": "...", "model_name": "...",
   "model_version": "3", "n_rows": 2,
   "features": {"carrier": ["UA", "AA"], "dep_hour": [7.5, 18.0], ...},   # columns, JSON nulls
   "probability": [0.12, 0.57], "late": [0, 1], "unknown_categories": {"dest": 1}}

`read_request_log(directory)` flattens the lines into one dict per predicted row. The writer
needs only the standard library; so does the reader, so the monitoring workflow can reuse it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

FILE_PREFIX = "requests-"
FILE_SUFFIX = ".jsonl"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_BACKUPS = 5

logger = logging.getLogger(__name__)


class RequestLog:
    """Append-only JSON-lines writer with size rotation, for this process only."""

    def __init__(
        self,
        directory: str | Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
    ):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / f"{FILE_PREFIX}{os.getpid()}{FILE_SUFFIX}"
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open on purpose

    def write(
        self,
        request_id: str,
        model_name: str,
        model_version: str,
        features: dict[str, list],
        probability: list[float],
        late: list[int],
        unknown_categories: dict[str, int],
    ) -> None:
        line = json.dumps(
            {
                "ts": datetime.now(UTC).isoformat(),
                "request_id": request_id,
                "model_name": model_name,
                "model_version": model_version,
                "n_rows": len(probability),
                "features": features,
                "probability": probability,
                "late": late,
                "unknown_categories": unknown_categories,
            },
            separators=(",", ":"),
        )
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()  # a reader (or a crash) sees whole lines only
            if self._file.tell() >= self.max_bytes:
                self._rotate()

    def _rotate(self) -> None:
        self._file.close()
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        with self._lock:
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


def read_request_log(directory: str | Path) -> list[dict]:
    """One dict per predicted row, oldest first: ts, request_id, model_name, model_version,
    row (index in its request), every feature, probability, late."""
    rows = []
    for line in iter_request_lines(directory):
        features = line["features"]
        names = list(features)
        for index in range(line["n_rows"]):
            row = {
                "ts": line["ts"],
                "request_id": line["request_id"],
                "model_name": line["model_name"],
                "model_version": line["model_version"],
                "row": index,
            }
            row.update({name: features[name][index] for name in names})
            row["probability"] = line["probability"][index]
            row["late"] = line["late"][index]
            rows.append(row)
    rows.sort(key=lambda r: (r["ts"], r["request_id"], r["row"]))
    return rows
