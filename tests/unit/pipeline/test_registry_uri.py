"""The tracking URI follows MLOPS_DATA_DIR and MLFLOW_TRACKING_URI at call time, every time."""

from __future__ import annotations

import os

import mlflow

from core import paths, registry


def test_store_follows_the_data_dir_after_a_client_was_made(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path / "a"))
    registry.client()
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path / 'a' / 'mlflow.db'}"
    assert "MLFLOW_TRACKING_URI" not in os.environ  # mlflow's export does not stick
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path / "b"))
    registry.client()
    assert paths.tracking_uri() == mlflow.get_tracking_uri() == f"sqlite:///{tmp_path / 'b' / 'mlflow.db'}"


def test_an_explicit_tracking_uri_wins_and_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'server.db'}")
    registry.client()
    assert os.environ["MLFLOW_TRACKING_URI"] == f"sqlite:///{tmp_path / 'server.db'}"
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path / 'server.db'}"
