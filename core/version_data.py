"""The exact frames a registered version was trained and judged on, kept with its MLflow run.

Registration writes each frame as a parquet artifact of the run (`data/<context>.parquet`) and
records the file's sha256 twice outside the artifact store: on the run's dataset input (tags
`artifact_path`, `sha256`, beside MLflow's digest) and on the registered version (tag
`<context>_data_sha256`). Reading a version's frames checks both the file's sha256 and MLflow's
digest of the frame read back, so a frame that changed after registration is refused, named.
A user's source directory may change or go; the version's data stays where the version is.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from contract.bundle import sha256_file

DATA_ARTIFACT_DIR = "data"
CONTEXTS = ("training", "holdout")
CONTEXT_TAG = "mlflow.data.context"


class VersionDataError(RuntimeError):
    """A version's frames are missing, or differ from what registration recorded."""


def artifact_path(context: str) -> str:
    return f"{DATA_ARTIFACT_DIR}/{context}.parquet"


def version_tag(context: str) -> str:
    return f"{context}_data_sha256"


def write_frames(directory: Path, frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Each frame as `<context>.parquet` in `directory`; {context: the file's sha256}."""
    shas = {}
    for context, frame in frames.items():
        path = directory / Path(artifact_path(context)).name
        frame.to_parquet(path, index=False)
        shas[context] = sha256_file(path)
    return shas


def load_version_frames(mlflow_client, model_name: str, version: str) -> dict[str, pd.DataFrame]:
    """{context: frame} of a registered version, read from its run's artifacts and checked
    against the sha256 on the version and MLflow's digest on the run's dataset inputs. The
    client is the caller's (`core.registry.client()`): the registry writes through this module."""
    from core.mlflow_datasets import frame_digest

    model_version = mlflow_client.get_model_version(model_name, version)
    run = mlflow_client.get_run(model_version.run_id)
    digests = {
        tags[CONTEXT_TAG]: entry.dataset.digest
        for entry in run.inputs.dataset_inputs
        if CONTEXT_TAG in (tags := {tag.key: tag.value for tag in entry.tags})
    }
    frames = {}
    with tempfile.TemporaryDirectory(prefix=f"version-{version}-data-") as tmp:
        for context in CONTEXTS:
            recorded = model_version.tags.get(version_tag(context))
            if recorded is None or context not in digests:
                raise VersionDataError(f"version {version} of {model_name} records no {context} frame")
            path = Path(mlflow_client.download_artifacts(run.info.run_id, artifact_path(context), tmp))
            found = sha256_file(path)
            if found != recorded:
                raise VersionDataError(
                    f"version {version}'s {context} frame ({artifact_path(context)}) has sha256 "
                    f"{found[:12]}, registered as {recorded[:12]}: it changed after registration"
                )
            frame = pd.read_parquet(path)
            if frame_digest(frame) != digests[context]:
                raise VersionDataError(
                    f"version {version}'s {context} frame reads back with MLflow digest "
                    f"{frame_digest(frame)}, logged as {digests[context]}"
                )
            frames[context] = frame
    return frames
