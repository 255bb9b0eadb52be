"""The CI/CD definitions: valid GitHub Actions workflows (check-jsonschema's vendored schema,
offline) that run the pipeline in the order test -> package -> images -> register -> deploy."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

import usecases
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


def test_ci_packages_every_use_case_for_its_own_task_image():
    package = _load("ci.yml")["jobs"]["package"]
    assert package["strategy"]["matrix"]["use_case"] == usecases.available()
    assert package["env"]["USE_CASE"] == "${{ matrix.use_case }}"
    step = next(s for s in package["steps"] if s.get("run") == "make package")
    assert step["env"]["FLYTE_TASK_IMAGE"].endswith("/${{ matrix.use_case }}-tasks:${{ github.sha }}")


def test_cd_builds_registers_then_deploys_the_prod_overlay():
    jobs = _load("cd.yml")["jobs"]
    assert jobs["register"]["needs"] == "task-images"
    assert set(jobs["deploy-serving"]["needs"]) == {"serving-image", "register"}
    register = " ".join(step.get("run", "") for step in jobs["register"]["steps"])
    assert "pyflyte --config deploy/flyte-config.yaml register" in register
    assert "--activate-launchplans" in register and "workflows launchplans" in register
    assert '--project "$MLOPS_USE_CASE"' in register
    deploy = [s for s in jobs["deploy-serving"]["steps"] if s.get("working-directory", "").endswith("/prod")]
    assert deploy[0]["working-directory"] == "seldon/k8s/usecases/${{ matrix.use_case }}/prod"
    for case in usecases.available():
        assert (PROJECT_ROOT / "seldon" / "k8s" / "usecases" / case / "prod" / "kustomization.yaml").exists()
    assert (PROJECT_ROOT / "deploy" / "flyte-config.yaml").exists()


def test_cd_builds_registers_and_deploys_every_use_case():
    """A use case added to usecases/ is delivered too: each per-use-case job runs for all of them,
    and the register job's use case is the one its task image was built with."""
    jobs = _load("cd.yml")["jobs"]
    for name in ("task-images", "register", "deploy-serving"):
        assert jobs[name]["strategy"]["matrix"]["use_case"] == usecases.available(), name
    assert jobs["task-images"]["env"]["MLOPS_USE_CASE"] == "${{ matrix.use_case }}"
    env = next(s["env"] for s in jobs["register"]["steps"] if "pyflyte" in str(s.get("run", "")))
    assert env["MLOPS_USE_CASE"] == "${{ matrix.use_case }}"


def test_ci_posts_the_model_effect_of_a_pull_request():
    """On a pull request only: the base branch and the change train on the same window, each into
    its own store, and the report sets the second beside the first, in the job summary and as a
    comment."""
    ci = _load("ci.yml")
    triggers = ci[True] if True in ci else ci["on"]  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in triggers
    job = ci["jobs"]["model-report"]
    assert job["if"] == "github.event_name == 'pull_request'"
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = {step.get("name", ""): step for step in job["steps"]}
    reference = steps["Reference, the base branch trained on the window"]
    candidate = steps["Candidate, this pull request trained on the same window"]
    assert reference["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert 'git worktree add "$RUNNER_TEMP/base" "$BASE_SHA"' in reference["run"]
    stores = []
    for step in (reference, candidate):
        run = " ".join(step["run"].replace("\\\n", " ").split())
        assert 'pyflyte run workflows/training.py training_workflow --as_of "$AS_OF" --data "$WINDOW"' in run
        stores.append(re.search(r'MLOPS_DATA_DIR="([^"]+)"', run).group(1))
    assert stores[0] != stores[1]  # nothing shared: each store has one version, its own
    from tasks.data import DataConfig

    assert DataConfig(**json.loads(job["env"]["WINDOW"])).train_months == 1  # a small window
    report = " ".join(steps["Report, in the job summary"]["run"].replace("\\\n", " ").split())
    assert f'python -m scripts.model_report --reference-store "{stores[0]}"' in report
    assert f'--candidate-store "{stores[1]}" --output model-report.md' in report
    assert 'cat model-report.md >> "$GITHUB_STEP_SUMMARY"' in report
    comment = steps["Report, as a comment on the pull request (updated on each push)"]
    assert "gh pr comment" in comment["run"] and "--body-file model-report.md" in comment["run"]


def test_cd_registers_with_the_commit_every_version_records():
    register = " ".join(step.get("run", "") for step in _load("cd.yml")["jobs"]["register"]["steps"])
    assert '--env "GIT_COMMIT=$(git rev-parse HEAD)"' in register
    assert '--env "GIT_DIRTY=$(if [ -n "$(git status --porcelain)" ]' in register
