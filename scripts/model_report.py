"""The model effect of a change, as markdown a reviewer reads on the pull request: a candidate
version's holdout figures beside a reference version's, with the code and the training run each
came from. CI trains the base branch and the pull request on the same small window, each into a
store of its own, and posts this report (.github/workflows/ci.yml, job `model-report`).

    python -m scripts.model_report --reference-store DIR_OR_URI --candidate-store DIR_OR_URI \
        [--reference champion] [--candidate latest] [--output report.md]

A store is a tracking URI, or a directory holding a local store (an MLOPS_DATA_DIR). A version is
a number, an alias, or `latest`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.bundle import METADATA_FILE, Metadata

BUNDLE_DIR = "bundle"  # core.registry.BUNDLE_ARTIFACT_DIR: where a version's bundle files are
LATEST = "latest"
# (metadata metric, label, +1 when higher is better, -1 when lower is, 0 when neither)
METRICS = [
    ("roc_auc", "ROC AUC", 1),
    ("log_loss", "log loss", -1),
    ("brier", "Brier score", -1),
    ("calibration_error", "calibration error", -1),
    ("precision", "precision", 1),
    ("recall", "recall", 1),
    ("f1", "F1", 1),
    ("flagged_rate", "flagged rate", 0),
    ("label_rate", "positive rate (truth)", 0),
]


class ReportError(RuntimeError):
    """A store or version the report cannot read: the message names which and why."""


@dataclass(frozen=True)
class Version:
    store: str
    number: str
    aliases: list[str]
    tags: dict[str, str]
    metadata: Metadata


def store_uri(store: str) -> str:
    """A tracking URI as given, or the local store of a data directory."""
    if "://" in store:
        return store
    path = Path(store).resolve()
    if not (path / "mlflow.db").is_file():
        raise ReportError(
            f"{store}: no MLflow store here (no mlflow.db); give a data directory or a tracking URI"
        )
    return f"sqlite:///{path / 'mlflow.db'}"


def read_version(store: str, model_name: str, wanted: str) -> Version:
    """Version `wanted` (number, alias or latest) of `model_name` in `store`, with its bundle's
    metadata.json."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    uri = store_uri(store)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        if wanted == LATEST:
            found = client.search_model_versions(f"name = '{model_name}'")
            if not found:
                raise ReportError(f"{store}: no version of {model_name} is registered")
            version = max(found, key=lambda v: int(v.version))
        elif wanted.isdigit():
            version = client.get_model_version(model_name, wanted)
        else:
            version = client.get_model_version_by_alias(model_name, wanted)
    except MlflowException as exc:
        raise ReportError(f"{store}: no version '{wanted}' of {model_name}: {exc.message}") from exc
    with tempfile.TemporaryDirectory(prefix="model-report-") as tmp:
        path = mlflow.artifacts.download_artifacts(
            run_id=version.run_id,
            artifact_path=f"{BUNDLE_DIR}/{METADATA_FILE}",
            dst_path=tmp,
            tracking_uri=uri,
        )
        metadata = Metadata.from_dict(json.loads(Path(path).read_text()))
    return Version(store, str(version.version), list(version.aliases), dict(version.tags), metadata)


def _commit(version: Version) -> str:
    commit = version.tags.get("git_commit", "unknown")
    short = commit[:12] if commit != "unknown" else commit
    return short + (" (uncommitted changes)" if version.tags.get("git_dirty") == "true" else "")


def _window(metadata: Metadata) -> tuple[str, str]:
    window = metadata.training_window
    return (
        f"{window.fit_start or window.train_start} to {window.deployed_fit_end}",
        f"{window.holdout_start} to {window.holdout_end}",
    )


def _change(reference: Any, candidate: Any, direction: int) -> str:
    if not isinstance(reference, (int, float)) or not isinstance(candidate, (int, float)):
        return ""
    delta = float(candidate) - float(reference)
    if abs(delta) < 5e-5 or direction == 0:
        return f"{delta:+.4f}"
    return f"{delta:+.4f} ({'better' if delta * direction > 0 else 'worse'})"


def _figure(version: Version, key: str) -> Any:
    return version.metadata.metrics.get(key)


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "n/a"


def _version_cell(version: Version) -> str:
    names = ", ".join(version.aliases)
    return f"v{version.number}" + (f" ({names})" if names else "")


def _seconds(value: Any) -> str:
    return f"{float(value):.1f} s" if value not in (None, "") else "n/a"


