"""Fixture chain: bundles registered by the training workflow -> model root -> running server."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from serving_support import (
    MAX_BATCH_ROWS,
    MAX_REQUEST_BYTES,
    BundleTraining,
    Server,
    make_root,
    sample_records,
)

_TRAINING: BundleTraining | None = None


def _training() -> BundleTraining:
    """The run's one bundle training, started on first use."""
    global _TRAINING
    if _TRAINING is None:
        _TRAINING = BundleTraining()
    return _TRAINING


def pytest_collection_finish(session):
    """Start training the bundles as soon as the run is known to need them: the two trainings
    (about 30 s) then run on the core that the tests before the serving ones leave idle (the
    suite keeps about one of two cores busy), not in the first serving test's set-up."""
    if any("bundles" in getattr(item, "fixturenames", ()) for item in session.items):
        _training()


def pytest_sessionfinish(session):
    if _TRAINING is not None:
        _TRAINING.stop()


@pytest.fixture(scope="session")
def bundles() -> dict[str, Path]:
    """Versions 1 and 2 as the training workflow registers them (May and October 2013 data)."""
    return _training().result()


@pytest.fixture(scope="session")
def july_records() -> list[dict]:
    return sample_records(datetime(2013, 7, 1), datetime(2013, 7, 8), 2000)


@pytest.fixture(scope="session")
def server(tmp_path_factory, bundles):
    base = tmp_path_factory.mktemp("server")
    root = make_root(base, bundles)
    running = Server(
        root,
        env={
            "REQUEST_LOG_DIR": str(base / "request-log"),
            "REQUEST_LOG_SEGMENT_SECONDS": "0",  # one file per worker for the whole session
            "MAX_BATCH_ROWS": str(MAX_BATCH_ROWS),
            "MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
        },
    )
    try:
        yield running.start()
    finally:
        running.stop()
