"""The CI/CD definitions: valid GitHub Actions workflows (check-jsonschema's vendored schema,
offline) that run the pipeline in the order test -> package -> images -> register -> deploy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from core.paths import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
CHECK = str(Path(sys.executable).with_name("check-jsonschema"))


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def test_workflows_match_the_github_actions_schema():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) == 2
    result = subprocess.run(
        [CHECK, "--builtin-schema", "vendor.github-workflows", *files], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_tests_then_packages():
    jobs = _load("ci.yml")["jobs"]
    assert jobs["package"]["needs"] == "test"
    runs = " ".join(step.get("run", "") for step in jobs["test"]["steps"])
    assert "make test" in runs and "make lint" in runs
    assert any(step.get("run") == "make package" for step in jobs["package"]["steps"])


def test_cd_builds_registers_then_deploys_the_prod_overlay():
    jobs = _load("cd.yml")["jobs"]
    assert jobs["register"]["needs"] == "images"
    assert set(jobs["deploy-serving"]["needs"]) == {"images", "register"}
    register = " ".join(step.get("run", "") for step in jobs["register"]["steps"])
    assert "pyflyte --config deploy/flyte-config.yaml register" in register
    assert "--activate-launchplans" in register and "workflows launchplans" in register
    deploy = [s for s in jobs["deploy-serving"]["steps"] if "overlays/prod" in s.get("working-directory", "")]
    assert deploy and (PROJECT_ROOT / deploy[0]["working-directory"] / "kustomization.yaml").exists()
    assert (PROJECT_ROOT / "deploy" / "flyte-config.yaml").exists()