Row = tuple[str, str, str, str]  # label, reference, candidate, change


def _identity_rows(reference: Version, candidate: Version) -> list[Row]:
    """Which versions, from which code, fit and judged on which months."""
    ref_fit, ref_holdout = _window(reference.metadata)
    cand_fit, cand_holdout = _window(candidate.metadata)
    return [
        ("version", _version_cell(reference), _version_cell(candidate), ""),
        ("code", f"`{_commit(reference)}`", f"`{_commit(candidate)}`", ""),
        ("fit on", ref_fit, cand_fit, ""),
        ("holdout", ref_holdout, cand_holdout, ""),
        (
            "holdout rows",
            str(_figure(reference, "n_rows") or "n/a"),
            str(_figure(candidate, "n_rows") or "n/a"),
            "",
        ),
    ]


def _metric_rows(reference: Version, candidate: Version) -> list[Row]:
    rows = []
    for key, label, direction in METRICS:
        ref_value, cand_value = _figure(reference, key), _figure(candidate, key)
        rows.append((label, _fmt(ref_value), _fmt(cand_value), _change(ref_value, cand_value, direction)))
    return rows


def _cost_rows(reference: Version, candidate: Version) -> list[Row]:
    """The training run's duration and the fits' CPU time."""
    ref_duration = reference.tags.get("training_duration_seconds")
    cand_duration = candidate.tags.get("training_duration_seconds")
    ref_cpu = reference.metadata.training_cost.get("fit_cpu_seconds")
    cand_cpu = candidate.metadata.training_cost.get("fit_cpu_seconds")
    return [
        (
            "training run",
            _seconds(ref_duration),
            _seconds(cand_duration),
            _change(float(ref_duration), float(cand_duration), 0) if ref_duration and cand_duration else "",
        ),
        ("fit CPU", _seconds(ref_cpu), _seconds(cand_cpu), _change(ref_cpu, cand_cpu, 0)),
    ]


def _notes(reference: Version, candidate: Version) -> list[str]:
    """Whether the figures compare, whether the models differ, what the gate made of it."""
    ref_holdout, cand_holdout = _window(reference.metadata)[1], _window(candidate.metadata)[1]
    if ref_holdout != cand_holdout:
        notes = [
            f"**The holdouts differ** ({ref_holdout} vs {cand_holdout}): the figures are not "
            "measured on the same rows and do not compare."
        ]
    else:
        notes = [f"Both measured on the same holdout ({cand_holdout})."]
    if reference.metadata.model_sha256 == candidate.metadata.model_sha256:
        notes.append(
            "The candidate's model file is the reference's, byte for byte (same sha256): no model effect."
        )
    gate = candidate.tags.get("gate_decision")
    if gate:
        notes.append(f"The candidate store's promotion gate made it `{gate}`.")
    return notes


def render(reference: Version, candidate: Version, model_name: str) -> str:
    """The markdown report."""
    rows = [
        *_identity_rows(reference, candidate),
        *_metric_rows(reference, candidate),
        *_cost_rows(reference, candidate),
    ]
    lines = [
        f"### Model effect: {model_name}",
        "",
        f"Candidate: version {candidate.number} of the candidate store; reference: version "
        f"{reference.number} of the reference store. Holdout figures of each version's judged model "
        "(fit before its holdout).",
        "",
        "| | reference | candidate | change |",
        "| --- | --- | --- | --- |",
        *(f"| {label} | {ref} | {cand} | {change} |" for label, ref, cand, change in rows),
        "",
        *_notes(reference, candidate),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import usecases

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-store", required=True, help="data directory or tracking URI")
    parser.add_argument("--candidate-store", required=True, help="data directory or tracking URI")
    parser.add_argument("--reference", default="champion", help="version number, alias or latest")
    parser.add_argument("--candidate", default=LATEST, help="version number, alias or latest")
    parser.add_argument("--model-name", default=None, help="default: the use case's registered model")
    parser.add_argument("--output", type=Path, default=None, help="write the markdown here (else stdout)")
    args = parser.parse_args(argv)
    model_name = args.model_name or usecases.current().model_name
    try:
        reference = read_version(args.reference_store, model_name, args.reference)
        candidate = read_version(args.candidate_store, model_name, args.candidate)
    except ReportError as exc:
        print(f"model report: {exc}", file=sys.stderr)
        return 2
    report = render(reference, candidate, model_name)
    if args.output is None:
        sys.stdout.write(report)
    else:
        args.output.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
