"""Where a deployment's request logs are stored: under an experiment of its use case's own.

Each use case's replicas ship their request-log segments (`seldon.ship`) to

    experiments:/<registered model>-request-logs/<folder>

`folder` is the predictor's: `request-logs` for the champion's, `request-logs-shadow` for
Seldon's shadow predictor. The name says which experiment, not where its artifacts are: the
location is resolved through the tracking server to that experiment's artifact location
(`mlflow-artifacts:/<experiment id>` behind the artifact proxy) plus the folder, so two use cases
served side by side never write, nor monitor, each other's requests. Under an experiment the
tracking server's authentication judges a write by that experiment's grants: the shipper's user
needs `EDIT` on this one experiment and nothing else (`scripts/registry_access.py --shipper`),
which holds nothing but request logs. On the local SQLite store (no server) the experiment's
folder is `<data dir>/mlartifacts/<experiment id>/<folder>`.

Any other location (`s3://...`, `mlflow-artifacts:/...`, `file:///...`) is used as it is.
mlflow is imported inside the functions: the serving image has none and never calls them.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from contract.registry import data_dir

SCHEME = "experiments"
EXPERIMENT_SUFFIX = "-request-logs"
SERVED = "request-logs"  # the folder of the champion's predictor
SHADOW = "request-logs-shadow"  # Seldon's shadow predictor (seldon/k8s/environments/shadow-predictor)


class LogStoreError(RuntimeError):
    """The request logs' location cannot be resolved or written: says why and what to do, names
    the user (never a password)."""


def experiment_name(model_name: str) -> str:
    """The experiment that holds a use case's request logs (its registered model's name + suffix)."""
    return f"{model_name}{EXPERIMENT_SUFFIX}"


def location(model_name: str, folder: str = SERVED) -> str:
    """The request-log location of the use case whose registered model is `model_name`."""
    return f"{SCHEME}:/{experiment_name(model_name)}/{folder}"


def parse(location: str) -> tuple[str, str] | None:
    """(experiment, folder) of an `experiments:/` location; None for any other location."""
    parsed = urlparse(location)
    if parsed.scheme != SCHEME:
        return None
    experiment, _, folder = location[len(SCHEME) + 2 :].partition("/")
    if not experiment or not folder.strip("/"):
        raise LogStoreError(f"request-log location '{location}': expected {SCHEME}:/<experiment>/<folder>")
    return experiment, folder.strip("/")


def is_local(tracking_uri: str) -> bool:
    return not tracking_uri.startswith(("http://", "https://"))


def resolve(location: str, tracking_uri: str, create: bool = False) -> str | None:
    """The artifact URI `location` names (itself unless it is an `experiments:/` location), or
    None when its experiment does not exist. `create`: make the experiment when absent, only on
    the local store (on a server, scripts/registry_access.py makes it, so that no client owns it)."""
    named = parse(location)
    if named is None:
        return location
    experiment_name, folder = named
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None and create and is_local(tracking_uri):
            artifact_root = (data_dir() / "mlartifacts").as_uri()
            client.create_experiment(experiment_name, artifact_location=artifact_root)
            experiment = client.get_experiment_by_name(experiment_name)
    except MlflowException as exc:
        doing = f"reading experiment '{experiment_name}' on {tracking_uri}"
        raise refused(exc, doing, "READ", experiment_name) from exc
    if experiment is None:
        return None
    if is_local(tracking_uri):
        return (data_dir() / "mlartifacts" / experiment.experiment_id / folder).as_uri()
    return f"{experiment.artifact_location.rstrip('/')}/{folder}"


def status_of(exc: BaseException) -> int | None:
    """The HTTP status a refused MLflow call or artifact upload carries, if any."""
    if hasattr(exc, "get_http_status_code"):
        status = exc.get_http_status_code()
        return status if status in (401, 403) else None
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def refused(exc: BaseException, doing: str, needed: str, experiment: str) -> Exception:
    """A LogStoreError saying who was refused and the grant `needed` on `experiment`, for a 401
    or 403; else `exc`."""
    status = status_of(exc)
    user = os.environ.get("MLFLOW_TRACKING_USERNAME", "")
    if status == 401:
        who = f"the password of user '{user}' was refused" if user else "no credentials were sent"
        return LogStoreError(
            f"{doing}: the tracking server answered 401 ({who}); set MLFLOW_TRACKING_USERNAME and "
            "MLFLOW_TRACKING_PASSWORD from the shipper's Secret"
        )
    if status == 403:
        return LogStoreError(
            f"{doing}: the tracking server answered 403: user '{user}' lacks {needed} on experiment "
            f"'{experiment}' (scripts.registry_access --shipper grants EDIT on it to the shipper's user)"
        )
    return exc if isinstance(exc, Exception) else LogStoreError(str(exc))
