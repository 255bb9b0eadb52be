"""Fixture chain: bundles registered by the training workflow -> model root -> running server."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from serving_support import (
    MAX_BATCH_ROWS,
    MAX_REQUEST_BYTES,
    Server,
    make_root,
    sample_records,
    train_bundles,
)


@pytest.fixture(scope="session")
def bundles(tmp_path_factory) -> dict[str, Path]:
    """Versions 1 and 2 as the training workflow registers them (May and October 2013 data)."""
    return train_bundles(tmp_path_factory.mktemp("bundles"))


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
