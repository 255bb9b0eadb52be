"""Who may write to the registry: the users of an MLflow tracking server that runs the basic-auth
app (deploy/mlflow/basic_auth.ini), made from the admin's credentials.

    MLFLOW_TRACKING_USERNAME=admin MLFLOW_TRACKING_PASSWORD=... \\
    python -m scripts.registry_access --tracking-uri URI \\
        --pipeline NAME=PASSWORD_ENV [--shipper NAME=PASSWORD_ENV] [--reader NAME=PASSWORD_ENV ...] \\
        [--remove NAME ...]

Each password is read from the environment variable named after the user (a Kubernetes Secret
mapped into the Job's environment), never from the command line, and never printed. Running it
again sets the same state (a changed password is the rotation):

- the pipeline's user gets MANAGE on the registered model and on the pipeline's experiments,
  created here first when absent, so no other user can create them before it and own them: it
  alone registers versions and moves aliases (`champion`, `challenger`);
- the use case's request-log experiment (`contract.log_store`: `<model>-request-logs`, which
  holds nothing but the serving replicas' request logs) is created here too, and the shipper's
  user gets EDIT on it and nothing else (a grant it held on the model or the pipeline's
  experiments is revoked): it may write the request logs and nothing the pipeline made;
- each reader holds no grant (a grant left from before is revoked): the server's
  default_permission READ lets it read every experiment and model (the monitoring task reads
  the request logs so too), and write nothing;
- each removed user is deleted: its credentials no longer authenticate.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass

logger = logging.getLogger("registry_access")

MANAGE = "MANAGE"
EDIT = "EDIT"  # the least permission that writes artifacts under an experiment (the shipper's)
# Where the pipeline logs: training (the registered model's name), monitoring, tuning.
EXPERIMENT_SUFFIXES = ("", "-monitoring", "-tuning")


class AccessError(ValueError):
    """A request this script refuses before it talks to the server; names the option."""


@dataclass(frozen=True)
class User:
    name: str
    password_env: str

    @classmethod
    def parse(cls, option: str, value: str) -> User:
        name, _, env = value.partition("=")
        if not name or not env:
            raise AccessError(f"{option} {value!r}: expected NAME=PASSWORD_ENV")
        return cls(name, env)

    def password(self) -> str:
        password = os.environ.get(self.password_env, "")
        if not password:
            raise AccessError(f"user {self.name}: environment variable {self.password_env} is unset or empty")
        return password


def _missing(exc: Exception) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"


def grant(auth, user: str, resource_type: str, resource_id: str, permission: str = MANAGE) -> None:
    """`permission` on the resource, whatever the user held before (the server refuses a second
    grant: a grant of another level is replaced)."""
    from mlflow.exceptions import MlflowException

    try:
        auth.grant_user_permission(user, resource_type, resource_id, permission)
        return
    except MlflowException as exc:
        if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
            raise
    if auth.get_user_permission(user, resource_type, resource_id).permission != permission:
        auth.revoke_user_permission(user, resource_type, resource_id)
        auth.grant_user_permission(user, resource_type, resource_id, permission)


def ensure_user(auth, user: User) -> None:
    """Create the user, or set its password when it exists (the rotation)."""
    from mlflow.exceptions import MlflowException

    password = user.password()
    try:
        auth.get_user(user.name)
    except MlflowException as exc:
        if not _missing(exc):
            raise
        auth.create_user(user.name, password)
        logger.info("created user %s", user.name)
        return
    auth.update_user_password(user.name, password)
    logger.info("user %s exists: password set", user.name)


def ensure_model(client, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if not _missing(exc):
            raise
        client.create_registered_model(name)
        logger.info("created registered model %s", name)


def ensure_experiment(client, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    logger.info("created experiment %s", name)
    return client.create_experiment(name)


def revoke(auth, user: str, resource_type: str, resource_id: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        auth.revoke_user_permission(user, resource_type, resource_id)
        logger.info("revoked %s's grant on %s %s", user, resource_type, resource_id)
    except MlflowException as exc:
        if not _missing(exc):
            raise


def apply(
    tracking_uri: str,
    pipeline: User,
    readers: list[User],
    removed: list[str],
    model_name: str = "",
    experiments: list[str] | None = None,
    shipper: User | None = None,
) -> None:
    """Set the registry's users and grants as the module docstring says (admin credentials in
    MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD). `model_name`: the current use case's
    registered model unless given."""
    from mlflow import MlflowClient
    from mlflow.server import get_app_client

    import usecases
    from contract.log_store import experiment_name

    model_name = model_name or usecases.current().model_name
    shippers = [shipper] if shipper is not None else []

    names = [pipeline.name, *(s.name for s in shippers), *(r.name for r in readers)]
    if len(set(names)) != len(names) or set(names) & set(removed):
        raise AccessError(
            f"each user takes one role: --pipeline, --shipper, --reader and --remove name {names + removed}"
        )
    for user in (pipeline, *shippers, *readers):
        user.password()  # every password is there before anything changes
    auth = get_app_client("basic-auth", tracking_uri=tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment_names = (
        experiments if experiments is not None else [model_name + s for s in EXPERIMENT_SUFFIXES]
    )

    for user in (pipeline, *shippers, *readers):
        ensure_user(auth, user)
    ensure_model(client, model_name)
    grant(auth, pipeline.name, "registered_model", model_name)
    for name in experiment_names:
        grant(auth, pipeline.name, "experiment", ensure_experiment(client, name))
    logger.info("%s may register versions of %s and move its aliases", pipeline.name, model_name)
    request_logs = ensure_experiment(client, experiment_name(model_name))
    for user in (*shippers, *readers):  # nothing on the model or the pipeline's experiments
        revoke(auth, user.name, "registered_model", model_name)
        for name in experiment_names:
            revoke(auth, user.name, "experiment", ensure_experiment(client, name))
    for user in shippers:
        grant(auth, user.name, "experiment", request_logs, EDIT)
        logger.info(
            "%s may write the request logs (%s) and nothing else", user.name, experiment_name(model_name)
        )
    for reader in readers:
        revoke(auth, reader.name, "experiment", request_logs)
        logger.info("%s reads only", reader.name)
    for name in removed:
        _remove(auth, name)


def _remove(auth, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        auth.delete_user(name)
        logger.info("removed user %s", name)
    except MlflowException as exc:
        if not _missing(exc):
            raise
        logger.info("user %s was already absent", name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.registry_access", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"), required=False)
    parser.add_argument("--pipeline", required=True, help="NAME=PASSWORD_ENV of the pipeline's user")
    parser.add_argument("--shipper", default=None, help="NAME=PASSWORD_ENV of the request-log shipper's user")
    parser.add_argument("--reader", action="append", default=[], help="NAME=PASSWORD_ENV of a reader")
    parser.add_argument("--remove", action="append", default=[], help="a user to delete")
    parser.add_argument("--model-name", default="", help="default: the use case's registered model")
    parser.add_argument(
        "--experiment", action="append", help="an experiment of the pipeline (default: its three)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s registry-access %(levelname)s %(message)s")
    if not args.tracking_uri:
        parser.error("--tracking-uri (or MLFLOW_TRACKING_URI) is required")
    try:
        apply(
            args.tracking_uri,
            User.parse("--pipeline", args.pipeline),
            [User.parse("--reader", r) for r in args.reader],
            args.remove,
            args.model_name,
            args.experiment,
            User.parse("--shipper", args.shipper) if args.shipper else None,
        )
    except AccessError as exc:
        parser.error(str(exc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
