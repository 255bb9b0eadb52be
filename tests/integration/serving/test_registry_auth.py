"""Who may move the champion, on a real tracking server with MLflow's basic-auth app.

The server runs deploy/mlflow/basic_auth.ini as it is, with only its user store moved to a SQLite
file; `scripts/registry_access.py` makes the users from the admin's credentials, as an operator
would. Only the pipeline's user registers versions and moves `champion`; anonymous clients, a
wrong password, a read-only user and a removed user are refused (401/403, with a message that
names no secret), and nothing moved; the serving sync follows the champion with the read-only
user's credentials, taken from its environment. Every password is random, made here, and no log
of these tests (server, provisioning, sync, refused clients) holds any of them.
"""

from __future__ import annotations

import configparser
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from serving_support import REPO, register

from seldon.pointer import read_pointer
from tests.integration.mlflow_server import mlflow_server
from tests.support.processes import registry_env

pytestmark = pytest.mark.slow

MODEL = "flights-late-arrival"
EXPERIMENT = MODEL  # the training experiment (core.registry.EXPERIMENT)
PIPELINE, READER, FORMER = "flights-pipeline", "flights-serving", "former-reader"
AUTH_CONFIG = REPO / "deploy" / "mlflow" / "basic_auth.ini"


@dataclass
class Registry:
    uri: str
    base: Path
    passwords: dict[str, str]  # every secret of the run: admin, users, the server's Flask key
    logs: list[str] = field(default_factory=list)  # what the clients and commands printed

    def secrets(self) -> list[str]:
        return list(self.passwords.values())


