"""The model bundle: one directory of files, the one contract between training and serving.

  model.skops      the fitted scikit-learn Pipeline (skops format, never pickle)
  trees.treelite   optional: the same trees compiled for the one-row path (treelite checkpoint,
                   not pickle), parity-checked against model.skops at registration
  schema.json      `Schema`: input features (kind, nullable, range, categories), the outputs'
                   and the truth's names, the classes, and which features the online store gives
                   at request time and the request fields that find them
  reference.json   `Reference`: training distribution of each feature and of the score
  metadata.json    `Metadata`: name, version, run id, Flyte execution id, window, dataset
                   digests, metrics, the sha256 of model.skops (and of trees.treelite)

The JSON files are read into frozen dataclasses: a field that one side writes and the other reads
under another name is a type error, not a silent null. Unknown keys are refused when a file is
read, and so is a file that lacks a field, naming it. Everything the server names after the use
case (the predicted flag, the truth, the classes, the online store's request fields, the model's
name) is read from these files when a bundle loads: the serving code names no use case. The
model's input matrix is the schema's features in order, a category as its index in the feature's
`categories` list, an unknown category or a missing value as NaN.
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

from contract.names import PROBABILITY, metric_label

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
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    # missing first: a bundle written before a field was added says which field it lacks
    missing = sorted(required - set(data))
    if missing:
        raise BundleError(f"{where} lacks required field(s) {missing}")
    unknown = sorted(set(data) - names)
    if unknown:
        raise BundleError(f"{where} has unknown field(s) {unknown}: not part of the bundle contract")
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


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BundleError(f"{where} must be a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True)
class OutputSpec:
    """What the model answers and what its truth is called: `names` are the probability of the
    positive class and the 0/1 flag (`predicted`, 1 when the probability reaches `threshold`);
    `truth` is the name the truth goes by (the feedback route's column); the flag's 1 stands for
    `positive_class`, its 0 for `negative_class` (the metrics' row labels)."""

    threshold: float
    names: tuple[str, ...]
    truth: str
    positive_class: str
    negative_class: str

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.threshold) <= 1.0:
            raise BundleError(f"output threshold {self.threshold} must lie in [0, 1]")
        names = tuple(self.names) if isinstance(self.names, list | tuple) else ()
        if len(names) != 2 or names[0] != PROBABILITY:
            raise BundleError(
                f"{SCHEMA_FILE} output.names must be ['{PROBABILITY}', <the predicted flag>], "
                f"got {self.names!r}"
            )
        object.__setattr__(self, "names", names)
        _text(names[1], f"{SCHEMA_FILE} output.names[1] (the predicted flag)")
        _text(self.truth, f"{SCHEMA_FILE} output.truth")
        if self.truth in names:
            raise BundleError(f"{SCHEMA_FILE} output.truth '{self.truth}' must differ from output.names")
        for name in ("positive_class", "negative_class"):
            _text(getattr(self, name), f"{SCHEMA_FILE} output.{name}")
        if metric_label(self.positive_class) == metric_label(self.negative_class):
            raise BundleError(
                f"{SCHEMA_FILE} output.positive_class '{self.positive_class}' and negative_class "
                f"'{self.negative_class}' must differ as metric labels"
            )

    @property
    def predicted(self) -> str:
        """The 0/1 flag's name."""
        return self.names[1]

    @property
    def row_labels(self) -> tuple[str, str]:
        """The metric label of a row flagged 0 and of one flagged 1 (`contract.names.metric_label`)."""
        return metric_label(self.negative_class), metric_label(self.positive_class)

    def to_dict(self) -> dict:
        return {
            "names": list(self.names),
            "threshold": float(self.threshold),
            "truth": self.truth,
            "positive_class": self.positive_class,
            "negative_class": self.negative_class,
        }


@dataclass(frozen=True)
class EntitySpec:
    """A request field the online store is keyed by. One that is also a feature of the model is
    checked as that feature; any other is a string (or null, when `nullable`)."""

    name: str
    nullable: bool = False

    def __post_init__(self) -> None:
        _text(self.name, f"{SCHEMA_FILE} online_store entity name")


@dataclass(frozen=True)
class OnlineStoreSpec:
    """The features served from the online store at request time (never sent by the caller), as
    of t = the request's `time` - `horizon_minutes`, and the request fields that find them: `time`,
    the field holding the event time (local wall clock, ISO 8601 to the minute), and `entities`,
    the fields the store is keyed by, in the store's order. `declared`: each feature's declaration
    and `stream` the event stream's (`operational.declarations`, as JSON objects), from which the
    server derives the store's lookup when the bundle loads."""

    features: tuple[str, ...]
    horizon_minutes: int
    time: str
    entities: tuple[EntitySpec, ...]
    stream: Mapping[str, Any]
    declared: tuple[Mapping[str, Any], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "declared", tuple(self.declared))
        if not isinstance(self.stream, Mapping):
            raise BundleError(f"{SCHEMA_FILE} online_store.stream must be a JSON object")
        named = [d.get("name") if isinstance(d, Mapping) else None for d in self.declared]
        if named != list(self.features):
            raise BundleError(
                f"{SCHEMA_FILE} online_store.declared names {named}, not the features {list(self.features)} "
                "in their order: one declaration per feature"
            )
        _text(self.time, f"{SCHEMA_FILE} online_store.time")
        entities = tuple(
            e
            if isinstance(e, EntitySpec)
            else _from_dict(EntitySpec, e, f"{SCHEMA_FILE} online_store entity")
            for e in self.entities
        )
        if not entities:
            raise BundleError(
                f"{SCHEMA_FILE} online_store.entities is empty: name the field(s) the store is keyed by"
            )
        names = [e.name for e in entities]
        repeated = sorted({n for n in names if names.count(n) > 1} | ({self.time} & set(names)))
        if repeated:
            raise BundleError(
                f"{SCHEMA_FILE} online_store names {repeated} more than once (time and entities)"
            )
        object.__setattr__(self, "entities", entities)

    @property
    def entity_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entities)

    def to_dict(self) -> dict:
        return {
            "features": list(self.features),
            "horizon_minutes": self.horizon_minutes,
            "time": self.time,
            "entities": [dataclasses.asdict(e) for e in self.entities],
            "stream": dict(self.stream),
            "declared": [dict(d) for d in self.declared],
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
        online = self.online_store
        if isinstance(online, OnlineStoreSpec):  # (from_dict first builds it from raw dicts)
            names = {f.name for f in self.features}
            unknown = sorted(set(online.features) - names)
            if unknown:
                raise BundleError(f"{SCHEMA_FILE} online_store names {unknown}: not features of the model")
            if online.time in names:
                raise BundleError(
                    f"{SCHEMA_FILE} online_store.time '{online.time}' is a feature of the model: the "
                    "event time a request gives must be a field of its own"
                )
            served = sorted(set(online.features) & set(online.entity_names))
            if served:
                raise BundleError(
                    f"{SCHEMA_FILE} online_store entities {served} are features the store gives: a "
                    "request must send them"
                )

    @property
    def request_features(self) -> list[FeatureSpec]:
        """The features a request carries: every one the online store does not give."""
        served = set(self.online_store.features) if self.online_store else set()
        return [f for f in self.features if f.name not in served]

    @property
    def entity_keys(self) -> list[EntitySpec]:
        """The online store's entities a request carries besides its features (beside its event
        time, `online_store.time`): those that are not features of the model."""
        if self.online_store is None:
            return []
        names = set(self.names)
        return [e for e in self.online_store.entities if e.name not in names]

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
        """The last day of events the deployed model fit on."""
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
    name: str = ""  # the registered model (the use case's); `write_bundle` fills it, every read needs it
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
        if not isinstance(raw.name, str) or not raw.name:
            raise BundleError(f"{METADATA_FILE} lacks required field 'name' (the registered model's name)")
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
