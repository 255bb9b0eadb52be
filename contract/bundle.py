"""The model bundle: one directory of files, the one contract between training and serving.

  model.skops      the fitted scikit-learn Pipeline (skops format, never pickle)
  trees.treelite   optional: the same trees compiled for the one-row path (treelite checkpoint,
                   not pickle), parity-checked against model.skops at registration
  schema.json      `Schema`: input features (kind, nullable, range, categories), outputs, and
                   which features the online store gives at request time
  reference.json   `Reference`: training distribution of each feature and of the score
  metadata.json    `Metadata`: name, version, run id, Flyte execution id, window, dataset
                   digests, metrics, the sha256 of model.skops (and of trees.treelite)

The JSON files are read into frozen dataclasses: a field that one side writes and the other reads
under another name is a type error, not a silent null. Unknown keys are refused when a file is
read. The model's input matrix is the schema's features in order, a category as its index in the
feature's `categories` list, an unknown category or a missing value as NaN.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from contract.names import MODEL_NAME, OUTPUT_NAMES

MODEL_FILE = "model.skops"
COMPILED_FILE = "trees.treelite"
SCHEMA_FILE = "schema.json"
REFERENCE_FILE = "reference.json"
METADATA_FILE = "metadata.json"
BUNDLE_FILES = (MODEL_FILE, SCHEMA_FILE, REFERENCE_FILE, METADATA_FILE)
COMPILED_FORMAT = "treelite-checkpoint"
UNREGISTERED = "unregistered"

CATEGORY: Literal["category"] = "category"
NUMBER: Literal["number"] = "number"

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
    """The bundle is incomplete, tampered with, malformed, or asks to trust unknown types."""


# ---- typed files ----------------------------------------------------------------------------
def _from_dict(cls, data: Mapping, where: str):
    """`cls(**data)` that names the file and the keys when they do not match the type."""
    if not isinstance(data, Mapping):
        raise BundleError(f"{where} must be a JSON object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise BundleError(f"{where} has unknown field(s) {unknown}: not part of the bundle contract")
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    missing = sorted(required - set(data))
    if missing:
        raise BundleError(f"{where} lacks required field(s) {missing}")
    return cls(**data)


def _without_none(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True)
class FeatureSpec:
    """One input feature. Numbers: finite, within [min, max] (min exclusive when said).
    Categories: strings; `categories` are the values seen in training, in code order."""

    name: str
    kind: Literal["number", "category"]
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    min_exclusive: bool | None = None
    categories: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in (NUMBER, CATEGORY):
            raise BundleError(f"feature '{self.name}' has kind {self.kind!r}: must be number or category")
        if self.kind == CATEGORY and self.categories is None:
            raise BundleError(f"category feature '{self.name}' has no categories list")
        if self.categories is not None:
            object.__setattr__(self, "categories", tuple(self.categories))

    def to_dict(self) -> dict:
        data = _without_none(dataclasses.asdict(self))
        if self.categories is not None:
            data["categories"] = list(self.categories)
        return data


@dataclass(frozen=True)
class OutputSpec:
    """What the model answers: `names` of the two outputs and the flag's threshold."""

    threshold: float
    names: tuple[str, ...] = OUTPUT_NAMES

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))
        if not 0.0 <= float(self.threshold) <= 1.0:
            raise BundleError(f"output threshold {self.threshold} must lie in [0, 1]")

    def to_dict(self) -> dict:
        return {"names": list(self.names), "threshold": float(self.threshold)}


@dataclass(frozen=True)
class OnlineStoreSpec:
    """The features served from the online store at request time (never sent by the caller),
    as of t = `sched_dep` - `horizon_minutes`, and the request fields that find them: the
    flight's scheduled departure (local time, ISO 8601 to the minute) and tail number."""

    features: tuple[str, ...]
    horizon_minutes: int
    keys: tuple[str, ...] = ("sched_dep", "tailnum")

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "keys", tuple(self.keys))

    def to_dict(self) -> dict:
        return {
            "features": list(self.features),
            "horizon_minutes": self.horizon_minutes,
            "keys": list(self.keys),
        }


