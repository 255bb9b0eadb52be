"""The platform as code (deploy/): the kustomize overlays build and validate offline against the
Kubernetes schemas (strict: an unknown field fails), the custom resource against its operator's
own CRD schema, and the chart values use only keys their charts have; the pieces name each other
right (Services, ports, buckets, Secrets, label selectors), and no credential is written anywhere.

The charts themselves are not rendered here (no Helm, no chart archive offline): their values are
checked key by key against the chart's own values.yaml at the pinned version, vendored with the
ServiceMonitor CRD in tests/data/platform (README.md there says from where)."""

from __future__ import annotations

import copy
import functools
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml

import usecases
from tests.support import REPO

DEPLOY = REPO / "deploy"
DATA = REPO / "tests" / "data" / "platform"
KUBECTL = REPO / ".venv" / "bin" / "kubectl"
KUBERNETES_VERSION = "1.37.0"
OVERLAYS = ["dev", "prod"]
CHARTS = {
    "flyte-binary": ("flyte-binary-values.yaml", "flyte-binary-v1.16.8-values.yaml"),
    "kube-prometheus-stack": (
        "kube-prometheus-stack-values.yaml",
        "kube-prometheus-stack-88.5.3-values.yaml",
    ),
    "seldon-core-operator": ("seldon-core-operator-values.yaml", "seldon-core-operator-1.17.1-values.yaml"),
}
# Keys a chart's templates read that its values.yaml only shows commented out (the template line
# is the evidence): flyte-binary's templates/deployment.yaml, `.Values.deployment.resources`.
READ_BUT_COMMENTED = {"flyte-binary": {("deployment", "resources")}}


@functools.cache
def _built(path: Path) -> str:
    return subprocess.run(
        [str(KUBECTL), "kustomize", str(path)], capture_output=True, text=True, check=True
    ).stdout


def kustomize(path: Path) -> list[dict]:
    """`kubectl kustomize path`, built once a run (each call parses it anew: tests edit copies)."""
    return [doc for doc in yaml.safe_load_all(_built(path)) if doc]


def platform(overlay: str) -> list[dict]:
    return kustomize(DEPLOY / "platform" / "overlays" / overlay)


def chart_values(chart: str) -> dict:
    return yaml.safe_load((DEPLOY / "charts" / CHARTS[chart][0]).read_text())


