"""Every test has a tier from its folder; `make test-fast` runs the unit tier, `make test` all."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import pytest

from tests.support.system_tools import REPO
from tests.support.tiers import TESTS_ROOT, tier_of


@pytest.mark.parametrize("tier", ["unit", "integration", "e2e"])
def test_a_test_module_takes_the_tier_of_its_folder(tier):
    assert tier_of(TESTS_ROOT / tier / "anything" / "test_new.py") == tier


@pytest.mark.parametrize("where", ["test_loose.py", "benchmarks/test_new.py"])
def test_a_test_module_outside_the_tiers_is_refused_by_name(where):
    with pytest.raises(pytest.UsageError, match=r"test_\w+\.py: a test module lives under tests/unit, "):
        tier_of(TESTS_ROOT / where)


def test_the_collected_test_carries_its_tier_marker_only(request):
    """The hook ran on this very test: `pytest -m unit` selects it, `-m e2e` does not."""
    tiers = {
        marker.name for marker in request.node.iter_markers() if marker.name in ("unit", "integration", "e2e")
    }
    assert tiers == {"unit"}


def test_make_targets_run_all_tiers_and_the_fast_one():
    plans = {
        target: subprocess.run(
            ["make", "-n", target], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout
        for target in ("test", "test-fast")
    }
    assert "-m pytest -q -n 2 --dist loadfile\n" in plans["test"]
    assert " -m " not in plans["test"].split("pytest", 1)[1]
    assert "-m pytest -q -m unit" in plans["test-fast"]
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_every_run_prints_its_slowest_phases():
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--durations=15" in options["addopts"].split()
    assert {"unit", "integration", "e2e"} <= {line.split(":")[0] for line in options["markers"]}


def test_a_run_removes_the_temp_dir_it_points_home_at(tmp_path):
    """A run of this very module (which imports the tier rule) leaves no session dir behind: the
    rule once lived in tests/conftest.py, and importing it again made a second dir, pointed HOME
    and MLOPS_DATA_DIR at it for the rest of the run, and never removed it."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", "of_its_folder"],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
    assert sorted(path.name for path in tmp_path.glob("tabular-mlops-tests-*")) == []