@dataclass(frozen=True)
class Schema:
    """schema.json: features in model order, what happens to unknown categories, the outputs,
    and which features the online store gives (`online_store`; none: the request gives all)."""

    features: tuple[FeatureSpec, ...]
    output: OutputSpec
    unknown_category: str = "score"  # scored, routed like a missing value by the trees
    online_store: OnlineStoreSpec | None = None

    def __post_init__(self) -> None:
        if isinstance(self.online_store, OnlineStoreSpec):  # (from_dict first builds it from raw dicts)
            unknown = sorted(set(self.online_store.features) - {f.name for f in self.features})
            if unknown:
                raise BundleError(f"{SCHEMA_FILE} online_store names {unknown}: not features of the model")

    @property
    def request_features(self) -> list[FeatureSpec]:
        """The features a request carries: every one the online store does not give."""
        served = set(self.online_store.features) if self.online_store else set()
        return [f for f in self.features if f.name not in served]

    @property
    def threshold(self) -> float:
        return float(self.output.threshold)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> FeatureSpec:
        for spec in self.features:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def to_dict(self) -> dict:
        data = {
            "features": [f.to_dict() for f in self.features],
            "unknown_category": self.unknown_category,
            "output": self.output.to_dict(),
        }
        if self.online_store is not None:
            data["online_store"] = self.online_store.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> Schema:
        raw = _from_dict(cls, data, SCHEMA_FILE)
        features = tuple(
            _from_dict(FeatureSpec, f, f"{SCHEMA_FILE} feature {i}") for i, f in enumerate(raw.features)
        )
        online = raw.online_store
        return cls(
            features,
            _from_dict(OutputSpec, raw.output, f"{SCHEMA_FILE} output"),
            raw.unknown_category,
            None if online is None else _from_dict(OnlineStoreSpec, online, f"{SCHEMA_FILE} online_store"),
        )


@dataclass(frozen=True)
class NumericReference:
    """Bin i holds values in [edges[i-1], edges[i]); the outer bins are open."""

    edges: list[float]
    proportions: list[float]
    missing_rate: float
    mean: float | None = None
    kind: Literal["number"] = NUMBER


@dataclass(frozen=True)
class CategoryReference:
    proportions: dict[str, float]
    missing_rate: float
    kind: Literal["category"] = CATEGORY


@dataclass(frozen=True)
class Calibration:
    """The score's calibration on the holdout (rows the judged model never fit): the calibrated
    probability of a score is `probabilities` interpolated at it over `scores` (an isotonic map,
    clipped at its ends), or the score itself (`method` identity: the map did not help).
    Monitoring estimates performance without labels from it (`core.estimation`)."""

    method: Literal["isotonic", "identity"]
    rows: int
    scores: list[float] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.method not in ("isotonic", "identity"):
            raise BundleError(f"{REFERENCE_FILE} calibration method {self.method!r}: isotonic or identity")
        if len(self.scores) != len(self.probabilities):
            raise BundleError(f"{REFERENCE_FILE} calibration: scores and probabilities differ in length")
        if self.method == "isotonic" and not self.scores:
            raise BundleError(f"{REFERENCE_FILE} calibration: an isotonic map needs its points")


@dataclass(frozen=True)
class Reference:
    """reference.json: the training distribution of each feature and of the score (drift
    baseline), and the score's calibration on the holdout (none in a bundle made before it)."""

    n_rows: int
    label_rate: float
    features: dict[str, NumericReference | CategoryReference]
    score: NumericReference
    calibration: Calibration | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> Reference:
        raw = _from_dict(cls, data, REFERENCE_FILE)
        features: dict[str, NumericReference | CategoryReference] = {}
        for name, entry in raw.features.items():
            kind = entry.get("kind") if isinstance(entry, Mapping) else None
            typed = CategoryReference if kind == CATEGORY else NumericReference
            features[name] = _from_dict(typed, entry, f"{REFERENCE_FILE} feature '{name}'")
        score = _from_dict(NumericReference, raw.score, f"{REFERENCE_FILE} score")
        calibration = raw.calibration
        if calibration is not None:
            calibration = _from_dict(Calibration, calibration, f"{REFERENCE_FILE} calibration")
        return cls(int(raw.n_rows), float(raw.label_rate), features, score, calibration)


@dataclass(frozen=True)
class TrainingWindow:
    """Two windows: the judged model fit on train_start..train_end and was judged on
    holdout_start..holdout_end (rows it never fit); the deployed model.skops is the same
    configuration refit on fit_start..fit_end, every label known at `as_of`. A bundle written
    before the refit has no fit window: its model is the judged one."""

    train_start: str = ""
    train_end: str = ""
    holdout_start: str = ""
    holdout_end: str = ""
    as_of: str = ""
    fit_start: str = ""
    fit_end: str = ""
    recency_half_life_months: float = 0.0  # both fits' row weights (0: every row the same)

    @property
    def deployed_fit_end(self) -> str:
        """The last day of flights the deployed model fit on."""
        return self.fit_end or self.train_end


@dataclass(frozen=True)
class CompiledForm:
    """The compiled trees: file, format, library, sha256 and the parity measured at training."""

    file: str
    sha256: str
    library: str
    library_version: str
    format: str = COMPILED_FORMAT
    parity_rows: int = 0
    parity_max_abs_diff: float = math.inf


