"""Write the model bundle (see `seldon/bundle.py` for the contract and the loader)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio

from core.schemas import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES, feature_ranges
from seldon.bundle import (
    METADATA_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    SCHEMA_FILE,
    load_model,
    sha256_file,
)

OUTPUT_NAMES = ["probability", "late"]
REFERENCE_BINS = 10


def build_schema(train: pd.DataFrame, threshold: float) -> dict:
    """Features in model order with kind, nullability, allowed range and (for categories) the
    values seen in training. Unknown categories are scored (the trees route them as missing)."""
    ranges = feature_ranges()
    features = []
    for name in FEATURES:
        spec = {"name": name, **ranges[name]}
        if name in CATEGORICAL_FEATURES:
            spec["kind"] = "category"
            spec["categories"] = sorted(train[name].dropna().unique().tolist())
        else:
            spec["kind"] = "number"
        features.append(spec)
    return {
        "features": features,
        "unknown_category": "score",
        "output": {"names": OUTPUT_NAMES, "threshold": threshold},
    }


def _numeric_reference(values: pd.Series) -> dict:
    present = values.dropna().to_numpy(dtype=np.float64)
    edges = np.unique(np.quantile(present, np.linspace(0, 1, REFERENCE_BINS + 1))) if present.size else []
    inner = list(map(float, edges[1:-1])) if len(edges) > 2 else []
    counts = np.bincount(np.searchsorted(inner, present, side="right"), minlength=len(inner) + 1)
    return {
        "kind": "number",
        "edges": inner,  # bin i holds values in [edges[i-1], edges[i]); the outer bins are open
        "proportions": (counts / max(present.size, 1)).tolist(),
        "missing_rate": float(values.isna().mean()),
        "mean": float(present.mean()) if present.size else None,
    }


def _categorical_reference(values: pd.Series) -> dict:
    shares = values.value_counts(normalize=True, dropna=True)
    return {
        "kind": "category",
        "proportions": {str(k): float(v) for k, v in shares.items()},
        "missing_rate": float(values.isna().mean()),
    }


def build_reference(train: pd.DataFrame, scores: np.ndarray, label_rate: float) -> dict:
    """Binned training distribution of each feature and of the score: the drift baseline."""
    features = {name: _numeric_reference(train[name]) for name in NUMERIC_FEATURES}
    features.update({name: _categorical_reference(train[name]) for name in CATEGORICAL_FEATURES})
    return {
        "n_rows": int(len(train)),
        "label_rate": float(label_rate),
        "features": features,
        "score": _numeric_reference(pd.Series(scores)),
    }


def write_bundle(directory: str | Path, model, schema: dict, reference: dict, metadata: dict) -> Path:
    """Write model.skops, schema.json and reference.json, then metadata.json with the model's
    sha256; return the directory. The written model is reloaded once to prove the allowlist holds."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / MODEL_FILE
    sio.dump(model, model_path)
    load_model(model_path)
    (directory / SCHEMA_FILE).write_text(json.dumps(schema, indent=2))
    (directory / REFERENCE_FILE).write_text(json.dumps(reference, indent=2))
    write_metadata(directory, {**metadata, "model_sha256": sha256_file(model_path)})
    return directory


def write_metadata(directory: str | Path, metadata: dict) -> Path:
    path = Path(directory) / METADATA_FILE
    path.write_text(json.dumps(metadata, indent=2, default=str))
    return path
