"""The shared pointer that says which bundle every worker serves.

Layout of a model root directory (an emptyDir on Kubernetes, `.mlops/serving` locally):
  versions/<version>/   one verified bundle per registry version (written by `seldon.sync`)
  current.json          {"version": ..., "path": "versions/<version>", "updated_at": ...}
  challenger.json       the same for the `challenger` alias, scored in shadow (absent: none)

Writers replace current.json atomically (temp file + os.replace), so a reader sees either the
old or the new pointer, never half of one. Workers poll its stat() (cheap) and swap on change:
this is how a registry promotion, or an admin rollback that reached one worker, reaches them all.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

POINTER_FILE = "current.json"
CHALLENGER_POINTER_FILE = "challenger.json"
VERSIONS_DIR = "versions"

logger = logging.getLogger(__name__)


VERSION_NAME = re.compile(r"^[\w.-]+$", re.ASCII)


class VersionError(ValueError):
    """A version name that could leave the versions/ directory."""


def version_dir(root: str | Path, version: str) -> Path:
    return Path(root) / VERSIONS_DIR / str(version)


def checked_version_dir(root: str | Path, version: str) -> Path:
    """versions/<version> for a safe name only: `^[\\w.-]+$`, not `.`/`..`, resolving to a
    direct child of versions/ (a symlink pointing elsewhere is refused too)."""
    version = str(version)
    if not VERSION_NAME.fullmatch(version) or version in {".", ".."}:
        raise VersionError(
            f"version {version[:80]!r} is not a version name: letters, digits, '_', '.', '-' only"
        )
    folder = (Path(root) / VERSIONS_DIR).resolve()
    target = version_dir(root, version)
    if target.resolve().parent != folder:
        raise VersionError(f"version {version!r} resolves outside {VERSIONS_DIR}/")
    return target


def write_pointer(root: str | Path, version: str, source: str = "", name: str = POINTER_FILE) -> dict:
    """Point every worker at versions/<version> (the bundle must already be there) in the
    pointer file `name`: current.json for the champion, challenger.json for the shadow."""
    root = Path(root)
    if not checked_version_dir(root, version).is_dir():
        raise FileNotFoundError(f"no bundle at {version_dir(root, version)}")
    path, now = f"{VERSIONS_DIR}/{version}", datetime.now(UTC).isoformat()
    pointer = {"version": str(version), "path": path, "source": source, "updated_at": now}
    tmp = root / f".{name}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(pointer))
    os.replace(tmp, root / name)
    return pointer


def read_pointer(root: str | Path, name: str = POINTER_FILE) -> dict | None:
    path = Path(root) / name
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def pointed_dir(root: str | Path, pointer: dict) -> Path:
    """The bundle directory a pointer names; a pointer naming anything else is refused."""
    target = checked_version_dir(root, str(pointer.get("version")))
    if pointer.get("path") != f"{VERSIONS_DIR}/{pointer.get('version')}":
        raise VersionError(f"pointer path {pointer.get('path')!r} is not {VERSIONS_DIR}/<version>")
    return target


def release_memory() -> None:
    """Collect the replaced bundle now and hand freed heap pages back to the OS (glibc's
    malloc_trim): without it a worker's RSS steps up at every swap, as the allocator keeps the
    old model's pages for reuse that a differently shaped new model does not fit."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


class PointerWatcher(threading.Thread):
    """Daemon thread: calls `on_change(pointer)` whenever the pointer file `name` is replaced,
    and `on_change(None)` when it goes (challenger.json; current.json is only ever replaced)."""

    def __init__(self, root: str | Path, on_change: Callable, interval: float, name: str = POINTER_FILE):
        super().__init__(name=f"pointer-watcher-{name}", daemon=True)
        self.root, self.name, self.on_change, self.interval = Path(root), name, on_change, interval
        self.seen = self._signature()
        self._stop = threading.Event()

    def _signature(self) -> tuple | None:
        try:
            stat = (self.root / self.name).stat()
        except FileNotFoundError:
            return None
        # os.replace gives a new inode, so this changes even within one mtime tick
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            signature = self._signature()
            if signature == self.seen:
                continue
            self.seen = signature
            pointer = read_pointer(self.root, self.name) if signature is not None else None
            if pointer is None and self.name == POINTER_FILE:
                continue  # a champion is replaced, never removed
            started = time.perf_counter()
            try:
                self.on_change(pointer)
            except Exception:  # a bad new bundle must not kill the watcher: keep serving the old
                logger.exception("could not switch to %s", pointer)
            else:
                release_memory()  # the replaced bundle's trees go back to the system, not to a free list
                logger.info("pointer %s handled in %.2fs", pointer, time.perf_counter() - started)

    def stop(self) -> None:
        self._stop.set()
