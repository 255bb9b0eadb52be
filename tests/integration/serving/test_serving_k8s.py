"""Kubernetes manifests (kustomize overlays of each use case), alert rules (promtool), Dockerfile
(hadolint)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from serving_support import REPO

from contract import log_store
from seldon.k8s import generate, rules
from tests.support import alert_rules
from tests.support.system_tools import system_binary
from tests.support.use_cases import every, shipped
from usecases.spec import UseCase

DATA = REPO / "tests" / "data" / "serving"
K8S = REPO / "seldon" / "k8s"
BIN = REPO / ".venv" / "bin"
KUBERNETES_VERSION = "1.37.0"
CRD_SCHEMAS = {
    "SeldonDeployment": "seldondeployment.json",
    "PodMonitor": "podmonitor.json",
    "PrometheusRule": "prometheusrule.json",
    "RequestAuthentication": "requestauthentication.json",  # prod: the gateway's authentication
    "AuthorizationPolicy": "authorizationpolicy.json",
}
OVERLAYS = ["dev", "prod"]
CASES = {case.name: case for case in shipped()}


def kustomize(overlay: str, case: str = "flights", k8s: Path = K8S) -> list[dict]:
    """The built overlay `overlay` of use case `case` (seldon/k8s/usecases/<case>/<overlay>)."""
    built = subprocess.run(
        [str(BIN / "kubectl"), "kustomize", str(k8s / "usecases" / case / overlay)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def validate(docs: list[dict]) -> None:
    """Core kinds strictly against Kubernetes' schemas, custom resources against ours."""
    for doc in docs:
        if doc["kind"] in CRD_SCHEMAS:
            schema = json.loads((DATA / "schemas" / CRD_SCHEMAS[doc["kind"]]).read_text())
            jsonschema.validate(doc, schema)
        else:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def promtool() -> str:
    return system_binary("promtool")


