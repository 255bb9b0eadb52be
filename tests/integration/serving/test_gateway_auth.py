"""The prod overlay puts predictions, explanations and feedback behind the cluster's
authentication (Istio's RequestAuthentication and a DENY AuthorizationPolicy, offline: kustomize
build, structural schemas, the policy's rule evaluated for each route); and no secret is in any
built manifest, config or image definition: credentials come from Secrets by name."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase

import jsonschema
import pytest
import yaml
from test_serving_k8s import CASES, DATA, K8S, REPO, kustomize

PROTECTED = [
    "/api/v1.0/predictions",
    "/api/v1.0/explain",
    "/api/v1.0/feedback",
    "/api/v1.0/metadata",
    "/admin/pointer",
]
SERVING_PORTS = ["8000", "9000"]  # the Seldon executor's REST port, the model container's
OPEN = [("/health/status", "9000"), ("/health/ping", "8000"), ("/prometheus", "6000"), ("/metrics", "6001")]
AUTH_OVERLAYS = ["prod", "prod-shadow-predictor"]


def _matches(value: str, patterns: list[str]) -> bool:
    """Istio's string match: exact, `prefix*`, `*suffix` or `*`."""
    return any(fnmatchcase(value, p) if "*" in p else value == p for p in patterns)


def _field(spec: dict, name: str, value: str | None) -> bool:
    """One `name` / `notName` pair of a source or operation (absent: matches everything)."""
    known = value is not None
    positive, negative = spec.get(name), spec.get("not" + name[0].upper() + name[1:])
    if positive is not None and not (known and _matches(value, positive)):
        return False
    return not (negative is not None and known and _matches(value, negative))


def denied(policy: dict, path: str, port: str, principal: str | None) -> bool:
    """Whether a DENY policy's rules match this request (the fields this project uses; any other
    field fails the test instead of being ignored)."""
    assert policy["spec"]["action"] == "DENY"
    for rule in policy["spec"]["rules"]:
        assert set(rule) <= {"from", "to"}, rule
        sources = [f["source"] for f in rule.get("from", [{"source": {}}])]
        operations = [t["operation"] for t in rule.get("to", [{"operation": {}}])]
        for source in sources:
            assert set(source) <= {"requestPrincipals", "notRequestPrincipals"}, source
        for operation in operations:
            assert set(operation) <= {"paths", "notPaths", "ports", "notPorts"}, operation
        # Without a principal, `notRequestPrincipals: ["*"]` matches (the request has none).
        from_ok = any(
            (
                "requestPrincipals" not in s
                or (principal is not None and _matches(principal, s["requestPrincipals"]))
            )
            and (
                "notRequestPrincipals" not in s
                or principal is None
                or not _matches(principal, s["notRequestPrincipals"])
            )
            for s in sources
        )
        to_ok = any(_field(o, "paths", path) and _field(o, "ports", port) for o in operations)
        if from_ok and to_ok:
            return True
    return False


def _gateway(overlay: str, case: str = "flights") -> tuple[dict, dict, list[dict]]:
    docs = kustomize(overlay, case)
    policy = next(d for d in docs if d["kind"] == "AuthorizationPolicy")
    authentication = next(d for d in docs if d["kind"] == "RequestAuthentication")
    return policy, authentication, docs


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("overlay", AUTH_OVERLAYS)
def test_prod_refuses_predictions_explanations_and_feedback_without_a_token(overlay, case):
    policy, authentication, docs = _gateway(overlay, case)
    for doc, schema in ((policy, "authorizationpolicy.json"), (authentication, "requestauthentication.json")):
        jsonschema.validate(doc, json.loads((DATA / "schemas" / schema).read_text()))
        assert doc["metadata"]["namespace"] == f"{case}-prod"
    # Both select the serving pods, as the PodMonitor does (the operator's seldon-deployment-id).
    monitor = next(d for d in docs if d["kind"] == "PodMonitor")
    assert policy["spec"]["selector"] == authentication["spec"]["selector"] == monitor["spec"]["selector"]
    rule = authentication["spec"]["jwtRules"][0]
    assert (
        rule["issuer"].startswith("https://") and rule["jwksUri"].startswith("https://") and rule["audiences"]
    )
    for path in PROTECTED:
        for port in SERVING_PORTS:
            assert denied(policy, path, port, principal=None), (path, port)
            assert not denied(policy, path, port, principal=f"{rule['issuer']}/some-client"), (path, port)
    for path, port in OPEN:
        assert not denied(policy, path, port, principal=None), (path, port)


@pytest.mark.parametrize("case", CASES)
def test_dev_has_no_gateway_policy(case):
    assert not {"AuthorizationPolicy", "RequestAuthentication"} & {d["kind"] for d in kustomize("dev", case)}


