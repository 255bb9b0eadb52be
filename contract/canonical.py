"""A skops file rewritten so that the same model always gives the same bytes.

skops names each array file after the `id()` of the array, keys its memo by `id()` too, and
stamps every zip entry with the time of writing: two dumps of one fitted model differ byte for
byte, and so would a model rebuilt from a version's data. Here the ids are renumbered in the
order `schema.json` first mentions them (the same order for the same model), the files take the
new names and every entry one fixed time. skops reads the result like its own file: ids are
only compared with each other, file names only looked up.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

SCHEMA_ENTRY = "schema.json"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
_FILE_NAME = re.compile(r"^[^/]+\.(npy|bin)$")


def canonical_skops(path: str | Path) -> None:
    """Rewrite the skops file at `path` in place in its canonical form."""
    path = Path(path)
    with zipfile.ZipFile(path) as source:
        state = json.loads(source.read(SCHEMA_ENTRY))
        contents = {name: source.read(name) for name in source.namelist() if name != SCHEMA_ENTRY}
        compression = source.infolist()[0].compress_type
    ids: dict[int, int] = {}
    files: dict[str, str] = {}
    state = _renumber(state, ids, files)
    unknown = set(contents) - set(files)
    if unknown:
        raise ValueError(f"{path}: entries not named in {SCHEMA_ENTRY}: {sorted(unknown)}")
    partial = path.with_name(f".{path.name}.partial")
    with zipfile.ZipFile(partial, "w") as target:
        for old, new in files.items():
            _write(target, new, contents[old], compression)
        _write(target, SCHEMA_ENTRY, json.dumps(state, indent=2).encode(), compression)
    os.replace(partial, path)


def _renumber(node: Any, ids: dict[int, int], files: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_renumber(item, ids, files) for item in node]
    if not isinstance(node, dict):
        return node
    renamed = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int):
            value = ids.setdefault(value, len(ids))
        elif key == "file" and isinstance(value, str) and _FILE_NAME.match(value):
            value = files.setdefault(value, f"{len(files)}.{value.rsplit('.', 1)[1]}")
        else:
            value = _renumber(value, ids, files)
        renamed[key] = value
    return renamed


def _write(target: zipfile.ZipFile, name: str, data: bytes, compression: int) -> None:
    entry = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    entry.compress_type = compression
    entry.external_attr = 0o644 << 16
    target.writestr(entry, data)