STACK = ["ConfigMap", "ConfigMap", "ServiceAccount", "SeldonDeployment", "PodMonitor"]
OBSERVED = ["ConfigMap", "PrometheusRule"]  # the Grafana dashboard, the alert rules
STORE = ["Deployment", "Service", "NetworkPolicy"]  # the online store (Redis), who may reach it
# prod: predictions, explanations and feedback need a token (test_gateway_auth.py)
GATEWAY = ["RequestAuthentication", "AuthorizationPolicy"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_builds_and_validates(overlay, case):
    docs = kustomize(overlay, case)
    check_overlay(docs, overlay, CASES[case])


def check_overlay(docs: list[dict], overlay: str, case: UseCase) -> None:
    """What every use case's overlay holds, named after it."""
    kinds = sorted(d["kind"] for d in docs)
    gateway = GATEWAY if overlay.startswith("prod") else []
    assert kinds == sorted(STACK + OBSERVED + (STORE if case.online else []) + gateway)
    validate(docs)
    for doc in docs:
        assert doc["metadata"]["namespace"] == f"{case.name}-{overlay}"
        # the SeldonDeployment, its PodMonitor and rules take the model's name, the rest the use case's
        named = doc["metadata"]["name"]
        after_model = doc["kind"] in CRD_SCHEMAS and doc["kind"] not in GATEWAY
        assert named == case.model_name if after_model else named.startswith(f"{case.name}-")
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == f"{case.name}-mlops"
    deployment = next(d for d in docs if d["kind"] == "SeldonDeployment")
    assert deployment["metadata"]["name"] == case.model_name  # the URL clients call
    predictor = deployment["spec"]["predictors"][0]
    pod_spec = predictor["componentSpecs"][0]["spec"]
    # the pod template inside the CRD is a core PodSpec: validate it as a Pod, strictly
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check"}, "spec": pod_spec}
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)

    containers = {c["name"]: c for c in pod_spec["containers"]}
    model, sync = containers[predictor["graph"]["name"]], containers["registry-sync"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert model[probe]["httpGet"]["path"] == "/health/status"
    assert {v["name"] for v in pod_spec["volumes"]} >= {"models"}
    assert pod_spec["volumes"][0]["emptyDir"]
    mounts = {m["name"]: m for m in model["volumeMounts"]}
    assert mounts["models"]["readOnly"] is True
    assert {m["name"] for m in sync["volumeMounts"]} >= {"models"}
    assert sync["command"][:3] == ["python", "-m", "seldon.sync"]
    assert model["image"].endswith(":dev" if overlay == "dev" else ":0.1.0")
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    serving = configmaps[model["envFrom"][0]["configMapRef"]["name"]]["data"]  # hashed name resolved
    assert serving["OMP_NUM_THREADS"] == "1" and serving["MODEL_ROOT"] == "/mnt/models"
    assert serving["GUNICORN_WORKERS"] == ("1" if overlay == "dev" else "3")  # 2 cores + 1
    registry = configmaps[sync["envFrom"][0]["configMapRef"]["name"]]["data"]
    for settings in (serving, registry):  # which use case, model and metric names the pods serve
        assert settings[generate.USE_CASE_ENV] == case.name
        assert settings[generate.MODEL_NAME_ENV] == case.model_name
        assert settings[generate.METRIC_PREFIX_ENV] == case.metric_prefix
    # the shipper writes under the use case's own experiment, where its monitoring reads
    shipper = containers["request-log-shipper"]
    assert configmaps[shipper["envFrom"][0]["configMapRef"]["name"]]["data"] is registry
    assert registry["REQUEST_LOG_URI"] == log_store.location(case.model_name)
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    assert predictor["replicas"] == (1 if overlay == "dev" else 3)
    monitor = next(d for d in docs if d["kind"] == "PodMonitor")
    assert monitor["spec"]["selector"]["matchLabels"] == {"seldon-deployment-id": case.model_name}
    if case.online:
        store = f"{case.name}-online-store"
        assert serving["ONLINE_STORE_URL"] == f"redis://{store}:6379/0"  # the Service below
        _check_online_store(docs, store, case)
    else:
        assert "ONLINE_STORE_URL" not in serving


def _check_online_store(docs: list[dict], name: str, case: UseCase) -> None:
    """Redis for the online features: not persisted, non-root, reachable only from the use
    case's pods (the model pods among them) on its one port."""
    store = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name)
    pod = store["spec"]["template"]["spec"]
    redis = pod["containers"][0]
    assert redis["image"].startswith("redis:7.0") and redis["args"][:3] == ["redis-server", "--save", ""]
    assert pod["securityContext"]["runAsNonRoot"] is True
    service = next(d for d in docs if d["kind"] == "Service")
    assert service["spec"]["selector"] == store["spec"]["selector"]["matchLabels"]
    policy = next(d for d in docs if d["kind"] == "NetworkPolicy")
    assert policy["spec"]["podSelector"] == store["spec"]["selector"]
    assert service["metadata"]["name"] == name
    sources = [rule["podSelector"]["matchLabels"] for rule in policy["spec"]["ingress"][0]["from"]]
    assert sources == [
        {"seldon-deployment-id": case.model_name},
        {"app.kubernetes.io/part-of": f"{case.name}-mlops"},
    ]
    template = store["spec"]["template"]["metadata"]
    assert template["labels"]["app.kubernetes.io/part-of"] == f"{case.name}-mlops"


def test_the_shadow_predictor_overlay_serves_the_challenger_on_pods_of_its_own():
    """prod plus Seldon's `shadow: true` predictor: validated like the other overlays; its sync
    follows the challenger alias, its shipper writes beside, not into, the champion's log."""
    docs = kustomize("prod-shadow-predictor")
    validate(docs)
    for doc in docs:
        assert doc["metadata"]["namespace"] == "flights-prod"
    deployment = next(d for d in docs if d["kind"] == "SeldonDeployment")
    champion, challenger = deployment["spec"]["predictors"]
    assert "shadow" not in champion and challenger["shadow"] is True
    assert (champion["replicas"], challenger["replicas"]) == (3, 1)
    assert "hpaSpec" in champion["componentSpecs"][0] and "hpaSpec" not in challenger["componentSpecs"][0]
    pods = [p["componentSpecs"][0]["spec"] for p in (champion, challenger)]
    for pod_spec in pods:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check"}, "spec": pod_spec}
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    containers = [{c["name"]: c for c in pod_spec["containers"]} for pod_spec in pods]
    syncs = [c["registry-sync"]["command"] for c in containers]
    assert syncs[0][syncs[0].index("--shadow-alias") + 1] == "challenger" and "--alias" not in syncs[0]
    assert syncs[1][syncs[1].index("--alias") + 1] == "challenger" and "--shadow-alias" not in syncs[1]
    logs = [{e["name"]: e for e in c["request-log-shipper"]["env"]} for c in containers]
    assert "REQUEST_LOG_URI" not in logs[0]  # the champion's: its registry ConfigMap's
    shadow = logs[1]["REQUEST_LOG_URI"]["valueFrom"]["configMapKeyRef"]
    configmaps = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"}
    registry = configmaps[shadow["name"]]  # the hashed name, resolved by kustomize
    case = CASES["flights"]
    assert registry[shadow["key"]] == log_store.location(case.model_name, log_store.SHADOW)
    assert registry["REQUEST_LOG_URI"] == log_store.location(case.model_name)  # beside, not into


