"""An alias's metadata read straight from a local SQLite registry, without MLflow.

A training reads the champion's last fit day before its data split (`tasks.data.judged_holdout`),
on every run, the cached re-run included: through MLflow that read imports it and sets up its
SQLAlchemy stores, seconds in a process that otherwise never touches MLflow. On the project's
local store (`sqlite:///<file>`, artifacts on the file system) the answer is one query of the
registry's alias and version tables (mlflow 3.17's layout) and a read of the version's
`metadata.json`. Anything else (a tracking server, a layout this query does not know, artifacts
not on a local path) answers `None` and the caller asks MLflow; a test holds both ways to the
same answers.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import unquote, urlparse

from contract.bundle import METADATA_FILE, Metadata

SQLITE_PREFIX = "sqlite:///"
TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"

# The version an alias names, and where its artifacts are (`model_versions.source`).
ALIAS_SOURCE = """
    SELECT model_versions.source FROM registered_model_aliases
    JOIN model_versions ON model_versions.name = registered_model_aliases.name
        AND model_versions.version = registered_model_aliases.version
        AND model_versions.workspace = registered_model_aliases.workspace
    WHERE registered_model_aliases.name = ? AND registered_model_aliases.alias = ?
"""


class NotReadableHere(LookupError):
    """The registry is not a local SQLite file this module can read: ask MLflow."""


def sqlite_path(tracking_uri: str) -> Path:
    """The database file of a `sqlite:///<path>` tracking URI."""
    if not tracking_uri.startswith(SQLITE_PREFIX) or "?" in tracking_uri:
        raise NotReadableHere(f"not a plain SQLite store: {tracking_uri}")
    return Path(tracking_uri[len(SQLITE_PREFIX) :])


def alias_metadata(tracking_uri: str, model_name: str, alias: str) -> Metadata | None:
    """The metadata of the version `alias` names, None when no version holds it (or the store
    was never created). Raises `NotReadableHere` when the answer needs MLflow."""
    database = sqlite_path(tracking_uri)
    if not database.exists():
        return None  # MLflow would create an empty store here: no model, no alias
    try:
        # read-only: a store that does not exist yet is never created by a read
        with closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            tables = {row[0] for row in connection.execute(TABLES)}
            if not tables:
                return None  # an empty file: MLflow makes its tables at first use
            if "registered_model_aliases" not in tables:
                raise NotReadableHere(f"{database} has no registered_model_aliases table")
            rows = connection.execute(ALIAS_SOURCE, (model_name, alias)).fetchall()
    except sqlite3.Error as error:
        raise NotReadableHere(f"{database}: {error}") from error
    if not rows:
        return None
    if len(rows) > 1:
        raise NotReadableHere(f"{database}: alias '{alias}' of '{model_name}' in several workspaces")
    source = urlparse(rows[0][0])
    if source.scheme != "file":
        raise NotReadableHere(f"artifacts of '{model_name}'@{alias} are not local: {rows[0][0]}")
    path = Path(unquote(source.path)) / METADATA_FILE
    if not path.is_file():
        raise NotReadableHere(f"{path} is missing: MLflow says why")
    return Metadata.from_dict(json.loads(path.read_text()))
