"""MLflow: tracking runs, the model registry, and bundles as registered versions.

The tracking URI is read when a function runs (never at import): `MLFLOW_TRACKING_URI`, or the
project's SQLite store (`core.paths`). A version's source is the run's `bundle/` artifact
directory, so `models:/<name>@champion` downloads exactly the four bundle files.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

import usecases
from contract import registry as shared
from contract.bundle import CATEGORY, METADATA_FILE, Metadata, Schema, read_schema, write_metadata
from core import paths
from core.lineage import MLFLOW_COMMIT_TAG, UNKNOWN, Lineage, code_version
from core.refusals import RefusedRows
from core.version_data import version_tag

logger = logging.getLogger(__name__)

BUNDLE_ARTIFACT_DIR = "bundle"
EVALUATION_ARTIFACT_DIR = "evaluation"
TRACKING_URI_ENV = shared.TRACKING_URI_ENV
MLMODEL_FILE = "MLmodel"
DECISION_FILE = "promotion/decision.json"


def __getattr__(name: str) -> Any:
    """`MODEL_NAME` and `EXPERIMENT`: the current use case's registered model and experiment,
    read when asked for (`usecases.current()`), never at import."""
    if name == "MODEL_NAME":
        return usecases.current().model_name
    if name == "EXPERIMENT":
        return usecases.current().experiment
    raise AttributeError(f"module 'core.registry' has no attribute '{name}'")


@dataclass
class RegisteredVersion:
    model_name: str = ""
    version: str = ""
    run_id: str = ""
    model_sha256: str = ""
    reused: bool = False  # True when this exact model file was already registered


def client():
    """An MlflowClient on the project's tracking URI, also set for mlflow's fluent API. A local
    SQLite store that does not exist yet is written from MLflow's migrated schema
    (`core.registry_seed`) before MLflow opens it."""
    import mlflow
    from mlflow import MlflowClient

    from core.registry_seed import seed_new_store

    exported = os.environ.get(TRACKING_URI_ENV)
    seed_new_store(paths.tracking_uri())
    mlflow.set_tracking_uri(paths.tracking_uri())
    # set_tracking_uri also exports MLFLOW_TRACKING_URI to the environment; left there, it would
    # pin every later resolution (and every child process) to this store. Keep the user's setting.
    if exported is None:
        os.environ.pop(TRACKING_URI_ENV, None)
    else:
        os.environ[TRACKING_URI_ENV] = exported
    return MlflowClient()


def experiment_id(name: str = "") -> str:
    """The experiment's id (the use case's by default), creating it with an artifact root inside
    the project data directory when the store is local (MLflow's default would be ./mlruns under
    whatever the cwd is)."""
    name = name or usecases.current().experiment
    mlflow_client = client()
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    local = not paths.tracking_uri().startswith(("http://", "https://", "databricks"))
    return mlflow_client.create_experiment(name, artifact_location=paths.artifact_root() if local else None)


def find_version_by_sha(name: str, sha256: str) -> str | None:
    mlflow_client = client()
    if not _registered_model_exists(name):
        return None
    found = mlflow_client.search_model_versions(f"name = '{name}' and tag.model_sha256 = '{sha256}'")
    return str(found[0].version) if found else None


def _registered_model_exists(name: str) -> bool:
    """Whether the registry holds model `name`; a registry that did not answer raises (taken for
    "no such model", it would let a retried registration register the same model file again)."""
    from mlflow.exceptions import MlflowException

    try:
        client().get_registered_model(name)
        return True
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return False
        raise


def alias_version(name: str, alias: str) -> str | None:
    """The version an alias points at, or None when the alias (or the model) does not exist."""
    try:
        return shared.resolve_alias(client(), name, alias)
    except shared.NoVersionForAlias:
        return None


def set_alias(name: str, alias: str, version: str) -> None:
    """Point `alias` at `version` (a new champion is pushed by the promotion that names it)."""
    client().set_registered_model_alias(name, alias, version)


def download_bundle(name: str, version: str, destination: str | Path | None = None) -> Path:
    """The version's bundle directory, downloaded (not verified: `contract.bundle.load_bundle`)."""
    client()
    destination = Path(destination or tempfile.mkdtemp(prefix=f"bundle-{version}-"))
    return shared.download_version(name, version, destination, paths.tracking_uri())


