"""Load and verify a model bundle: the one contract between training and serving.

A bundle is a directory of four files:
  model.skops     the fitted scikit-learn Pipeline (skops format, never pickle)
  schema.json     input features (kind, nullable, range, categories) and output names
  reference.json  training distribution of each feature and of the score, for drift
  metadata.json   name, version, run id, Flyte execution id, window, metrics, sha256 of model.skops

The pipeline writes bundles with `core.bundle` and reuses `TRUSTED_TYPES` and `sha256_file`
from here, so both sides agree on what a valid bundle is. Only the standard library, skops and
scikit-learn are imported: this module runs in the serving image.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_FILE = "model.skops"
SCHEMA_FILE = "schema.json"
REFERENCE_FILE = "reference.json"
METADATA_FILE = "metadata.json"
BUNDLE_FILES = (MODEL_FILE, SCHEMA_FILE, REFERENCE_FILE, METADATA_FILE)

# Types outside skops' defaults that our Pipeline needs. Anything else in a model file is refused:
# a file asking to trust more than this was not written by this project's training.
TRUSTED_TYPES = frozenset(
    {
        "functools.partial",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.utils.validation.check_array",
    }
)


class BundleError(RuntimeError):
    """The bundle is incomplete, tampered with, or asks to trust unknown types."""


@dataclass(frozen=True)
class Bundle:
    model: Any
    schema: dict
    reference: dict
    metadata: dict
    path: Path

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unregistered"))


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_model(path: str | Path) -> Any:
    """skops load with the explicit allowlist: unknown types raise before anything is built."""
    import skops.io as sio

    asked = set(sio.get_untrusted_types(file=path))
    unexpected = sorted(asked - TRUSTED_TYPES)
    if unexpected:
        raise BundleError(f"{path} asks to trust types outside the allowlist: {unexpected}")
    return sio.load(path, trusted=sorted(asked))


def read_json(directory: Path, name: str) -> dict:
    path = directory / name
    if not path.exists():
        raise BundleError(f"bundle {directory} has no {name}")
    return json.loads(path.read_text())


def load_bundle(directory: str | Path, require_reference: bool = True) -> Bundle:
    """Read a bundle, verify model.skops against the sha256 in metadata.json, load the model."""
    directory = Path(directory)
    metadata = read_json(directory, METADATA_FILE)
    schema = read_json(directory, SCHEMA_FILE)
    reference = read_json(directory, REFERENCE_FILE) if require_reference else {}
    model_path = directory / MODEL_FILE
    if not model_path.exists():
        raise BundleError(f"bundle {directory} has no {MODEL_FILE}")
    expected = metadata.get("model_sha256")
    actual = sha256_file(model_path)
    if expected != actual:
        raise BundleError(
            f"{model_path} sha256 {actual} does not match metadata.json model_sha256 {expected}: "
            "the model file was changed after training; refusing to load it"
        )
    return Bundle(load_model(model_path), schema, reference, metadata, directory)
