"""The training workflow against a real MLflow tracking server that fails: it refuses the first
calls, loses the answer to the registration (the server made the version, the client hears 503
and sends it again), refuses the upload that completes the registration, then refuses the check
the retried registration starts with, and loses the answers to the gate's move of the alias. The
run ends with one registered version, complete, champion, with the gate's own decision; an outage
never reads as an empty registry."""

from __future__ import annotations

import json

import pytest

from contract.bundle import load_bundle
from core import registry
from tests.integration.mlflow_server import mlflow_server
from tests.support.faulty_proxy import Fault, faulty_proxy
from tests.support.pipeline import train_small

pytestmark = pytest.mark.slow

CREATE = "/api/2.0/mlflow/model-versions/create"
ALIAS = "/api/2.0/mlflow/registered-models/alias"
# MLflow's client: one retry of a failed request, at once (its default is 7, over about 4
# minutes): the test's outages outlast it and reach the task's own retries.
CLIENT_RETRIES = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with mlflow_server(tmp_path_factory.mktemp("tracking-server")) as uri:
        yield uri


@pytest.fixture(scope="module")
def outage_run(server, tmp_path_factory):
    """One training workflow through a proxy that injects the faults, and the proxy's record."""
    starting = Fault(times=2)  # the first two requests, whatever they are
    lost_answer = Fault(times=1, method="POST", path=CREATE, forward=True)
    last_upload = Fault(times=2, method="PUT", path="bundle/metadata.json", after=lost_answer)
    check = Fault(times=2, method="GET", path="/registered-models/get", after=last_upload)
    alias_moved = Fault(times=2, method="POST", path=ALIAS, forward=True, after=check)
    home = tmp_path_factory.mktemp("outage-home")
    with faulty_proxy(server, [starting, lost_answer, last_upload, check, alias_moved]) as proxy:
        env = {
            "HOME": str(home),
            "MLOPS_DATA_DIR": str(home / "mlops"),
            "MLFLOW_TRACKING_URI": proxy.uri,
            **CLIENT_RETRIES,
        }
        result = train_small(env)
    assert result.returncode == 0, result.stderr[-6000:]
    assert all(f.used == f.times for f in proxy.faults), [(f.path, f.used) for f in proxy.faults]
    return proxy, result.stdout + result.stderr


@pytest.fixture
def tracking(server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    return registry.client()


def test_the_first_calls_were_refused_and_the_tasks_ran_again(outage_run):
    proxy, log = outage_run
    assert [s.status for s in proxy.seen[:2]] == [503, 503]
    assert log.count("register_model: transient error") >= 2, log[-4000:]
    assert log.count("promotion_gate: transient error") == 1, log[-4000:]


def test_one_version_though_the_server_made_two(outage_run, tracking):
    proxy, _ = outage_run
    # the server made a version for each of the two create requests; the client heard 503 then 200
    assert proxy.answered("POST", CREATE) == [503, 200]
    versions = tracking.search_model_versions(f"name = '{registry.MODEL_NAME}'")
    assert [v.version for v in versions] == ["1"]
    assert registry.alias_version(registry.MODEL_NAME, "champion") == "1"


def test_the_retried_registration_completed_the_version(outage_run, tracking, tmp_path):
    version = tracking.get_model_version(registry.MODEL_NAME, "1")
    bundle = load_bundle(registry.download_bundle(registry.MODEL_NAME, "1", tmp_path))
    assert bundle.metadata.version == "1" and bundle.metadata.model_sha256 == version.tags["model_sha256"]
    assert tracking.get_run(version.run_id).info.status == "FINISHED"


def test_the_retried_gate_returns_the_decision_it_made(outage_run, tracking):
    proxy, log = outage_run
    # the first attempt moved it (twice), unheard; the retry found its decision, not yet marked
    # applied, and applied it again
    assert proxy.answered("POST", ALIAS) == [503, 503, 200]
    tags = tracking.get_model_version(registry.MODEL_NAME, "1").tags
    assert (tags["promotion"], tags["gate_state"]) == ("champion", "applied")
    assert json.loads(tags["promotion_reasons"]) == ["no champion yet and every sanity check passed"]
    assert "no champion yet" in log and "already the champion" not in log


def test_an_outage_is_not_an_empty_registry(outage_run, server, monkeypatch):
    """Taken for "no champion", an outage would let the gate promote a candidate unchallenged;
    taken for "no such model", it would let a registration register the same file again."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with faulty_proxy(server, [Fault(times=1000)]) as down:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", down.uri)
        with pytest.raises(Exception, match="503|too many"):
            registry.alias_version(registry.MODEL_NAME, "champion")
        with pytest.raises(Exception, match="503|too many"):
            registry.find_version_by_sha(registry.MODEL_NAME, "0" * 64)
