"""skops files in canonical form: the same model gives the same bytes, in any process."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import numpy as np
import skops.io as sio

from contract.bundle import dump_model, load_model, sha256_file
from contract.canonical import FIXED_TIME, canonical_skops
from core.model import Hyperparameters, fit, predict_scores
from core.paths import PROJECT_ROOT
from tests.support.tables import feature_table

HP = Hyperparameters(max_iter=20, early_stopping=False)
DUMP_IN_ANOTHER_PROCESS = """
import sys
from contract.bundle import dump_model
from core.model import Hyperparameters, fit
from tests.support.tables import feature_table
print(dump_model(fit(feature_table(600, 3), Hyperparameters(max_iter=20, early_stopping=False)), sys.argv[1]))
"""


def test_the_same_model_has_the_same_bytes_in_another_process(tmp_path):
    """skops names arrays after `id()` and stamps entries with the time: two plain dumps differ."""
    model = fit(feature_table(600, 3), HP)
    sio.dump(model, tmp_path / "plain.skops")
    here = dump_model(model, tmp_path / "here.skops")
    there = subprocess.run(
        [sys.executable, "-c", DUMP_IN_ANOTHER_PROCESS, str(tmp_path / "there.skops")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert here == there == sha256_file(tmp_path / "there.skops")
    assert sha256_file(tmp_path / "plain.skops") != here
    entries = zipfile.ZipFile(tmp_path / "here.skops").infolist()
    assert {entry.date_time for entry in entries} == {FIXED_TIME}
    assert [entry.filename for entry in entries][:3] == ["0.npy", "1.npy", "2.npy"]


def test_a_canonical_file_loads_and_predicts_like_the_model(tmp_path):
    model, table = fit(feature_table(600, 3), HP), feature_table(200, 4)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    canonical_skops(path)
    np.testing.assert_array_equal(predict_scores(load_model(path), table), predict_scores(model, table))
