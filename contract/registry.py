"""Where the registry is, which version an alias names, and how a version's bundle is fetched.

One implementation for the pipeline (`core.registry`) and the registry-sync sidecar
(`seldon.sync`). mlflow is imported inside the functions: the serving image does not have it
and never calls them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from contract.bundle import METADATA_FILE, BundleError

TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
DATA_DIR_ENV = "MLOPS_DATA_DIR"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class NoVersionForAlias(LookupError):
    """No version of the registered model holds the alias (or the model does not exist)."""


class RegistryAccessDenied(PermissionError):
    """The tracking server refused the client: no or wrong credentials (401), or a user without
    the right to read the model (403). Says which, never the password."""


def _access_denied(exc: Exception, model_name: str, alias: str, uri: str) -> RegistryAccessDenied | None:
    status = exc.get_http_status_code() if hasattr(exc, "get_http_status_code") else None
    if status == 401:
        user = os.environ.get("MLFLOW_TRACKING_USERNAME")
        who = f"the password of user '{user}' was refused" if user else "no credentials were sent"
        return RegistryAccessDenied(
            f"registry {uri} answered 401 reading alias '{alias}' of '{model_name}': {who}; set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (a reader's, from its Secret)"
        )
    if status == 403:
        user = os.environ.get("MLFLOW_TRACKING_USERNAME", "")
        return RegistryAccessDenied(
            f"registry {uri} answered 403 reading alias '{alias}' of '{model_name}': user '{user}' "
            "may not read it (grant it READ on the registered model)"
        )
    return None


def data_dir() -> Path:
    """Local state (MLflow store, request logs, reports): `MLOPS_DATA_DIR` or `<repo>/.mlops`."""
    path = Path(os.environ.get(DATA_DIR_ENV, PROJECT_ROOT / ".mlops"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI` when set, else a SQLite store in the project data directory."""
    uri = os.environ.get(TRACKING_URI_ENV)
    if uri:
        return uri
    return f"sqlite:///{data_dir() / 'mlflow.db'}"


# MLflow's error codes for an alias or a model that does not exist (any other error is raised:
# taken for "no champion", an outage would let the gate promote a candidate unchallenged).
ABSENT = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"})


def resolve_alias(client: Any, model_name: str, alias: str) -> str:
    """The version `alias` names, or NoVersionForAlias saying how to get one."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException as exc:
        denied = _access_denied(exc, model_name, alias, client.tracking_uri)
        if denied is not None:
            raise denied from exc
        if exc.error_code not in ABSENT:  # a registry that did not answer is not an empty one
            raise
        raise NoVersionForAlias(
            f"no version of registered model '{model_name}' has alias '{alias}' "
            f"(registry {client.tracking_uri}): run `make demo` first to train and promote a model"
        ) from exc


def download_version(
    model_name: str, version: str, destination: str | Path, tracking_uri: str | None = None
) -> Path:
    """Download `models:/<name>/<version>` under `destination`; the directory that holds its
    metadata.json (the bundle). Nothing is verified here: `contract.bundle.load_bundle` does."""
    import mlflow

    downloaded = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{model_name}/{version}",
            dst_path=str(destination),
            tracking_uri=tracking_uri,
        )
    )
    found = sorted(p.parent for p in downloaded.rglob(METADATA_FILE))
    if not found:
        raise BundleError(f"models:/{model_name}/{version} holds no {METADATA_FILE}")
    return found[0]
