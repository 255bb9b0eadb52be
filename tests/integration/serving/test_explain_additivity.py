"""Exact contributions on real holdout rows of a bundle the training workflow registered, in the
pipeline environment and in the serving environment (numpy < 2, no Flask)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime

import numpy as np
import pytest
from serving_support import REPO, SERVING_PYTHON

pytestmark = pytest.mark.slow

ROWS = 1200
HELPER = REPO / "tests" / "integration" / "serving" / "explain_rows.py"


@pytest.fixture(scope="module")
def june_rows(tmp_path_factory):
    """1,200 flights of June 2013: the holdout month of bundle version 1 (trained on May)."""
    from usecases.flights.features import build_features
    from usecases.flights.schemas import FEATURES
    from usecases.flights.source import load_window

    table = build_features(load_window("", datetime(2013, 6, 1), datetime(2013, 7, 1)))
    rows = table[FEATURES].sample(ROWS, random_state=0)
    path = tmp_path_factory.mktemp("explain") / "june.json"
    path.write_text(rows.to_json(orient="records"))
    return path


def _start_explaining(python, bundle_dir, rows_path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(python), str(HELPER), str(bundle_dir), str(rows_path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def explained(bundles, june_rows) -> dict[str, dict]:
    """Both environments explain the same rows at once (one thread each, one core each)."""
    started = {
        "pipeline": _start_explaining(REPO / ".venv" / "bin" / "python", bundles["1"], june_rows),
        "serving": _start_explaining(SERVING_PYTHON, bundles["1"], june_rows),
    }
    out = {}
    for environment, process in started.items():
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, f"{environment}: {stderr}"
        out[environment] = json.loads(stdout)
    return out


@pytest.mark.parametrize("environment", ["pipeline", "serving"])
def test_base_value_plus_contributions_is_the_raw_score(environment, explained, bundles):
    out = explained[environment]
    schema = json.loads((bundles["1"] / "schema.json").read_text())
    assert out["feature_names"] == [feature["name"] for feature in schema["features"]]
    contributions = np.array(out["contributions"])
    raw = np.array(out["raw"])
    assert contributions.shape == (ROWS, len(schema["features"]))
    gap = np.abs(out["base_value"] + contributions.sum(axis=1) - raw)
    assert gap.max() < 1e-6, f"largest gap {gap.max():.3g} log-odds"
    np.testing.assert_allclose(1 / (1 + np.exp(-raw)), out["probability"], rtol=0, atol=1e-12)
    # most features take part: an engine returning zeros would pass additivity only by luck
    assert np.count_nonzero(np.abs(contributions).sum(axis=0)) >= 10


def test_the_serving_environment_explains_without_flask(explained):
    assert explained["serving"]["flask_imported"] is False


def test_both_environments_give_the_same_contributions(explained):
    pipeline, serving = explained["pipeline"], explained["serving"]
    assert pipeline["base_value"] == pytest.approx(serving["base_value"], abs=1e-12)
    np.testing.assert_allclose(pipeline["contributions"], serving["contributions"], rtol=0, atol=1e-10)