def test_the_policy_check_and_its_schema_can_fail():
    policy, authentication, _ = _gateway("prod")
    opened = json.loads(json.dumps(policy))
    opened["spec"]["rules"][0]["to"][0]["operation"]["notPaths"].append("/api/*")
    assert not denied(opened, "/api/v1.0/predictions", "8000", principal=None)
    misspelt = json.loads(json.dumps(policy))
    source = misspelt["spec"]["rules"][0]["from"][0]["source"]
    source["notRequestPrincipal"] = source.pop("notRequestPrincipals")
    schema = json.loads((DATA / "schemas" / "authorizationpolicy.json").read_text())
    with pytest.raises(jsonschema.ValidationError, match="notRequestPrincipal"):
        jsonschema.validate(misspelt, schema)
    plain = json.loads(json.dumps(authentication))
    plain["spec"]["jwtRules"][0]["jwksUri"] = "http://auth.internal.example.com/jwks.json"
    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        jsonschema.validate(plain, json.loads((DATA / "schemas" / "requestauthentication.json").read_text()))


@pytest.mark.parametrize("case", CASES)
def test_the_registry_sync_and_the_shipper_use_credentials_from_secrets(case):
    """The sync reads as the reader, the request-log shipper writes as a user of its own
    (scripts/registry_access.py --shipper): each from its Secret, in every predictor."""
    for overlay in AUTH_OVERLAYS:
        deployment = next(d for d in kustomize(overlay, case) if d["kind"] == "SeldonDeployment")
        for predictor in deployment["spec"]["predictors"]:
            containers = {c["name"]: c for c in predictor["componentSpecs"][0]["spec"]["containers"]}
            for container, secret in (
                ("registry-sync", "registry-reader"),
                ("request-log-shipper", "request-log-shipper"),
            ):
                env = {e["name"]: e for e in containers[container]["env"]}
                for name, key in (
                    ("MLFLOW_TRACKING_USERNAME", "username"),
                    ("MLFLOW_TRACKING_PASSWORD", "password"),
                ):
                    assert env[name]["valueFrom"]["secretKeyRef"] == {"name": secret, "key": key}, container


# ---- No secret in what is built or shipped --------------------------------------------------

SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|CREDENTIAL|(^|_)KEY$|ACCESS_KEY", re.I)
# a URI with a password written in it (`${VAR}` from a Secret at run time is not one)
USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@'\"$]+:[^/\s@'\"$]+@", re.I)


def _kustomizations() -> list[str]:
    """Every kustomization of the repository that builds on its own: the serving overlays and
    the platform's under deploy/."""
    found = sorted(
        str(p.parent)
        for p in (K8S / "usecases").glob("*/*/kustomization.yaml")
        if p.parent.name != "component"
    )
    found += sorted(str(p.parent) for p in (REPO / "deploy").rglob("kustomization.yaml"))
    return found


def _walk(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")
    yield path, node


def secrets_in(docs: list[dict]) -> list[str]:
    """What in these manifests looks like a secret written down: a Secret with data, an env var
    or ConfigMap key named like a secret with a literal value, a URI with a password."""
    found = []
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] == "Secret" and (doc.get("data") or doc.get("stringData")):
            found.append(f"{where}: a Secret with its data")
        if doc["kind"] == "ConfigMap":
            found += [f"{where}: data.{k}" for k in doc.get("data", {}) if SECRET_NAME.search(k)]
        for path, node in _walk(doc):
            if isinstance(node, dict) and "name" in node and "value" in node and path.endswith("]"):
                if ".env[" in path and SECRET_NAME.search(str(node["name"])):
                    found.append(f"{where}{path}: {node['name']} has a literal value")
            if isinstance(node, str) and USERINFO.search(node):
                found.append(f"{where}{path}: a URI with a password")
    return found


@pytest.mark.parametrize("directory", _kustomizations(), ids=lambda d: d.split(str(REPO))[-1].strip("/"))
def test_no_secret_in_a_built_manifest(directory):
    import subprocess

    built = subprocess.run(
        [str(REPO / ".venv" / "bin" / "kubectl"), "kustomize", directory], capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    assert docs
    assert secrets_in(docs) == []


def test_the_secret_check_finds_a_secret():
    written = [
        {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "x"}},
        {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"MLFLOW_TRACKING_PASSWORD": "x"}},
        {
            "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {
                "containers": [
                    {"env": [{"name": "ADMIN_TOKEN", "value": "x"}], "args": ["postgresql://u:p@db/x"]}
                ]
            },
        },
    ]
    assert len(secrets_in(written)) == 4
    from_secret = {
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"args": ["http://${USER}:${PASSWORD}@minio:9000"]},
    }
    assert secrets_in([from_secret]) == []


def test_no_secret_in_the_configs_and_image_definitions():
    ini = (REPO / "deploy" / "mlflow" / "basic_auth.ini").read_text()
    assert not re.search(r"^\s*admin_password\s*=", ini, re.M) and not USERINFO.search(ini)
    alertmanager = yaml.safe_load((REPO / "deploy" / "alertmanager" / "alertmanager.yml").read_text())
    for path, _node in _walk(alertmanager):
        assert not path.endswith((".credentials", ".password", ".bearer_token")), path  # only *_file
    for dockerfile in [REPO / "Dockerfile", *(REPO / "deploy").rglob("Dockerfile")]:
        for line in dockerfile.read_text().splitlines():
            if re.match(r"\s*(ENV|ARG)\s", line):
                assert not SECRET_NAME.search(line.split()[1].split("=")[0]), f"{dockerfile}: {line}"
