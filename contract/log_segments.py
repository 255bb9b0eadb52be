"""Request-log segments on disk and in the store: names, closing, orphans, the store's layout.

A worker writes one open segment, `requests-<pid>.jsonl`, and holds an exclusive `flock` on it
while it lives. Closing renames it to `requests-<pid>-<opened>.jsonl` (`opened`: the UTC time
of its first line, to the microsecond); a closed segment never changes again, so its name is
idempotent: shipping it twice writes the same object twice. In the store a segment lives under
`date=<YYYY-MM-DD of opened>/replica=<replica>/`, so a period's segments are found by listing a
few date folders, and two replicas never write the same object. Standard library only: the
serving workers (which write) and the pipeline (which reads) both import it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

FILE_PREFIX = "requests-"
FILE_SUFFIX = ".jsonl"
OPENED_FORMAT = "%Y%m%dT%H%M%S%fZ"
DATE_PREFIX = "date="
REPLICA_PREFIX = "replica="

_OPEN_NAME = re.compile(r"^requests-(\d+)\.jsonl$")
_CLOSED_NAME = re.compile(r"^requests-(\d+)-(\d{8}T\d{12}Z)\.jsonl$")
_REPLICA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")


def open_segment_path(directory: Path, pid: int) -> Path:
    return directory / f"{FILE_PREFIX}{pid}{FILE_SUFFIX}"


def closed_segment_name(pid: int, opened: datetime) -> str:
    return f"{FILE_PREFIX}{pid}-{opened.astimezone(UTC).strftime(OPENED_FORMAT)}{FILE_SUFFIX}"


def segment_opened(name: str) -> datetime:
    """The opened time a closed segment's name carries; ValueError for any other name."""
    match = _CLOSED_NAME.match(name)
    if match is None:
        raise ValueError(f"{name!r} is not a closed request-log segment name")
    return datetime.strptime(match.group(2), OPENED_FORMAT).replace(tzinfo=UTC)


def closed_segments(directory: Path, pid: int | None = None) -> list[Path]:
    """Closed segments directly in `directory` (of one writer when `pid` is given), oldest first."""
    found = []
    for path in directory.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}"):
        match = _CLOSED_NAME.match(path.name)
        if match and (pid is None or int(match.group(1)) == pid):
            found.append((match.group(2), path))
    return [path for _, path in sorted(found)]


def open_segments(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}") if _OPEN_NAME.match(p.name))


def first_line_time(path: Path) -> datetime:
    """The `ts` of a segment's first line; the file's modification time when it has none."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
        return datetime.fromisoformat(json.loads(first)["ts"]).astimezone(UTC)
    except (OSError, ValueError, KeyError, TypeError):
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def close_open_segment(path: Path, opened: datetime) -> Path | None:
    """Rename an open segment to its closed name (an empty one is removed): the closed path."""
    if path.stat().st_size == 0:
        path.unlink()
        return None
    pid = int(_OPEN_NAME.match(path.name).group(1))  # type: ignore[union-attr]
    closed = path.with_name(closed_segment_name(pid, opened))
    os.rename(path, closed)
    return closed


def close_orphans(directory: Path, min_idle_seconds: float = 5.0, pid: int | None = None) -> list[Path]:
    """Close every open segment (of `pid` only, when given) whose writer is gone (it was
    killed): one whose lock can be taken and that nobody wrote for `min_idle_seconds`. The idle
    wait covers the instant between a writer creating its file and locking it. Returns the
    segments closed."""
    closed = []
    for path in open_segments(directory):
        if pid is not None and path != open_segment_path(directory, pid):
            continue
        try:
            if time.time() - path.stat().st_mtime < min_idle_seconds:
                continue
            with open(path, "rb") as handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its writer is alive
                if os.fstat(handle.fileno()).st_ino != path.stat().st_ino:
                    continue  # the writer closed it and opened a new one meanwhile
                if time.time() - path.stat().st_mtime < min_idle_seconds:
                    continue
                segment = close_open_segment(path, first_line_time(path))
        except FileNotFoundError:
            continue  # closed by its writer while we looked
        if segment is not None:
            closed.append(segment)
    return closed


def replica_name(name: str) -> str:
    """A replica's name as a store folder: the pod name, a host name, `r1`..."""
    if not _REPLICA_NAME.match(name):
        raise ValueError(
            f"replica name {name!r} must start with a letter or digit and hold only letters, "
            "digits, '.', '_' and '-' (at most 253 characters)"
        )
    return name


def store_folder(opened: datetime, replica: str) -> str:
    """The store folder of a segment opened at `opened` by `replica`."""
    return f"{DATE_PREFIX}{opened.astimezone(UTC):%Y-%m-%d}/{REPLICA_PREFIX}{replica_name(replica)}"


def first_store_folder(start: datetime) -> str:
    """The earliest date folder that can hold lines from `start` on: the day before (a segment
    opened before midnight holds lines after it). Folders compare as their dates do."""
    day = start.date() if isinstance(start, datetime) else start
    return f"{DATE_PREFIX}{day - timedelta(days=1):%Y-%m-%d}"
