"""A fit takes every free core, and one thread when the cores are taken (core/threads.py)."""

from __future__ import annotations

import subprocess
import sys
import time

from core.threads import free_threads, running_elsewhere


def test_the_running_tasks_are_read_without_the_reader(tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.52 0.58 0.59 3/467 12345\n")
    assert running_elsewhere(0.0, loadavg) == 2.0


def test_threads_are_the_free_cores_within_what_the_process_may_use():
    assert free_threads(usable=2, cores=2, elsewhere=0) == 2
    assert free_threads(usable=2, cores=2, elsewhere=1) == 1
    assert free_threads(usable=2, cores=2, elsewhere=7) == 1  # never none
    assert free_threads(usable=2, cores=16, elsewhere=5) == 2  # a pod's quota on a large node
    assert free_threads(usable=8, cores=16, elsewhere=10.5) == 5


def test_a_busy_neighbour_leaves_the_fit_one_thread_on_two_cores():
    """A real process computing beside the reader is counted: on two cores, one thread is left."""
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # past its start
        assert running_elsewhere() >= 1
        assert free_threads(usable=2, cores=2) == 1
    finally:
        neighbour.kill()
        neighbour.wait()


def test_the_thread_count_changes_no_number_the_trees_compute_nor_the_model_file(tmp_path):
    """A fit's threads are chosen from the machine's load, so the model must not depend on them:
    the same trees, bit for bit, and the same serialized model, on one thread and on two (the
    registry keys a version on the model file's sha256, and a rebuild must reproduce it)."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from threadpoolctl import threadpool_limits

    from contract.bundle import dump_model
    from core.model import without_thread_count

    rng = np.random.default_rng(0)
    features = pd.DataFrame(rng.normal(size=(20_000, 6)), columns=[f"x{i}" for i in range(6)])
    labels = (features["x0"] + rng.normal(size=20_000) > 0.5).astype(int)
    scores, files, raw_files = [], [], []  # the sha256 of the canonical model file
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="openmp"):
            model = Pipeline(
                [
                    (
                        "classify",
                        HistGradientBoostingClassifier(max_iter=30, early_stopping=False, random_state=0),
                    )
                ]
            )
            model.fit(features, labels)
            scores.append(model.predict_proba(features)[:, 1])
        raw_files.append(dump_model(model, tmp_path / f"raw-{threads}.skops"))
        files.append(dump_model(without_thread_count(model), tmp_path / f"model-{threads}.skops"))
    assert np.array_equal(scores[0], scores[1])
    assert raw_files[0] != raw_files[1]  # what the reset is for: the fitted trees keep the count
    assert files[0] == files[1]
