"""Write the model bundle through the contract (`contract.bundle`: file names, types, sha256).

Training writes model.skops, the compiled trees (trees.treelite), schema.json, reference.json and
metadata.json; registration then proves the compiled trees reproduce the Pipeline
(`scoring.parity.check_parity`) before it registers the version.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import usecases
from contract.bundle import (
    CATEGORY,
    COMPILED_FILE,
    MODEL_FILE,
    NUMBER,
    Calibration,
    CategoryReference,
    CompiledForm,
    EntitySpec,
    FeatureSpec,
    Metadata,
    NumericReference,
    OnlineStoreSpec,
    OutputSpec,
    Reference,
    Schema,
    dump_model,
    sha256_file,
    write_metadata,
    write_reference,
    write_schema,
)
from contract.names import PROBABILITY

if TYPE_CHECKING:
    from usecases import UseCase

REFERENCE_BINS = 10


def feature_ranges(case: UseCase | None = None) -> dict[str, dict]:
    """Per feature of the use case (the current one by default): nullable flag and the
    [min, max] rule of its feature schema, for `schema.json`."""
    case = case or usecases.current()
    columns = case.feature_schema.to_schema().columns
    ranges: dict[str, dict] = {}
    for name in case.features:
        column = columns[name]
        rule: dict = {"nullable": bool(column.nullable)}
        for check in column.checks:
            stats = check.statistics
            if "min_value" in stats:
                rule["min"] = float(stats["min_value"])
                if check.name == "greater_than":
                    rule["min_exclusive"] = True
            if "max_value" in stats:
                rule["max"] = float(stats["max_value"])
        ranges[name] = rule
    return ranges


def build_schema(train: pd.DataFrame, threshold: float) -> Schema:
    """Features in model order with kind, nullability, allowed range and (for categories) the
    values seen in training, sorted: the OrdinalEncoder's codes. Unknown categories are scored
    (the trees route them as missing). The names the server answers and reads by are the use
    case's: the predicted flag, the truth, the classes, the online store's request fields."""
    case = usecases.current()
    ranges = feature_ranges(case)
    features = []
    for name in case.features:
        if name in case.categorical_features:
            categories = tuple(sorted(train[name].dropna().unique().tolist()))
            features.append(FeatureSpec(name=name, kind=CATEGORY, categories=categories, **ranges[name]))
        else:
            features.append(FeatureSpec(name=name, kind=NUMBER, **ranges[name]))
    output = OutputSpec(
        threshold=float(threshold),
        names=(PROBABILITY, case.predicted),
        truth=case.label,
        positive_class=case.positive_class,
        negative_class=case.negative_class,
    )
    online = None
    if case.online is not None:
        columns = case.feature_schema.to_schema().columns  # the pandera model: which entity may be null
        online = OnlineStoreSpec(
            features=tuple(case.online.features),
            horizon_minutes=int(case.online.horizon_minutes),
            time=case.online.time,
            entities=tuple(EntitySpec(name, bool(columns[name].nullable)) for name in case.online.entities),
            stream=case.online.stream.to_dict(),
            declared=tuple(feature.to_dict() for feature in case.online.declared),
        )
    return Schema(features=tuple(features), output=output, online_store=online)


def _numeric_reference(values: pd.Series) -> NumericReference:
    """The binned distribution of a number column (what `core.drift` compares with)."""
    present = values.dropna().to_numpy(dtype=np.float64)
    edges = np.unique(np.quantile(present, np.linspace(0, 1, REFERENCE_BINS + 1))) if present.size else []
    inner = list(map(float, edges[1:-1])) if len(edges) > 2 else []
    counts = np.bincount(np.searchsorted(inner, present, side="right"), minlength=len(inner) + 1)
    return NumericReference(
        edges=inner,  # bin i holds values in [edges[i-1], edges[i]); the outer bins are open
        proportions=(counts / max(present.size, 1)).tolist(),
        missing_rate=float(values.isna().mean()),
        mean=float(present.mean()) if present.size else None,
    )


def _categorical_reference(values: pd.Series) -> CategoryReference:
    """The shares of a category column's values (what `core.drift` compares with)."""
    shares = values.value_counts(normalize=True, dropna=True)
    return CategoryReference(
        proportions={str(k): float(v) for k, v in shares.items()},
        missing_rate=float(values.isna().mean()),
    )


def build_reference(
    train: pd.DataFrame, scores: np.ndarray, label_rate: float, calibration: Calibration | None = None
) -> Reference:
    """Binned training distribution of each feature and of the score: the drift baseline; with
    the score's holdout calibration (`core.estimation.fit_calibration`), what monitoring
    estimates performance without labels from."""
    case = usecases.current()
    features: dict[str, NumericReference | CategoryReference] = {
        name: _numeric_reference(train[name]) for name in case.numeric_features
    }
    features.update({name: _categorical_reference(train[name]) for name in case.categorical_features})
    score = _numeric_reference(pd.Series(scores))
    return Reference(int(len(train)), float(label_rate), features, score, calibration)


def write_bundle(
    directory: str | Path, model, schema: Schema, reference: Reference, metadata: Metadata
) -> Path:
    """Write model.skops (reloaded once to prove the allowlist holds), the compiled trees,
    schema.json and reference.json, then metadata.json with both files' sha256 and the model's
    name (the current use case's registered model unless `metadata` names one); return the
    directory. `metadata`'s own sha256 fields are replaced."""
    from scoring.compiled import LIBRARY, library_version, write_compiled

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model_sha = dump_model(model, directory / MODEL_FILE)
    compiled_path = write_compiled(model[-1], directory / COMPILED_FILE)
    compiled = CompiledForm(
        file=COMPILED_FILE,
        sha256=sha256_file(compiled_path),
        library=LIBRARY,
        library_version=library_version(),
    )
    write_schema(directory, schema)
    write_reference(directory, reference)
    name = metadata.name or usecases.current().model_name
    filled = dataclasses.replace(metadata, name=name, model_sha256=model_sha, compiled=compiled)
    write_metadata(directory, filled)
    return directory
