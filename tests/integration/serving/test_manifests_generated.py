"""What each use case gets of Kubernetes and Prometheus is generated from its declaration
(seldon/k8s/generate.py): the committed files are what the generator makes, every alert carries
the labels Alertmanager routes and inhibits by, and a use case of another name gets manifests,
rules and a dashboard that name nothing of the shipped ones, and a use case `make new-use-case`
scaffolds gets its manifests with it, deployable at once."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from test_serving_k8s import K8S, OVERLAYS, check_overlay, kustomize

import usecases
from seldon.k8s import dashboard, generate, rules
from tests.support.alert_rules import alerts
from tests.support.use_cases import every, renamed, shipped


@pytest.mark.parametrize("case", shipped(), ids=lambda case: case.name)
def test_committed_files_are_what_the_generator_makes(case):
    made = generate.files(case)
    for path, text in made.items():
        assert path.is_file() and path.read_text() == text, f"{path}: run `make manifests` and commit it"
    on_disk = {path for path in (generate.USECASES / case.name).rglob("*") if path.is_file()}
    assert on_disk == set(made), "a file the generator does not make: remove it"


def test_every_generated_folder_is_a_shipped_use_case():
    assert sorted(p.name for p in generate.USECASES.iterdir()) == sorted(c.name for c in shipped())


@pytest.mark.parametrize("case", every(), ids=lambda case: case.name)
def test_every_alert_carries_severity_component_and_use_case(case):
    found = alerts(case)
    assert found and all(name.startswith(rules.alert_stem(case)) for name in found)
    for name, rule in found.items():
        labels = rule["labels"]
        assert labels["severity"] in rules.SEVERITIES, name
        assert labels["component"] in rules.COMPONENTS, name
        assert labels["use_case"] == case.name, name
    recorded = [rule["record"] for rule in rules.serving_recording_rules(case)]
    assert recorded and all(name.startswith(f"{case.metric_prefix}:") for name in recorded)
    assert (f"{rules.alert_stem(case)}OnlineFeaturesMissing" in found) == (case.online is not None)


def test_a_use_case_of_another_name_gets_its_own_names_and_nothing_of_the_shipped_ones(tmp_path):
    case = renamed()
    k8s = tmp_path / "k8s"
    for folder in ("base", "environments"):
        shutil.copytree(K8S / folder, k8s / folder)
    generate.write(case, k8s)
    made = {"rules": generate.rules_file(case), "dashboard": dashboard.render(case)}
    for overlay in generate.ENVIRONMENTS:
        docs = kustomize(overlay, case.name, k8s)
        if overlay != "prod-shadow-predictor":
            check_overlay(docs, overlay, case)
        made[overlay] = yaml.safe_dump_all(docs)
    spec = next(d for d in kustomize("prod", case.name, k8s) if d["kind"] == "PrometheusRule")["spec"]
    assert spec == yaml.safe_load(made["rules"])  # the rule file Prometheus reads is the one shipped
    panels = json.loads(made["dashboard"])["panels"]
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    assert exprs and all(f"{case.metric_prefix}_" in e for e in exprs)
    for other in shipped():
        for name in {other.name, other.metric_prefix, other.model_name, rules.alert_stem(other)}:
            leaked = [what for what, text in made.items() if name in text]
            assert not leaked, f"{name} (of {other.name}) in the {leaked} of {case.name}"


def test_a_scaffolded_use_case_is_deployable_at_once(tmp_path, monkeypatch):
    """`make new-use-case` (scripts/new_use_case.py) writes the package and what `make manifests`
    makes of it: the committed-equals-generated check holds, and its overlays build and validate
    like a shipped use case's, named after it."""
    from scripts.new_use_case import main
    from tests.support.modules import forget_package
    from usecases.flights.source import default_source, read_table

    readings = read_table(default_source(), "weather").sort_values(["origin", "time_hour"], kind="stable")
    readings["rain_next_hour"] = readings.groupby("origin")["precip"].shift(-1).gt(0).astype(int)
    table = tmp_path / "station_hours.csv"
    readings[["origin", "time_hour", "temp", "humid", "rain_next_hour"]].to_csv(table, index=False)
    k8s = tmp_path / "k8s"
    for folder in ("base", "environments"):
        shutil.copytree(K8S / folder, k8s / folder)
    monkeypatch.setattr(usecases, "__path__", list(usecases.__path__))  # main adds --into to it
    options = ["--name", "rain-next", "--csv", str(table), "--time", "time_hour", "--label", "rain_next_hour"]
    forget_package("usecases.rain_next")
    try:
        assert (
            main([*options, "--entity", "origin", "--into", str(tmp_path / "cases"), "--k8s", str(k8s)]) == 0
        )
        case = usecases.load("rain-next")
        made = generate.files(case, k8s)
        assert made and all(path.read_text() == text for path, text in made.items())
        for overlay in OVERLAYS:
            check_overlay(kustomize(overlay, case.name, k8s), overlay, case)
        shadowed = kustomize("prod-shadow-predictor", case.name, k8s)
        deployment = next(d for d in shadowed if d["kind"] == "SeldonDeployment")
        assert [p["name"] for p in deployment["spec"]["predictors"]] == ["default", "challenger"]
    finally:
        usecases.load.cache_clear()
        forget_package("usecases.rain_next")
