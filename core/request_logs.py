"""Where monitoring reads the served requests: a local directory, or the store the replicas ship
their request-log segments to (`seldon.ship`), read through MLflow's artifact repositories.

A location is either a directory (the serving host's `REQUEST_LOG_DIR`, or a local copy of the
store: both are read recursively), a use case's own location (`experiments:/<registered
model>-request-logs/<folder>`, `contract.log_store`: resolved through the tracking server to that
experiment's artifacts, so monitoring reads its own use case's requests and no other's) or an
artifact URI (`s3://...`, `gs://...`, `mlflow-artifacts:/...`, `file:///...`): only the date
folders that can hold the period's lines are downloaded: those from the day before the period on
(feedback, the truth, arrives after the requests it is for), and the caller keeps the requests by
their time.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from contract.log_segments import DATE_PREFIX, first_store_folder
from contract.request_log import read_feedback, read_request_log

logger = logging.getLogger(__name__)


def is_store_uri(location: str) -> bool:
    """An artifact URI (with a scheme), as opposed to a plain directory path."""
    scheme = urlparse(location).scheme
    return len(scheme) > 1  # "C:" is a drive, "" a path


def local_store_uri(uri: str, tracking: str) -> str:
    """`mlflow-artifacts:/x` read without a tracking server (a local SQLite store, as in
    `pyflyte run` on a laptop) is the local artifact root's `x`, where `seldon.ship` ships by
    default (`<data dir>/mlartifacts`, what `mlflow server` serves as `mlflow-artifacts:/`)."""
    parsed = urlparse(uri)
    if parsed.scheme != "mlflow-artifacts" or tracking.startswith(("http://", "https://")):
        return uri
    from contract.registry import data_dir

    return (data_dir() / "mlartifacts" / parsed.path.lstrip("/")).as_uri()


def fetch_since(uri: str, start: datetime, destination: Path) -> list[str]:
    """Download the date folders under `uri` that can hold lines from `start` on into
    `destination`; the folders fetched."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    from contract.log_store import resolve
    from core.paths import tracking_uri

    resolved = resolve(uri, tracking_uri())
    if resolved is None:  # the use case's experiment is not there: nothing was ever shipped
        logger.warning("no request logs at %s: its experiment does not exist on %s", uri, tracking_uri())
        return []
    uri = local_store_uri(resolved, tracking_uri())
    # the project's tracking server (mlflow-artifacts:/ goes through it), not mlflow's global
    repository = get_artifact_repository(uri, tracking_uri=tracking_uri())
    first = first_store_folder(start)
    names = (info.path.rstrip("/").rsplit("/", 1)[-1] for info in repository.list_artifacts() if info.is_dir)
    fetched = sorted(n for n in names if n.startswith(DATE_PREFIX) and n >= first)
    for folder in fetched:
        repository.download_artifacts(folder, str(destination))
    return fetched


def read_location(location: str, start: datetime) -> tuple[list[dict], dict[tuple[str, int], int]]:
    """(every predicted row, the truth feedback gave: (request id, row) -> 0/1) logged at
    `location` (see the module doc); rows before `start` are the caller's to drop. Empty when no
    location is given or the directory is absent: monitoring works without the server."""
    if not location:
        return [], {}
    if is_store_uri(location):
        with tempfile.TemporaryDirectory(prefix="request-logs-") as tmp:
            folders = fetch_since(location, start, Path(tmp))
            logger.info("read %d date folder(s) of %s", len(folders), location)
            return read_request_log(tmp), read_feedback(tmp)
    if not Path(location).is_dir():
        return [], {}
    return read_request_log(location), read_feedback(location)