@contextmanager
def credentials(username: str | None, password: str | None) -> Iterator[None]:
    """MLflow's client reads MLFLOW_TRACKING_USERNAME / PASSWORD at each request."""
    saved = {k: os.environ.pop(k, None) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    if username is not None:
        os.environ["MLFLOW_TRACKING_USERNAME"] = username
        os.environ["MLFLOW_TRACKING_PASSWORD"] = password or ""
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value


def _provision(registry: Registry, *extra: str) -> None:
    """`python -m scripts.registry_access` with the admin's credentials and each password in the
    variable its option names, as a Kubernetes Job maps a Secret into its environment."""
    env = {
        **registry_env(registry.uri),
        "MLFLOW_TRACKING_USERNAME": "admin",
        "MLFLOW_TRACKING_PASSWORD": registry.passwords["admin"],
        "PIPELINE_PASSWORD": registry.passwords[PIPELINE],
        "READER_PASSWORD": registry.passwords[READER],
        "FORMER_PASSWORD": registry.passwords[FORMER],
    }
    command = [
        sys.executable,
        "-m",
        "scripts.registry_access",
        "--tracking-uri",
        registry.uri,
        "--pipeline",
        f"{PIPELINE}=PIPELINE_PASSWORD",
        "--reader",
        f"{READER}=READER_PASSWORD",
        "--experiment",
        EXPERIMENT,
        *extra,
    ]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    registry.logs.append(done.stdout + done.stderr)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Iterator[Registry]:
    base = tmp_path_factory.mktemp("registry-auth")
    passwords = {name: secrets.token_urlsafe(18) for name in ("admin", PIPELINE, READER, FORMER, "flask")}
    config = configparser.ConfigParser()
    config.read(AUTH_CONFIG)
    assert config["mlflow"]["default_permission"] == "READ" and "admin_password" not in config["mlflow"]
    config["mlflow"]["database_uri"] = f"sqlite:///{base / 'auth.db'}"  # the one change
    with open(base / "basic_auth.ini", "w") as out:
        config.write(out)
    env = {
        "MLFLOW_AUTH_CONFIG_PATH": str(base / "basic_auth.ini"),
        "MLFLOW_AUTH_ADMIN_PASSWORD": passwords["admin"],
        "MLFLOW_FLASK_SERVER_SECRET_KEY": passwords["flask"],
    }
    # the auth app migrates its user store too: on a loaded machine that takes minutes
    with mlflow_server(base, startup_timeout=300, args=("--app-name", "basic-auth"), env=env) as uri:
        registry = Registry(uri, base, passwords)
        # The former reader is made, then removed by a second run (which also sets every other
        # password again: the rotation path).
        _provision(registry, "--reader", f"{FORMER}=FORMER_PASSWORD")
        with credentials(FORMER, passwords[FORMER]):
            from mlflow import MlflowClient

            MlflowClient(tracking_uri=uri).get_registered_model(MODEL)  # it could read
        _provision(registry, "--remove", FORMER)
        yield registry


def _register_as_pipeline(registry: Registry, bundle_dir: Path) -> str:
    """A new version from the pipeline's user, made champion; its number."""
    import mlflow
    from mlflow import MlflowClient

    with credentials(PIPELINE, registry.passwords[PIPELINE]):
        mlflow.set_tracking_uri(registry.uri)
        try:
            mlflow.set_experiment(EXPERIMENT)
            client = MlflowClient(tracking_uri=registry.uri)
            version = register(client, mlflow, bundle_dir, MODEL)
            client.set_registered_model_alias(MODEL, "champion", version)
        finally:
            mlflow.set_tracking_uri(None)
    return version


def _state(registry: Registry) -> tuple[str, int]:
    """The champion's version and how many versions the model has, read as the reader."""
    from mlflow import MlflowClient

    with credentials(READER, registry.passwords[READER]):
        client = MlflowClient(tracking_uri=registry.uri)
        champion = client.get_model_version_by_alias(MODEL, "champion").version
        return str(champion), len(client.search_model_versions(f"name = '{MODEL}'"))


def test_the_pipeline_registers_versions_and_moves_the_champion(registry, bundles):
    version = _register_as_pipeline(registry, bundles["1"])
    assert _state(registry)[0] == version


def test_no_unauthorized_client_registers_a_version_or_moves_the_champion(registry, bundles):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    if _state_or_none(registry) is None:
        _register_as_pipeline(registry, bundles["1"])
    before = _state(registry)
    source = MlflowClient(tracking_uri=registry.uri)
    with credentials(READER, registry.passwords[READER]):
        champion = source.get_model_version(MODEL, before[0])
    identities = {
        "anonymous": (None, None, 401),
        "wrong password": (PIPELINE, registry.passwords[READER], 401),
        "read-only user": (READER, registry.passwords[READER], 403),
        "removed user": (FORMER, registry.passwords[FORMER], 401),
    }
    attempts = {
        "register a version": lambda c: c.create_model_version(
            MODEL, source=champion.source, run_id=champion.run_id
        ),
        "move champion": lambda c: c.set_registered_model_alias(MODEL, "champion", before[0]),
        "remove champion": lambda c: c.delete_registered_model_alias(MODEL, "champion"),
    }
    refused = []
    for who, (username, password, status) in identities.items():
        for what, attempt in attempts.items():
            with credentials(username, password):
                with pytest.raises(MlflowException) as raised:
                    attempt(MlflowClient(tracking_uri=registry.uri))
            message = str(raised.value)
            registry.logs.append(message)
            assert raised.value.get_http_status_code() == status, (who, what, message)
            expected = "You are not authenticated" if status == 401 else "Permission denied"
            assert expected in message, (who, what, message)
            assert not any(secret in message for secret in registry.secrets()), (who, what)
            refused.append((who, what))
    assert len(refused) == len(identities) * len(attempts) == 12
    assert _state(registry) == before  # 0 of 12 moved the alias or registered a version


def _state_or_none(registry: Registry) -> tuple[str, int] | None:
    from mlflow.exceptions import MlflowException

    try:
        return _state(registry)
    except MlflowException:
        return None


def _sync(
    registry: Registry, root: Path, username: str | None, password: str | None
) -> subprocess.CompletedProcess:
    """`python -m seldon.sync --once` with only these credentials in its environment (a pod's
    from its Secret), as the registry-sync sidecar runs it."""
    env = {
        k: v
        for k, v in registry_env(registry.uri).items()
        if k not in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
    }
    if username is not None:
        env.update(MLFLOW_TRACKING_USERNAME=username, MLFLOW_TRACKING_PASSWORD=password or "")
    done = subprocess.run(
        [sys.executable, "-m", "seldon.sync", "--root", str(root), "--once"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    registry.logs.append(done.stdout + done.stderr)
    return done


def test_the_serving_sync_follows_the_champion_with_read_only_credentials(registry, bundles, tmp_path):
    root = tmp_path / "model-root"
    version = _register_as_pipeline(registry, bundles["2"])

    anonymous = _sync(registry, root, None, None)
    assert anonymous.returncode == 3, anonymous.stderr[-3000:]
    assert "answered 401" in anonymous.stderr and "no credentials were sent" in anonymous.stderr
    assert read_pointer(root) is None

    followed = _sync(registry, root, READER, registry.passwords[READER])
    assert followed.returncode == 0, followed.stderr[-3000:]
    assert read_pointer(root)["version"] == version


def test_request_logs_outside_an_experiment_take_the_admin(registry):
    """Why the shipper has no credentials yet (docs/access.md): the artifact proxy judges a path
    outside any experiment by default_permission (READ), so even the pipeline's user, MANAGE on
    its experiments, may not write `mlflow-artifacts:/request-logs`; under an experiment it may."""
    import requests
    from mlflow import MlflowClient

    auth = (PIPELINE, registry.passwords[PIPELINE])
    with credentials(*auth):
        experiment = MlflowClient(tracking_uri=registry.uri).get_experiment_by_name(EXPERIMENT).experiment_id
    proxy = f"{registry.uri}/api/2.0/mlflow-artifacts/artifacts"
    outside = requests.put(f"{proxy}/request-logs/probe.jsonl", data=b"{}", auth=auth, timeout=60)
    inside = requests.put(f"{proxy}/{experiment}/request-logs/probe.jsonl", data=b"{}", auth=auth, timeout=60)
    assert (outside.status_code, inside.status_code) == (403, 200), (outside.text, inside.text)


def test_no_secret_in_the_logs_of_these_tests(registry):
    """The server's log, the provisioning runs, the sync runs and every refused client's message."""
    logs = {"server.log": (registry.base / "server.log").read_text()}
    logs.update({f"client output {i}": text for i, text in enumerate(registry.logs)})
    assert len(logs) >= 3  # the server and the two provisioning runs at least
    for name, text in logs.items():
        for label, secret in registry.passwords.items():
            assert secret not in text, f"{label}'s secret in {name}"