def test_schemas_catch_a_broken_resource():
    deployment = next(d for d in kustomize("dev") if d["kind"] == "SeldonDeployment")
    del deployment["spec"]["predictors"][0]["graph"]["type"]
    schema = json.loads((DATA / "schemas" / "seldondeployment.json").read_text())
    with pytest.raises(jsonschema.ValidationError, match="'type' is a required property"):
        jsonschema.validate(deployment, schema)
    shadowed = next(d for d in kustomize("prod-shadow-predictor") if d["kind"] == "SeldonDeployment")
    shadowed["spec"]["predictors"][1]["shadow"] = "yes"
    with pytest.raises(jsonschema.ValidationError, match="'yes' is not of type 'boolean'"):
        jsonschema.validate(shadowed, schema)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "x"},
        "spec": {"containers": [{"name": "m", "image": "i", "readinessProbe": {"httpGet": {"path": "/"}}}]},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("case", every(), ids=lambda case: case.name)
def test_alert_rules_pass_promtool(case, tmp_path):
    """The generated rules are valid and pass the serving alerts' unit tests, rendered with the
    use case's names; every serving alert is seen both firing and quiet."""
    (tmp_path / "rules.yaml").write_text(generate.rules_file(case))
    checked = subprocess.run(
        [promtool(), "check", "rules", str(tmp_path / "rules.yaml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = alert_rules.promtool_test(alert_rules.SERVING_TESTS, case, tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
    serving = {rule["alert"] for rule in rules.serving_alerts(case)}
    seen = alert_rules.seen(alert_rules.SERVING_TESTS, case)
    assert {name: seen.get(name) for name in serving} == {name: {True, False} for name in serving}


def test_dockerfile_copies_every_serving_module_and_runs_as_non_root():
    text = (REPO / "Dockerfile").read_text()
    copied = set(re.findall(r"seldon/(\w+)\.py", text))
    needed = {p.stem for p in (REPO / "seldon").glob("*.py")} - {
        "sync",
        "sync_metrics",
        "rollback",
        "ship",
    }  # pipeline image
    assert copied == needed
    # every contract module a copied module imports at its top (lazy imports are the pipeline's)
    copied_files = re.findall(r"\b((?:contract|scoring|seldon)/\w+\.py)\b", text)
    imported = {
        name
        for path in copied_files
        for name in re.findall(r"^from contract\.(\w+) import", (REPO / path).read_text(), re.M)
    }
    assert imported and imported <= set(re.findall(r"contract/(\w+)\.py", text)), imported
    assert "seldon/openapi.json" in text  # served at /api/v1.0/openapi.json
    for package in ("scoring", "operational"):  # what the serving side imports of them
        modules = {p.stem for p in (REPO / package).glob("*.py")}
        assert set(re.findall(rf"{package}/(\w+)\.py", text)) == modules, package
    assert "mlflow" not in (REPO / "seldon" / "requirements.txt").read_text()
    final = text.split("\nFROM ")[-1]
    assert re.search(r"^USER 10001", final, re.M) and "build-essential" not in final


def test_dockerfile_passes_hadolint():
    result = subprocess.run([str(BIN / "hadolint"), str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
