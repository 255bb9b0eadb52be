"""Registration proof, offline: `pyflyte package` serializes every task, workflow and launch plan
of `workflows/` and `launchplans/`; the archive's protobufs name each of them."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flytekit import LaunchPlan
from flytekit.core.base_task import PythonTask
from flytekit.core.workflow import WorkflowBase

from core.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow

PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))
PREBUILT = "ghcr.io/example/flights-tasks:test"


def _entities() -> dict[str, set[str]]:
    """Every workflow, launch plan and task defined in the two packages, from Python."""
    found: dict[str, set[str]] = {"task": set(), "workflow": set(), "launch_plan": set()}
    for package in ("workflows", "launchplans"):
        for info in pkgutil.iter_modules([str(PROJECT_ROOT / package)]):
            module = importlib.import_module(f"{package}.{info.name}")
            for value in vars(module).values():
                if isinstance(value, LaunchPlan):
                    found["launch_plan"].add(value.name)
                elif isinstance(value, WorkflowBase) and value.name.startswith(package):
                    found["workflow"].add(value.name)
                    found["task"].update(
                        n.flyte_entity.name for n in value.nodes if isinstance(n.flyte_entity, PythonTask)
                    )
    return found


def _package(tmp_path: Path, env: dict) -> dict[str, dict]:
    """Run `pyflyte package`; `env` entries set to None are removed from the environment."""
    archive = tmp_path / "flyte-package.tgz"
    full_env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    result = subprocess.run(
        [
            PYFLYTE,
            "--pkgs",
            "workflows",
            "--pkgs",
            "launchplans",
            "package",
            "--image",
            "ghcr.io/example/default:1",
            "-f",
            "-o",
            str(archive),
        ],
        cwd=PROJECT_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    decoded: dict[str, dict] = {"task": {}, "workflow": {}, "launch_plan": {}}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            # pyflyte names each file <n>_<name>_<kind>.pb: 1 task, 2 workflow, 3 launch plan.
            kind = member.name.rsplit("_", 1)[1].removesuffix(".pb")
            if kind == "1":
                spec = task_pb2.TaskSpec.FromString(data)
                decoded["task"][spec.template.id.name] = spec
            elif kind == "2":
                spec = workflow_pb2.WorkflowSpec.FromString(data)
                decoded["workflow"][spec.template.id.name] = spec
            else:
                plan = launch_plan_pb2.LaunchPlan.FromString(data)
                decoded["launch_plan"][plan.id.name] = plan
    return decoded


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    home = tmp_path_factory.mktemp("package-home")
    # registered for production, as CD does: the launch plans notify production's recipients
    return _package(
        home, {"HOME": str(home), "FLYTE_TASK_IMAGE": PREBUILT, "MLOPS_ENVIRONMENT": "production"}
    )


def test_every_entity_is_in_the_archive(archive):
    expected = _entities()
    assert {
        "workflows.batch_inference.batch_inference_workflow",
        "workflows.monitoring.monitoring_workflow",
        "workflows.training.training_workflow",
    } <= expected["workflow"]
    assert expected["launch_plan"] == {"monthly_retrain", "daily_scoring", "daily_monitoring"}
    for kind, names in expected.items():
        missing = names - set(archive[kind])
        assert not missing, f"{kind}s missing from the package: {sorted(missing)}"


def test_launch_plans_keep_their_schedules(archive):
    plans = archive["launch_plan"]
    retrain = plans["monthly_retrain"].spec
    assert retrain.entity_metadata.schedule.cron_schedule.schedule == "0 6 1 * *"
    assert retrain.entity_metadata.schedule.kickoff_time_input_arg == "as_of"
    assert retrain.workflow_id.name == "workflows.training.training_workflow"
    assert plans["daily_scoring"].spec.fixed_inputs.literals["days"].scalar.primitive.integer == 1
    assert plans["daily_monitoring"].spec.entity_metadata.schedule.cron_schedule.schedule == "0 7 * * *"


def test_launch_plans_notify_the_environment_registered_on_failure_and_timeout(archive):
    from flytekit.models.core.execution import WorkflowExecutionPhase

    from launchplans.notifications import CONFIG_FILE, load

    production = load(CONFIG_FILE, "production")
    fields = {"email": "email", "slack": "slack", "pagerduty": "pager_duty"}
    severity = {"monthly_retrain": "ticket", "daily_scoring": "page", "daily_monitoring": "ticket"}
    for name in severity:
        found = {}
        for notification in archive["launch_plan"][name].spec.entity_metadata.notifications:
            assert list(notification.phases) == [
                WorkflowExecutionPhase.FAILED,
                WorkflowExecutionPhase.TIMED_OUT,
            ]
            channel = notification.WhichOneof("type")
            found[channel] = list(getattr(notification, channel).recipients_email)
        expected = {fields[c]: list(e) for c, e in production[severity[name]].by_channel.items()}
        assert found == expected, name


def test_partitions_fan_out_as_a_cached_array_node(archive):
    batch = archive["workflow"]["workflows.batch_inference.batch_inference_workflow"].template
    arrays = [n for n in batch.nodes if n.WhichOneof("target") == "array_node"]
    assert len(arrays) == 1
    mapped = arrays[0].array_node.node.task_node.reference_id.name
    assert mapped.startswith("tasks.batch.map_score_partition")
    template = archive["task"][mapped].template
    # Each array element runs score_partition, cached by its partition hash and the model.
    assert template.container.args[-2:] == ["task-name", "score_partition"]
    partition = template.metadata
    from tasks.batch import score_partition

    assert partition.discoverable and partition.discovery_version == score_partition.metadata.cache_version
    assert list(partition.cache_ignore_input_vars) == ["bundle"]


def test_monitoring_branches_to_the_training_workflow(archive):
    spec = archive["workflow"]["workflows.monitoring.monitor_predictions_workflow"].template
    branches = [n for n in spec.nodes if n.WhichOneof("target") == "branch_node"]
    assert len(branches) == 1
    then = branches[0].branch_node.if_else.case.then_node
    assert then.workflow_node.sub_workflow_ref.name == "workflows.training.training_workflow"


def test_prebuilt_image_replaces_the_image_spec_offline(archive):
    images = {spec.template.container.image for spec in archive["task"].values()}
    assert images == {PREBUILT}


def test_image_spec_serializes_offline_without_building(tmp_path):
    """No Docker engine here: packaging with the ImageSpec must not build, only name the image."""
    registry = os.environ.get("FLYTE_IMAGE_REGISTRY", "localhost:30000")
    decoded = _package(tmp_path, {"HOME": str(tmp_path), "FLYTE_TASK_IMAGE": None})
    images = {s.template.container.image for s in decoded["task"].values()}
    # One image for every task: the ImageSpec's name and content tag, not the --image default.
    assert len(images) == 1
    assert images.pop().startswith(f"{registry}/flights-tasks:")


def _function_of(spec) -> object:
    """The Python function a serialized task runs (a map task's: the mapped task's)."""
    args = list(spec.template.container.args)
    module = importlib.import_module(args[args.index("task-module") + 1])
    return getattr(module, args[args.index("task-name") + 1]).task_function


def test_a_task_retries_when_its_code_calls_a_service_and_every_task_has_a_timeout(archive):
    """Read from the serialized tasks, what a cluster enforces: retries exactly on the tasks whose
    code reaches a service client (`tests/support/service_reach.py`), a timeout on every task, the
    long one on those that ask for resources (the heavy work)."""
    from tasks.retries import LONG_TIMEOUT, SERVICE_RETRIES, SHORT_TIMEOUT
    from tests.support.service_reach import services_reached

    settings = {}
    for name, spec in archive["task"].items():
        metadata, resources = spec.template.metadata, spec.template.container.resources
        calls = services_reached(_function_of(spec))
        retries = metadata.retries.retries
        assert retries == (SERVICE_RETRIES if calls else 0), (name, sorted(calls), retries)
        long = len(resources.requests) > 0
        assert metadata.timeout.seconds == (LONG_TIMEOUT if long else SHORT_TIMEOUT).total_seconds(), name
        settings[name] = (retries, long)
    assert {"tasks.training.register_model", "tasks.batch.resolve_model"} <= {
        name for name, (retries, _) in settings.items() if retries
    }
    assert "tasks.training.train_model" in {name for name, (_, long) in settings.items() if long}