@dataclass(frozen=True)
class Metadata:
    """metadata.json: who the model is and where it came from (lineage)."""

    model_sha256: str = ""  # written by `core.bundle.write_bundle`, checked at every load
    name: str = MODEL_NAME
    version: str = UNREGISTERED
    run_id: str = ""
    run_name: str = ""
    flyte_execution_id: str = ""
    training_window: TrainingWindow = field(default_factory=TrainingWindow)
    dataset_digests: dict[str, str] = field(default_factory=dict)  # {training, holdout}: MLflow digest
    metrics: dict[str, float] = field(default_factory=dict)  # holdout figures
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    # the share of each feature in what the model uses: what monitoring weighs drift by
    feature_importance: dict[str, float] = field(default_factory=dict)
    training_cost: dict[str, float] = field(default_factory=dict)  # {fit_cpu_seconds}
    compiled: CompiledForm | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> Metadata:
        raw = _from_dict(cls, data, METADATA_FILE)
        window = raw.training_window
        if isinstance(window, Mapping):
            window = _from_dict(TrainingWindow, window, f"{METADATA_FILE} training_window")
        compiled = raw.compiled
        if isinstance(compiled, Mapping):
            compiled = _from_dict(CompiledForm, compiled, f"{METADATA_FILE} compiled")
        return dataclasses.replace(raw, version=str(raw.version), training_window=window, compiled=compiled)


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: the loaded model, the typed files, and where it was read from."""

    model: Any
    schema: Schema
    reference: Reference | None
    metadata: Metadata
    path: Path

    @property
    def version(self) -> str:
        return self.metadata.version

    def require_reference(self) -> Reference:
        if self.reference is None:
            raise BundleError(f"bundle {self.path} was loaded without its {REFERENCE_FILE}")
        return self.reference

    @property
    def compiled_path(self) -> Path | None:
        return self.path / self.metadata.compiled.file if self.metadata.compiled else None


# ---- files ----------------------------------------------------------------------------------
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


def dump_model(model: Any, path: str | Path) -> str:
    """Write the model with skops in its canonical form (the same model, the same bytes: a
    version can be rebuilt to its sha256), prove the allowlist holds by reading it back; its
    sha256."""
    import skops.io as sio

    from contract.canonical import canonical_skops

    sio.dump(model, path)
    canonical_skops(path)
    load_model(path)
    return sha256_file(path)


def read_json(directory: Path, name: str) -> dict:
    path = directory / name
    if not path.exists():
        raise BundleError(f"bundle {directory} has no {name}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path} is not valid JSON: {exc}") from exc


def read_metadata(directory: str | Path) -> Metadata:
    return Metadata.from_dict(read_json(Path(directory), METADATA_FILE))


def read_schema(directory: str | Path) -> Schema:
    return Schema.from_dict(read_json(Path(directory), SCHEMA_FILE))


def read_reference(directory: str | Path) -> Reference:
    return Reference.from_dict(read_json(Path(directory), REFERENCE_FILE))


def _write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path


def write_schema(directory: str | Path, schema: Schema) -> Path:
    return _write_json(Path(directory) / SCHEMA_FILE, schema.to_dict())


def write_reference(directory: str | Path, reference: Reference) -> Path:
    return _write_json(Path(directory) / REFERENCE_FILE, reference.to_dict())


def write_metadata(directory: str | Path, metadata: Metadata) -> Path:
    return _write_json(Path(directory) / METADATA_FILE, metadata.to_dict())


def verify_files(directory: str | Path, metadata: Metadata) -> None:
    """model.skops (and the compiled trees, when the metadata names them) match their sha256."""
    directory = Path(directory)
    checks = [(MODEL_FILE, metadata.model_sha256, "model_sha256")]
    if metadata.compiled is not None:
        checks.append((metadata.compiled.file, metadata.compiled.sha256, "compiled.sha256"))
    for name, expected, key in checks:
        path = directory / name
        if not path.exists():
            raise BundleError(f"bundle {directory} has no {name}")
        actual = sha256_file(path)
        if expected != actual:
            raise BundleError(
                f"{path} sha256 {actual} does not match metadata.json {key} {expected}: "
                "the file was changed after training; refusing to load it"
            )


def load_bundle(directory: str | Path, require_reference: bool = True) -> Bundle:
    """Read a bundle, verify its files against the sha256 in metadata.json, load the model."""
    directory = Path(directory)
    metadata = read_metadata(directory)
    schema = read_schema(directory)
    reference = read_reference(directory) if require_reference else None
    verify_files(directory, metadata)
    return Bundle(load_model(directory / MODEL_FILE), schema, reference, metadata, directory)