def alias_metadata(name: str, alias: str) -> Metadata | None:
    """The metadata of the version `alias` names, None when there is none: read from the file
    when the store is a local SQLite one (`core.registry_file`: no MLflow set-up), else through
    MLflow."""
    from core import registry_file

    try:
        return registry_file.alias_metadata(paths.tracking_uri(), name, alias)
    except registry_file.NotReadableHere:
        version = alias_version(name, alias)
        return version_metadata(name, version) if version else None


def version_metadata(name: str, version: str) -> Metadata:
    """A version's metadata.json alone (its windows, cost, lineage), without the model files."""
    import mlflow

    run_id = client().get_model_version(name, version).run_id
    with tempfile.TemporaryDirectory(prefix=f"metadata-{version}-") as tmp:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=f"{BUNDLE_ARTIFACT_DIR}/{METADATA_FILE}", dst_path=tmp
        )
        return Metadata.from_dict(json.loads(Path(path).read_text()))


def input_signature(schema: Schema):
    """The bundle's schema as an MLflow model signature: the registry's version page shows it
    (the UI reads the `MLmodel` file at the version's source). Categories are strings, the rest
    doubles; a feature that may be missing is optional."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, DataType
    from mlflow.types import Schema as ColumnSchema

    inputs = ColumnSchema(
        [
            ColSpec(
                DataType.string if spec.kind == CATEGORY else DataType.double,
                spec.name,
                required=not spec.nullable,
            )
            for spec in schema.features
        ]
    )
    probability, flag = schema.output.names
    outputs = ColumnSchema([ColSpec(DataType.double, probability), ColSpec(DataType.long, flag)])
    return ModelSignature(inputs=inputs, outputs=outputs)


def version_description(metadata: Metadata) -> str:
    """What a person reads first on the version page: window, holdout figures, lineage."""
    window = metadata.training_window
    nan = float("nan")
    figures = metadata.metrics
    return (
        f"{usecases.current().title.capitalize()} The model as of {window.as_of}: fit on "
        f"{window.fit_start or window.train_start} to {window.deployed_fit_end}; judged before that "
        f"by the same configuration fit on {window.train_start} to {window.train_end} and held out "
        f"on {window.holdout_start} to {window.holdout_end} "
        f"(holdout ROC AUC {figures.get('roc_auc', nan):.4f}, log loss "
        f"{figures.get('log_loss', nan):.4f}, Brier {figures.get('brier', nan):.4f}). "
        f"Flyte execution {metadata.flyte_execution_id}; model.skops sha256 "
        f"{metadata.model_sha256[:12]}. Serve with models:/{metadata.name}"
        "@champion; the bundle's schema.json is the request contract."
    )


def log_training_run(
    *,
    bundle_dir: Path,
    metadata: Metadata,
    params: dict,
    metrics: dict[str, float],
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    model_name: str = "",
    evaluation_dir: Path | None = None,
    refused: RefusedRows | None = None,
    lineage: Lineage | None = None,
) -> RegisteredVersion:
    """One MLflow run: params, metrics, dataset inputs with digests, the evaluation figures, the
    bundle (with an `MLmodel` file holding its input signature); then register the bundle as a new
    version (description and tags for a person browsing the registry) and complete its
    metadata.json with the version number. `lineage` (commit, training duration) tags the run and
    the version.

    Idempotent on the model file: a model whose sha256 is already registered is not registered
    again (a cached re-run of the training workflow reuses the version it made the first time).
    """
    import mlflow

    model_name = model_name or usecases.current().model_name
    sha = metadata.model_sha256
    existing = _registered_version_of(model_name, sha)
    if existing is not None:
        return existing

    mlflow_client = client()
    with mlflow.start_run(experiment_id=experiment_id(), run_name=metadata.run_name or None) as run:
        frame_shas = _keep_frames(train, holdout)
        digests = _log_run_record(metadata, params, metrics, train, holdout, frame_shas)
        if refused is not None:
            _log_refused(refused)
        if evaluation_dir is not None:
            mlflow.log_artifacts(str(evaluation_dir), EVALUATION_ARTIFACT_DIR)

        metadata = replace(metadata, name=model_name, run_id=run.info.run_id, dataset_digests=digests)
        write_metadata(bundle_dir, metadata)
        mlflow.log_artifacts(str(bundle_dir), BUNDLE_ARTIFACT_DIR)
        _log_mlmodel(bundle_dir, run.info.run_id)
        code_and_time = _log_lineage(lineage or Lineage(code_version()))
        version = _register_bundle(
            mlflow_client, model_name, run, metadata, metrics, frame_shas, code_and_time
        )
        version = _one_version_of_the_run(mlflow_client, model_name, sha, run.info.run_id, version)
        # The version number exists only now: complete metadata.json in the registered bundle.
        metadata = replace(metadata, version=version)
        write_metadata(bundle_dir, metadata)
        mlflow.log_artifact(str(bundle_dir / METADATA_FILE), BUNDLE_ARTIFACT_DIR)
    return RegisteredVersion(model_name, version, run.info.run_id, sha)


def _registered_version_of(model_name: str, sha: str) -> RegisteredVersion | None:
    """The version already registered for this model file, or None."""
    existing = find_version_by_sha(model_name, sha)
    if not existing:
        return None
    run_id = client().get_model_version(model_name, existing).run_id
    logger.info("model %s already registered as version %s", sha[:12], existing)
    _complete_metadata(model_name, existing, run_id)
    return RegisteredVersion(model_name, existing, run_id, sha, reused=True)


def _one_version_of_the_run(mlflow_client, model_name: str, sha: str, run_id: str, made: str) -> str:
    """The version `run_id` registered for this model file. MLflow's client sends a request again
    when its answer is lost (a 5xx from a proxy after the server had committed), so one
    `create_model_version` can make two versions of the same file: the first is kept, the others
    (seconds old, no alias yet) are deleted."""
    found = mlflow_client.search_model_versions(f"name = '{model_name}' and tag.model_sha256 = '{sha}'")
    numbers = sorted(int(v.version) for v in found if v.run_id == run_id) or [int(made)]
    for extra in numbers[1:]:
        logger.warning("version %s repeats version %s of run %s: deleted", extra, numbers[0], run_id)
        mlflow_client.delete_model_version(model_name, str(extra))
    return str(numbers[0])


def _complete_metadata(model_name: str, version: str, run_id: str) -> None:
    """Finish a registration that stopped after its version was made (the last upload failed and
    the task was retried): its bundle's metadata.json gets the version number and its run ends
    FINISHED, as an uninterrupted registration leaves them."""
    metadata = version_metadata(model_name, version)
    if metadata.version == version:
        return
    mlflow_client = client()
    with tempfile.TemporaryDirectory(prefix=f"metadata-{version}-") as tmp:
        write_metadata(Path(tmp), replace(metadata, version=version))
        mlflow_client.log_artifact(run_id, str(Path(tmp) / METADATA_FILE), BUNDLE_ARTIFACT_DIR)
    mlflow_client.set_terminated(run_id, "FINISHED")
    logger.info("version %s: registration completed (metadata.json names the version)", version)


def _keep_frames(train: pd.DataFrame, holdout: pd.DataFrame) -> dict[str, str]:
    """The two frames as parquet artifacts of the active run (`core.version_data`), so that the
    version can find its exact data again; {context: the file's sha256}."""
    import mlflow

    from core import version_data

    with tempfile.TemporaryDirectory() as tmp:
        shas = version_data.write_frames(Path(tmp), {"training": train, "holdout": holdout})
        mlflow.log_artifacts(tmp, version_data.DATA_ARTIFACT_DIR)
    return shas


def _log_run_record(
    metadata: Metadata,
    params: dict,
    metrics: dict[str, float],
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    frame_shas: dict[str, str],
) -> dict[str, str]:
    """Params, holdout metrics, the two datasets as run inputs (tagged with their kept file and its
    sha256) and the run's tags, on the active run; returns the metadata's dataset digests
    completed with the two logged datasets'."""
    import mlflow

    from core import version_data
    from core.mlflow_datasets import frame_dataset

    mlflow.log_params({k: str(v) for k, v in params.items()})
    mlflow.log_metrics({f"holdout_{k}": float(v) for k, v in metrics.items()})
    digests = dict(metadata.dataset_digests)
    for context, frame in (("training", train), ("holdout", holdout)):
        dataset = frame_dataset(frame, name=context, targets=usecases.current().label)
        kept = {"artifact_path": version_data.artifact_path(context), "sha256": frame_shas[context]}
        mlflow.log_input(dataset, context=context, tags=kept)
        digests[context] = dataset.digest
    mlflow.set_tags(
        {
            "flyte_execution_id": metadata.flyte_execution_id,
            "as_of": metadata.training_window.as_of,
            "model_sha256": metadata.model_sha256,
        }
    )
    return digests


def _log_lineage(lineage: Lineage) -> dict[str, str]:
    """The commit and the training run's duration as tags of the active run (the commit also as
    MLflow's own, which the run page shows); returns them for the version."""
    import mlflow

    tags = lineage.tags()
    known = {MLFLOW_COMMIT_TAG: lineage.code.commit} if lineage.code.commit != UNKNOWN else {}
    mlflow.set_tags({**tags, **known})
    return tags


def _log_refused(refused: RefusedRows) -> None:
    """The source rows of the window refused at validation: counts as metrics, the tolerance as a
    param, the reasons as a tag and in `data/refused.json`."""
    import mlflow

    mlflow.log_metrics({"source_rows_read": refused.rows_read, "source_rows_refused": refused.refused})
    mlflow.log_param("max_refused_share", str(refused.max_share))
    mlflow.set_tag("refused_rows", refused.summary()[:5000])
    mlflow.log_dict(asdict(refused), "data/refused.json")


def _register_bundle(
    mlflow_client,
    model_name: str,
    run,
    metadata: Metadata,
    metrics: dict[str, float],
    frame_shas: dict[str, str],
    lineage_tags: dict[str, str],
) -> str:
    """The run's bundle artifact as a new version of `model_name` (created on first use), with the
    tags and description a person browsing the registry reads; returns the version number."""
    if not _registered_model_exists(model_name):
        mlflow_client.create_registered_model(
            model_name,
            description=f"{usecases.current().title.capitalize()} The `champion` alias is what "
            "serves; each version's source is a model bundle.",
        )
    version = mlflow_client.create_model_version(
        model_name,
        source=f"{run.info.artifact_uri}/{BUNDLE_ARTIFACT_DIR}",
        run_id=run.info.run_id,
        tags={
            "model_sha256": metadata.model_sha256,
            "as_of": metadata.training_window.as_of,
            "holdout_roc_auc": f"{metrics.get('roc_auc', float('nan')):.4f}",
            "holdout_log_loss": f"{metrics.get('log_loss', float('nan')):.4f}",
            "flyte_execution_id": metadata.flyte_execution_id,
            # outside the artifact store: what a read of the kept frames is checked against
            **{version_tag(context): sha for context, sha in frame_shas.items()},
            **lineage_tags,  # the code's commit and the training run's duration
        },
        description=version_description(metadata),
    )
    return str(version.version)


def _log_mlmodel(bundle_dir: Path, run_id: str) -> None:
    """MLflow's `MLmodel` descriptor next to the bundle files, carrying only the input signature
    (no flavor: the bundle is loaded by the serving side, never by `mlflow.pyfunc`)."""
    import mlflow
    from mlflow.models import Model

    signature = input_signature(read_schema(bundle_dir))
    descriptor = Model(artifact_path=BUNDLE_ARTIFACT_DIR, run_id=run_id, signature=signature)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / MLMODEL_FILE
        descriptor.save(str(path))
        mlflow.log_artifact(str(path), BUNDLE_ARTIFACT_DIR)


def log_decision(run_id: str, decision: dict) -> None:
    """The gate's decision and reasons, on the candidate's run and on its registered version
    (tag `gate_decision`, and a line appended to the version's description)."""
    mlflow_client = client()
    mlflow_client.log_dict(run_id, decision, DECISION_FILE)
    mlflow_client.set_tag(run_id, "promotion", decision["alias"])
    mlflow_client.set_tag(run_id, "promotion_reasons", json.dumps(decision["reasons"])[:5000])
    name, version = decision.get("model_name"), decision.get("version")
    if not name or not version:
        return
    mlflow_client.set_model_version_tag(name, version, "gate_decision", decision["alias"])
    mlflow_client.set_model_version_tag(name, version, "gate_reasons", "; ".join(decision["reasons"])[:5000])
    current = mlflow_client.get_model_version(name, version).description or ""
    gate_line = f"Promotion gate: {decision['alias']} ({'; '.join(decision['reasons'])})."
    if gate_line not in current:
        mlflow_client.update_model_version(name, version, description=f"{current}\n\n{gate_line}".strip())


def recorded_decision(run_id: str) -> dict | None:
    """The gate's decision `log_decision` put on a run, or None when there is none."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client()
    with tempfile.TemporaryDirectory(prefix="decision-") as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=DECISION_FILE, dst_path=tmp
            )
        except (MlflowException, OSError):
            return None
        return json.loads(Path(path).read_text())


def ui_command() -> str:
    return f"mlflow ui --backend-store-uri {paths.tracking_uri()} --port 5000"
