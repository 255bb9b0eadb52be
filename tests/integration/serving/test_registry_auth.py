"""Who may move the champion, on a real tracking server with MLflow's basic-auth app.

The server runs deploy/mlflow/basic_auth.ini as it is, with only its user store moved to a SQLite
file; `scripts/registry_access.py` makes the users from the admin's credentials, as an operator
would. Only the pipeline's user registers versions and moves `champion`; anonymous clients, a
wrong password, a read-only user, the request-log shipper's user and a removed user are refused
(401/403, with a message that names no secret), and nothing moved; the serving sync follows the
champion with the read-only user's credentials, taken from its environment; the shipper writes
the request logs under the use case's request-log experiment with its own user (EDIT there and
nothing else), monitoring reads them back, and a user without that grant is refused saying which
grant it lacks. Every password is random, made here, and no log of these tests (server,
provisioning, sync, shipper, refused clients) holds any of them.
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
import yaml
from serving_support import REPO, register

from contract import log_store
from contract.log_segments import closed_segments
from contract.request_log import RequestLog
from seldon.pointer import read_pointer
from tests.integration.mlflow_server import mlflow_server
from tests.support.processes import registry_env

pytestmark = pytest.mark.slow

MODEL = "flights-late-arrival"
EXPERIMENT = MODEL  # the training experiment (core.registry.EXPERIMENT)
PIPELINE, READER, FORMER = "flights-pipeline", "flights-serving", "former-reader"
SHIPPER = "flights-request-logs"
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
        "SHIPPER_PASSWORD": registry.passwords[SHIPPER],
    }
    done = _module(
        registry,
        env,
        "scripts.registry_access",
        "--tracking-uri",
        registry.uri,
        "--pipeline",
        f"{PIPELINE}=PIPELINE_PASSWORD",
        "--reader",
        f"{READER}=READER_PASSWORD",
        "--shipper",
        f"{SHIPPER}=SHIPPER_PASSWORD",
        "--experiment",
        EXPERIMENT,
        *extra,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Iterator[Registry]:
    base = tmp_path_factory.mktemp("registry-auth")
    passwords = {
        name: secrets.token_urlsafe(18) for name in ("admin", PIPELINE, READER, FORMER, SHIPPER, "flask")
    }
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
        "request-log shipper": (SHIPPER, registry.passwords[SHIPPER], 403),
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
    assert len(refused) == len(identities) * len(attempts) == 15
    assert _state(registry) == before  # 0 of 15 moved the alias or registered a version


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
    return _module(registry, env, "seldon.sync", "--root", str(root), "--once")


def _module(
    registry: Registry, env: dict[str, str], *args: str, timeout: int = 180
) -> subprocess.CompletedProcess:
    """`python -m <args>` from the repository with only `env` (a pod's), its output kept in the
    registry's logs (read by the test that no secret leaks)."""
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
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
    """Why the request logs live under an experiment (docs/access.md): the artifact proxy judges
    a path outside any experiment by default_permission (READ), so even the pipeline's user,
    MANAGE on its experiments, may not write `mlflow-artifacts:/request-logs`; under an
    experiment it may. The shipper's user writes under its request-log experiment alone."""
    import requests
    from mlflow import MlflowClient

    with credentials(PIPELINE, registry.passwords[PIPELINE]):
        client = MlflowClient(tracking_uri=registry.uri)
        experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
        own = client.get_experiment_by_name(log_store.experiment_name(MODEL)).experiment_id
    proxy = f"{registry.uri}/api/2.0/mlflow-artifacts/artifacts"
    answers = {}
    for who, folder in (
        (PIPELINE, "request-logs"),
        (PIPELINE, f"{experiment}/request-logs"),
        (SHIPPER, f"{experiment}/request-logs"),
        (SHIPPER, f"{own}/request-logs"),
    ):
        auth = (who, registry.passwords[who])
        answered = requests.put(f"{proxy}/{folder}/probe.jsonl", data=b"{}", auth=auth, timeout=60)
        answers[(who, folder)] = answered.status_code
    assert list(answers.values()) == [403, 200, 403, 200], answers


def _segments(directory: Path, prefix: str, count: int) -> None:
    """`count` requests logged by the serving side's own writer, closed (ready to ship)."""
    body = (REPO / "usecases" / "flights" / "sample_request.json").read_bytes().replace(b"\n", b"")
    log = RequestLog(directory, backups=0, max_seconds=0)
    for index in range(count):
        log.write(f"{prefix}-{index}", MODEL, "1", body, [0.3], [0], {})
    log.close()
    assert closed_segments(directory)


def _ship(registry: Registry, directory: Path, username: str) -> subprocess.CompletedProcess:
    """`python -m seldon.ship --once` as the shipper sidecar runs it: the location the generated
    manifests give (REQUEST_LOG_URI of the use case's `registry` ConfigMap) and only `username`'s
    credentials in its environment (a pod's, from its Secret)."""
    component = REPO / "seldon" / "k8s" / "usecases" / "flights" / "component" / "kustomization.yaml"
    generators = yaml.safe_load(component.read_text())["configMapGenerator"]
    literals = next(g["literals"] for g in generators if g["name"] == "registry")
    settings = dict(literal.split("=", 1) for literal in literals)
    env = {**registry_env(registry.uri), "REQUEST_LOG_URI": settings["REQUEST_LOG_URI"]}
    env.update(MLFLOW_TRACKING_USERNAME=username, MLFLOW_TRACKING_PASSWORD=registry.passwords[username])
    return _module(registry, env, "seldon.ship", "--dir", str(directory), "--replica", "r1", "--once")


def test_the_shipper_writes_the_request_logs_and_monitoring_reads_them_back(
    registry, tmp_path, monkeypatch, caplog
):
    from datetime import UTC, datetime, timedelta

    from core.request_logs import read_location
    from seldon.ship import Shipper

    refused_dir, shipped_dir = tmp_path / "refused", tmp_path / "shipped"
    _segments(refused_dir, "refused", 3)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry.uri)
    with credentials(READER, registry.passwords[READER]):  # a user without EDIT on the experiment
        assert Shipper(refused_dir, log_store.location(MODEL), "r1").ship_once() == (0, 1)
    registry.logs.append(caplog.text)
    expected = f"answered 403: user '{READER}' lacks EDIT on experiment '{log_store.experiment_name(MODEL)}'"
    assert expected in caplog.text, caplog.text[-3000:]
    assert closed_segments(refused_dir)  # kept on disk, to ship once the grant is there

    _segments(shipped_dir, "shipped", 4)
    shipped = _ship(registry, shipped_dir, SHIPPER)
    assert shipped.returncode == 0, shipped.stderr[-3000:]
    assert not closed_segments(shipped_dir)
    # monitoring reads the launch plan's location with the pipeline's credentials
    with credentials(PIPELINE, registry.passwords[PIPELINE]):
        rows, _ = read_location(
            log_store.location(MODEL), datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
        )
    assert sorted(r["request_id"] for r in rows) == [f"shipped-{i}" for i in range(4)]


