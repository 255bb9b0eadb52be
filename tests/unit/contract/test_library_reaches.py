"""Where no public API does the job, the project reaches into a library's internals in one
module only, whose comment names the library version that was read for a public hook (the stock
Seldon wrapper's changes: one module too, with the version it changes). These
tests fail when that version is no longer the one installed (read the new version's source for a
public hook, then update the comment) or when the private names spread to another module."""

from __future__ import annotations

import importlib.metadata
import re

import pytest

from tests.support import REPO

PIPELINE, SERVING = "pipeline", "serving"
FLYTE_LOG_LINES = ("flyte deck html", "Cache hit", "Checking cache")
# module -> (distribution, version its comment names, environments it runs in, private names)
REACHES = {
    "seldon/wrapper_changes.py": (
        "seldon-core",
        "1.17.1",
        (SERVING,),
        ("StandaloneApplication.load_config", "SeldonMetrics.update"),
    ),
    "seldon/metrics.py": ("prometheus-client", "0.8.0", (SERVING,), ("._buckets", "._sum")),
    "scoring/compiled.py": ("treelite", "4.8.1", (PIPELINE, SERVING), ("_LIB", "_check_call", "GTILConfig")),
    "scripts/progress.py": (
        "flytekit",
        "1.16.31",
        (PIPELINE,),
        ("Task.local_execute", "Task.sandbox_execute"),
    ),
    "scripts/flyte_log.py": (
        "flytekit",
        "1.16.31",
        (PIPELINE,),
        ("flyte deck html", "Cache hit", "Checking cache"),
    ),
}
SOURCE_FOLDERS = (
    "contract",
    "core",
    "explain",
    "operational",
    "scoring",
    "seldon",
    "tasks",
    "workflows",
    "scripts",
)


def _serving_pin(distribution: str) -> str:
    pins = (REPO / "seldon" / "requirements.txt").read_text()
    found = re.search(rf"^{re.escape(distribution)}==(\S+)$", pins, re.MULTILINE | re.IGNORECASE)
    assert found, f"seldon/requirements.txt pins no {distribution}"
    return found.group(1)


@pytest.mark.parametrize("module", sorted(REACHES))
def test_the_comment_names_the_version_each_environment_runs(module):
    distribution, version, environments, _ = REACHES[module]
    assert f"{distribution} {version}" in (REPO / module).read_text(), (
        f"{module} names no {distribution} {version}"
    )
    if PIPELINE in environments:
        assert importlib.metadata.version(distribution) == version, f"{module}: re-read {distribution}"
    if SERVING in environments:
        assert _serving_pin(distribution) == version, f"{module}: re-read {distribution}"


@pytest.mark.parametrize("module", sorted(REACHES))
def test_the_private_names_stay_in_their_one_module(module):
    names = REACHES[module][3]
    elsewhere = [
        f"{path.relative_to(REPO)}: {name}"
        for folder in SOURCE_FOLDERS
        for path in sorted((REPO / folder).rglob("*.py"))
        if str(path.relative_to(REPO)) != module
        for name in names
        if name in path.read_text()
    ]
    assert not elsewhere, elsewhere
