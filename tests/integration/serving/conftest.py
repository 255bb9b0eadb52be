"""Fixture chain: bundles built with the core functions -> model root -> running server."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from serving_support import (
    MAX_BATCH_ROWS,
    MAX_REQUEST_BYTES,
    Server,
    build_bundle,
    make_root,
    sample_records,
)


@pytest.fixture(scope="session")
def bundles(tmp_path_factory) -> dict[str, Path]:
    """Version 1 trained on May 2013, version 2 on October 2013 (different data, other scores)."""
    store = tmp_path_factory.mktemp("bundles")
    return {
        "1": build_bundle(store / "1", datetime(2013, 5, 1), datetime(2013, 6, 1), datetime(2013, 7, 1), "1"),
        "2": build_bundle(
            store / "2", datetime(2013, 10, 1), datetime(2013, 11, 1), datetime(2013, 12, 1), "2"
        ),
    }


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
            "MAX_BATCH_ROWS": str(MAX_BATCH_ROWS),
            "MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
        },
    )
    try:
        yield running.start()
    finally:
        running.stop()