def test_the_shipper_creates_no_experiment_on_the_server(registry, tmp_path, caplog):
    """Absent (scripts.registry_access not run for this model): the segments wait, the log says
    what makes the experiment, and the shipper's user owns nothing new."""
    from mlflow import MlflowClient

    from seldon.ship import Shipper

    _segments(tmp_path, "absent", 2)
    absent = log_store.location("absent-model")
    with pytest.MonkeyPatch.context() as patch, credentials(SHIPPER, registry.passwords[SHIPPER]):
        patch.setenv("MLFLOW_TRACKING_URI", registry.uri)
        assert Shipper(tmp_path, absent, "r1").ship_once() == (0, 1)
        assert (
            MlflowClient(tracking_uri=registry.uri).get_experiment_by_name("absent-model-request-logs")
            is None
        )
    assert "experiment 'absent-model-request-logs' does not exist" in caplog.text
    assert "scripts.registry_access makes it" in caplog.text
    assert closed_segments(tmp_path)


def test_no_secret_in_the_logs_of_these_tests(registry):
    """The server's log, the provisioning runs, the sync runs and every refused client's message."""
    logs = {"server.log": (registry.base / "server.log").read_text()}
    logs.update({f"client output {i}": text for i, text in enumerate(registry.logs)})
    assert len(logs) >= 3  # the server and the two provisioning runs at least
    for name, text in logs.items():
        for label, secret in registry.passwords.items():
            assert secret not in text, f"{label}'s secret in {name}"