def find(docs: list[dict], kind: str, name: str) -> dict:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def generated(docs: list[dict], name: str) -> dict:
    """A ConfigMap kustomize generated (its name carries a content hash)."""
    found = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and re.fullmatch(rf"{name}-[a-z0-9]{{10}}", d["metadata"]["name"])
    ]
    assert len(found) == 1, name
    return found[0]


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def strict(schema: dict) -> dict:
    """The CRD's structural schema refusing unknown fields, as the API server's strict field
    validation (`kubectl apply --validate=strict`) does."""
    schema = copy.deepcopy(schema)

    def visit(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                if not node.get("x-kubernetes-preserve-unknown-fields"):
                    node["additionalProperties"] = False
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return schema


def servicemonitor_schema() -> dict:
    crd = next(d for d in yaml.safe_load_all((DATA / "crd-servicemonitors.yaml").read_text()) if d)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    return strict(version["schema"]["openAPIV3Schema"])


def validate(doc: dict) -> None:
    if doc["kind"] == "ServiceMonitor":
        jsonschema.validate(doc, servicemonitor_schema())
    else:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def selects(selector: dict, labels: dict) -> bool:
    """A Kubernetes LabelSelector against labels (an empty selector selects everything)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for rule in selector.get("matchExpressions", []):
        key, operator, values = rule["key"], rule["operator"], rule.get("values", [])
        held = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not held:
            return False
    return True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_platform_overlay_builds_and_validates(overlay):
    docs = platform(overlay)
    for doc in docs:
        validate(doc)
    where = {
        (
            d["kind"],
            d["metadata"]["name"].rsplit("-", 1)[0] if d["kind"] == "ConfigMap" else d["metadata"]["name"],
        ): d["metadata"].get("namespace")
        for d in docs
    }
    expected = {
        ("Namespace", "mlflow"): None,
        ("Namespace", "monitoring"): None,
        ("Namespace", "flyte"): None,
        ("Deployment", "mlflow"): "mlflow",  # the tracking server
        ("Service", "mlflow"): "mlflow",
        ("ConfigMap", "mlflow-server"): "mlflow",
        ("ConfigMap", "mlflow-auth"): "mlflow",
        ("StatefulSet", "postgres"): "mlflow",  # its backend store
        ("Service", "postgres"): "mlflow",
        ("ConfigMap", "postgres-init"): "mlflow",
        ("NetworkPolicy", "postgres"): "mlflow",
        ("StatefulSet", "minio"): "mlflow",  # its artifact store (S3)
        ("Service", "minio"): "mlflow",
        ("Job", "minio-buckets"): "mlflow",
        ("StatefulSet", "alertmanager"): "monitoring",
        ("Service", "alertmanager"): "monitoring",
        ("ConfigMap", "alertmanager-config"): "monitoring",
        ("StatefulSet", "pushgateway"): "monitoring",
        ("Service", "pushgateway"): "monitoring",
        ("ServiceMonitor", "pushgateway"): "monitoring",
    }
    if overlay == "prod":
        expected[("Ingress", "mlflow")] = "mlflow"
    assert where == expected
    for workload in (d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")):
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, workload["metadata"]["name"]
        assert spec["automountServiceAccountToken"] is False
        for container in spec["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert "resources" in container and ":" in container["image"]  # a pinned tag


def test_the_schemas_catch_a_broken_resource():
    docs = platform("dev")
    monitor = copy.deepcopy(find(docs, "ServiceMonitor", "pushgateway"))
    monitor["spec"]["endpoints"][0]["honorLabel"] = True  # a typo of honorLabels
    with pytest.raises(jsonschema.ValidationError, match="honorLabel"):
        validate(monitor)
    tracking = copy.deepcopy(find(docs, "Deployment", "mlflow"))
    pod_spec(tracking)["containers"][0]["envFrom"][0]["configMapRef"]["nam"] = "x"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(tracking)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_tracking_server_runs_basic_auth_on_postgres_and_the_bucket(overlay):
    docs = platform(overlay)
    tracking = find(docs, "Deployment", "mlflow")
    spec = pod_spec(tracking)
    server = spec["containers"][0]
    assert server["args"][:2] == ["--app-name", "basic-auth"]
    settings = generated(docs, "mlflow-server")["data"]
    # basic_auth.ini is mounted exactly as committed, where MLFLOW_AUTH_CONFIG_PATH points
    auth = generated(docs, "mlflow-auth")
    assert auth["data"] == {"basic_auth.ini": (DEPLOY / "mlflow" / "basic_auth.ini").read_text()}
    volume = next(
        v["name"] for v in spec["volumes"] if v.get("configMap", {}).get("name") == auth["metadata"]["name"]
    )
    mount = next(m for m in server["volumeMounts"] if m["name"] == volume)
    assert settings["MLFLOW_AUTH_CONFIG_PATH"] == f"{mount['mountPath']}/basic_auth.ini"
    # the backend store: the PostgreSQL Service, with the user in the URI and no password
    store = urlsplit(settings["MLFLOW_BACKEND_STORE_URI"])
    assert (store.scheme, store.username, store.password) == ("postgresql", "mlflow", None)
    postgres = find(docs, "Service", store.hostname)
    assert store.port == postgres["spec"]["ports"][0]["port"]
    init = generated(docs, "postgres-init")["data"]["postgres-init.sh"]
    assert f"CREATE DATABASE {store.path.lstrip('/')} OWNER mlflow" in init
    # the artifact store: a bucket the bucket job makes, on the MinIO Service
    bucket = urlsplit(settings["MLFLOW_ARTIFACTS_DESTINATION"])
    assert bucket.scheme == "s3"
    assert (
        f"store/{bucket.hostname}"
        in find(docs, "Job", "minio-buckets")["spec"]["template"]["spec"]["containers"][0]["args"][0]
    )
    endpoint = urlsplit(settings["MLFLOW_S3_ENDPOINT_URL"])
    assert endpoint.port == find(docs, "Service", endpoint.hostname)["spec"]["ports"][0]["port"]
    # the serving base's tracking URI reaches this Service, and MLflow accepts its Host header
    serving = kustomize(REPO / "seldon" / "k8s" / "usecases" / "flights" / "dev")
    registry = next(
        d
        for d in serving
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("flights-registry")
    )
    uri = urlsplit(registry["data"]["MLFLOW_TRACKING_URI"])
    name, namespace = uri.hostname.split(".")[:2]
    service = find(docs, "Service", name)
    assert service["metadata"]["namespace"] == namespace and service["spec"]["ports"][0]["port"] == uri.port
    allowed = settings["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert uri.netloc in allowed
    if overlay == "prod":  # from outside: the host the serving prod overlay names, over TLS
        prod = kustomize(REPO / "seldon" / "k8s" / "usecases" / "flights" / "prod")
        registry = next(
            d
            for d in prod
            if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("flights-registry")
        )
        public = urlsplit(registry["data"]["MLFLOW_TRACKING_URI"])
        ingress = find(docs, "Ingress", "mlflow")
        assert public.scheme == "https" and ingress["spec"]["tls"][0]["hosts"] == [public.hostname]
        assert ingress["spec"]["rules"][0]["host"] == public.hostname and public.netloc in allowed
        assert tracking["spec"]["replicas"] == 2


def test_alertmanager_runs_the_committed_routing_with_its_webhook_token_mounted():
    docs = platform("prod")
    config = generated(docs, "alertmanager-config")
    committed = (DEPLOY / "alertmanager" / "alertmanager.yml").read_text()
    assert config["data"] == {"alertmanager.yml": committed}
    spec = pod_spec(find(docs, "StatefulSet", "alertmanager"))
    container = spec["containers"][0]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    config_mount = next(
        m
        for n, m in mounts.items()
        if volumes.get(n, {}).get("configMap", {}).get("name") == config["metadata"]["name"]
    )
    assert f"--config.file={config_mount['mountPath']}" in container["args"]
    # every file alertmanager.yml reads a credential from lies in a mounted Secret
    secret_dirs = [mounts[n]["mountPath"] for n, v in volumes.items() if "secret" in v]
    files = re.findall(r"\b\w+_file:\s*(\S+)", committed)
    assert files and all(any(f.startswith(d + "/") for d in secret_dirs) for f in files), files


def test_the_pushgateway_is_scraped_with_its_pushed_labels_kept():
    docs = platform("prod")
    monitor = find(docs, "ServiceMonitor", "pushgateway")
    service = find(docs, "Service", "pushgateway")
    assert selects(monitor["spec"]["selector"], service["metadata"]["labels"])
    endpoint = monitor["spec"]["endpoints"][0]
    assert endpoint["honorLabels"] is True
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    args = pod_spec(find(docs, "StatefulSet", "pushgateway"))["containers"][0]["args"]
    assert any(a.startswith("--persistence.file=/data/") for a in args)


def key_paths(values, prefix=()):
    """Every key path of a values tree down to its scalars, lists and empty maps."""
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from key_paths(value, (*prefix, key))
    else:
        yield prefix


def unknown_keys(chart: str, values: dict) -> list[tuple]:
    """The key paths of `values` the chart's own values.yaml does not have. A path below a key
    whose default is an empty map or a list is the chart's free-form input (inline config, extra
    volumes); below that nothing is checked."""
    defaults = yaml.safe_load((DATA / CHARTS[chart][1]).read_text())
    unknown = []
    for path in key_paths(values):
        node = defaults
        for depth, key in enumerate(path):
            if isinstance(node, dict) and key in node:
                node = node[key]
                if node == {} or isinstance(node, list):
                    break  # free-form from here
            elif path[: depth + 1] in READ_BUT_COMMENTED.get(chart, set()):
                break
            else:
                unknown.append(path)
                break
    return unknown


@pytest.mark.parametrize("chart", sorted(CHARTS))
def test_chart_values_use_only_keys_the_chart_has(chart):
    values = chart_values(chart)
    assert values and unknown_keys(chart, values) == []


def test_the_key_check_catches_a_misspelt_key():
    values = chart_values("kube-prometheus-stack")
    values["prometheus"]["prometheusSpec"]["podMonitorSelectorNilUsesHelmValue"] = False
    values["grafana"]["sidecars"] = {"dashboards": {"enabled": True}}
    assert unknown_keys("kube-prometheus-stack", values) == [
        ("prometheus", "prometheusSpec", "podMonitorSelectorNilUsesHelmValue"),
        ("grafana", "sidecars", "dashboards", "enabled"),
    ]


def test_prometheus_and_grafana_select_what_the_project_ships():
    """The Prometheus the chart makes selects the serving overlays' PodMonitor and PrometheusRule
    and the platform's ServiceMonitor, sends alerts to the platform's Alertmanager, and Grafana's
    sidecar loads the dashboard ConfigMap."""
    spec = chart_values("kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    assert chart_values("kube-prometheus-stack")["alertmanager"]["enabled"] is False  # ours routes
    serving = kustomize(REPO / "seldon" / "k8s" / "usecases" / "flights" / "prod")
    shipped = serving + platform("prod")
    for kind, selector, namespaces, nil_uses_release in (
        (
            "PodMonitor",
            "podMonitorSelector",
            "podMonitorNamespaceSelector",
            "podMonitorSelectorNilUsesHelmValues",
        ),
        (
            "ServiceMonitor",
            "serviceMonitorSelector",
            "serviceMonitorNamespaceSelector",
            "serviceMonitorSelectorNilUsesHelmValues",
        ),
        ("PrometheusRule", "ruleSelector", "ruleNamespaceSelector", "ruleSelectorNilUsesHelmValues"),
    ):
        # left true, an empty selector means "this release's label", which the project's lack
        assert spec[nil_uses_release] is False
        objects = [d for d in shipped if d["kind"] == kind]
        assert objects, kind
        for obj in objects:
            assert selects(spec[selector], obj["metadata"].get("labels", {})), obj["metadata"]["name"]
            ns_labels = {"kubernetes.io/metadata.name": obj["metadata"]["namespace"]}
            assert selects(spec[namespaces], ns_labels)
    # alertmanager.yml routes a development namespace by the `namespace` label of each alert
    assert spec["enforcedNamespaceLabel"] == "namespace"
    assert 'namespace=~".+-dev"' in (DEPLOY / "alertmanager" / "alertmanager.yml").read_text()
    (endpoint,) = spec["alertingEndpoints"]
    alertmanager = find(platform("prod"), "Service", endpoint["name"])
    assert alertmanager["metadata"]["namespace"] == endpoint["namespace"]
    assert endpoint["port"] in {p["name"] for p in alertmanager["spec"]["ports"]}
    sidecar = chart_values("kube-prometheus-stack")["grafana"]["sidecar"]["dashboards"]
    dashboards = [
        d
        for d in serving
        if d["kind"] == "ConfigMap"
        and d["metadata"].get("labels", {}).get(sidecar["label"]) == sidecar["labelValue"]
    ]
    assert [d["metadata"]["name"] for d in dashboards] == ["flights-grafana-dashboard"]
    assert sidecar["searchNamespace"] == "ALL"  # the dashboard lives in the serving namespace


def test_the_seldon_operator_serves_metrics_where_the_serving_podmonitor_scrapes():
    values = chart_values("seldon-core-operator")
    serving = kustomize(REPO / "seldon" / "k8s" / "usecases" / "flights" / "prod")
    monitor = next(d for d in serving if d["kind"] == "PodMonitor")
    model_endpoint = monitor["spec"]["podMetricsEndpoints"][0]
    assert model_endpoint["port"] == values["predictiveUnit"]["metricsPortName"]
    assert model_endpoint["path"] == values["executor"]["prometheus"]["path"]
    assert values["usageMetrics"]["enabled"] is False


def test_flyte_uses_the_platforms_database_bucket_and_services():
    values = chart_values("flyte-binary")
    docs = platform("prod")
    config = values["configuration"]
    database = config["database"]
    postgres = find(docs, "Service", database["host"].split(".")[0])
    assert database["host"] == f"postgres.{postgres['metadata']['namespace']}.svc.cluster.local"
    assert database["port"] == postgres["spec"]["ports"][0]["port"]
    init = generated(docs, "postgres-init")["data"]["postgres-init.sh"]
    assert f"CREATE DATABASE {database['dbname']} OWNER {database['username']}" in init
    # the password is a file of a mounted Secret, not a value
    mount = next(
        m
        for m in values["deployment"]["extraVolumeMounts"]
        if database["passwordPath"].startswith(m["mountPath"] + "/")
    )
    volume = next(v for v in values["deployment"]["extraVolumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "flyte-db"
    s3 = config["storage"]["providerConfig"]["s3"]
    job = find(docs, "Job", "minio-buckets")["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert f"store/{config['storage']['metadataContainer']}" in job
    env = config["inline"]["plugins"]["k8s"]["default-env-vars"]
    for url in (
        s3["endpoint"],
        env["FLYTE_AWS_ENDPOINT"],
        env["MLFLOW_TRACKING_URI"],
        env["PUSHGATEWAY_URL"],
    ):
        parts = urlsplit(url)
        name, namespace = parts.hostname.split(".")[:2]
        service = find(docs, "Service", name)
        assert (
            service["metadata"]["namespace"] == namespace
            and service["spec"]["ports"][0]["port"] == parts.port
        ), url


def test_flyte_seeds_a_project_for_every_use_case():
    """CD registers each use case in the Flyte project of its name (.github/workflows/cd.yml)."""
    admin = chart_values("flyte-binary")["flyte-core-components"]["admin"]
    assert admin["seedProjects"] == usecases.available()
    assert [p["name"] for p in admin["seedProjectsWithDetails"]] == usecases.available()


# Chart keys that hold a credential itself: each must stay empty (a Secret is named instead).
CREDENTIAL_KEYS = {
    "flyte-binary": [
        ("configuration", "database", "password"),
        ("configuration", "storage", "providerConfig", "s3", "accessKey"),
        ("configuration", "storage", "providerConfig", "s3", "secretKey"),
        ("configuration", "auth", "oidc", "clientSecret"),
        ("configuration", "auth", "internal", "clientSecret"),
    ],
    "kube-prometheus-stack": [("grafana", "adminPassword")],
}
# user:password@ in a URL, unless both are the shell's ${VARIABLES} (filled in the pod from a Secret)
CREDENTIAL_IN_URL = re.compile(r"://[^/\s:@$]+:[^/\s@]+@|://[^/\s:@]+:[^/\s@$]+@")
CREDENTIAL_ENV = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY", re.I)


def secret_names(docs: list[dict]) -> set[str]:
    """Every Secret the manifests name: env, envFrom, volumes, TLS."""
    text = json.dumps(docs)
    names = set(re.findall(r'"secretKeyRef": \{"key": "[^"]+", "name": "([^"]+)"', text))
    names |= set(re.findall(r'"secretRef": \{"name": "([^"]+)"', text))
    names |= set(re.findall(r'"secretName": "([^"]+)"', text))
    return names


def test_no_credential_is_written_in_the_manifests_or_the_values():
    docs = platform("dev") + platform("prod")
    assert not [d for d in docs if d["kind"] == "Secret"]
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            for container in pod_spec(doc)["containers"]:
                for variable in container.get("env", []):
                    if CREDENTIAL_ENV.search(variable["name"]):
                        assert "secretKeyRef" in variable.get("valueFrom", {}), variable
    assert CREDENTIAL_IN_URL.search("postgresql://mlflow:s3cret@postgres:5432/mlflow")  # it can fail
    texts = [yaml.safe_dump_all(docs)] + [(DEPLOY / "charts" / f).read_text() for f, _ in CHARTS.values()]
    for text in texts:
        assert not CREDENTIAL_IN_URL.search(text)
        assert "PRIVATE KEY" not in text
    for chart, paths in CREDENTIAL_KEYS.items():
        values = chart_values(chart)
        for path in paths:
            node = values
            for key in path:
                node = node.get(key, {}) if isinstance(node, dict) else {}
            assert node in ({}, "", None), path


def test_the_guide_creates_every_secret_the_platform_names():
    """docs/deploy.md creates each Secret the manifests and chart values reference, in its
    namespace, before they are applied."""
    guide = (REPO / "docs" / "deploy.md").read_text()
    created = set(re.findall(r"kubectl -n (\S+) create secret (?:generic|tls) (\S+)", guide))
    docs = platform("prod")
    needed = {(d["metadata"]["namespace"], name) for d in docs for name in secret_names([d])}
    flyte = chart_values("flyte-binary")
    needed |= {("flyte", flyte["deployment"]["extraEnvVarsSecret"])}
    needed |= {("flyte", v["secret"]["secretName"]) for v in flyte["deployment"]["extraVolumes"]}
    needed |= {
        ("flights-production", s)
        for s in flyte["configuration"]["inline"]["plugins"]["k8s"]["default-env-from-secrets"]
    }
    needed |= {("monitoring", chart_values("kube-prometheus-stack")["grafana"]["admin"]["existingSecret"])}
    assert needed and needed <= created, sorted(needed - created)


def test_the_tracking_server_image_pins_the_pipelines_mlflow_and_passes_hadolint():
    dockerfile = DEPLOY / "mlflow" / "Dockerfile"
    pins = dict(re.findall(r'"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^"]+)"', dockerfile.read_text()))
    lock = (REPO / "uv.lock").read_text()
    locked = dict(re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', lock))
    assert pins["mlflow"] == locked["mlflow"]
    for package, version in pins.items():
        if package.lower() in locked:
            assert version == locked[package.lower()], package
    linted = subprocess.run(
        [str(REPO / ".venv" / "bin" / "hadolint"), str(dockerfile)], capture_output=True, text=True
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
