"""Follow a registry alias and publish its bundle where the model server reads it.

    python -m seldon.sync --root DIR [--once] [--interval 10] [--alias champion]
                          [--shadow-alias challenger] [--model-name NAME] [--metric-prefix PREFIX]

Runs in the pipeline environment (it needs mlflow; the serving image does not): locally next to
`make serve`, on Kubernetes as a sidecar sharing an emptyDir with the model container. Each
cycle it asks the registry which version holds the alias; when that changed since its last
publication it downloads `models:/<name>/<version>` into `DIR/versions/<version>/`, verifies it
with `contract.bundle.load_bundle` (sha256 + skops allowlist) and flips `DIR/current.json`.
Alias resolution and download are the contract's (`contract.registry`), shared with the pipeline.
The registered model and the metric prefix are the deployment's (`REGISTERED_MODEL`,
`METRIC_PREFIX`: `contract.deployment`), unless --model-name and --metric-prefix are given.

Tamper evidence: the downloaded model file's sha256 must equal the registry's record for that
version (the `model_sha256` version tag written at registration), not only the metadata.json
that travels with it; a mismatch is refused (logged, counted, the last good bundle kept).
With --metrics-port, Prometheus metrics are served (`seldon/sync_metrics.py`).

With --shadow-alias, each cycle also publishes that alias' version to `DIR/challenger.json`
(verified the same way) for the workers to score in shadow, and removes the file when no version
holds the alias, or when it names the champion's version (nothing to compare).

It acts on alias *moves* only (remembered in `DIR/sync.json`), so an admin rollback of the
pointer holds until the registry promotes another version. Exit code 2 with --once: no version
holds the alias yet (run `make demo` first); 3: the tracking server refused the credentials
(MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD from the environment: a reader's).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from contract.bundle import MODEL_FILE, BundleError, load_bundle, sha256_file
from contract.deployment import SettingsError, metric_prefix, registered_model
from contract.names import CHAMPION
from contract.registry import NoVersionForAlias, RegistryAccessDenied, download_version, resolve_alias
from contract.registry import tracking_uri as default_tracking_uri
from seldon.pointer import (
    CHALLENGER_POINTER_FILE,
    POINTER_FILE,
    VERSIONS_DIR,
    read_pointer,
    version_dir,
    write_pointer,
)
from seldon.sync_metrics import SyncMetrics

ALIAS = CHAMPION
STATE_FILE = "sync.json"
NO_CHAMPION_EXIT = 2
ACCESS_DENIED_EXIT = 3

logger = logging.getLogger("seldon.sync")


REGISTRY_SHA_TAG = "model_sha256"
REGISTRY_RETRY_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
}


class TamperedBundle(BundleError):
    """The model file is not the one the registry recorded for this version."""


def registry_sha256(client, model_name: str, version: str) -> str:
    """The registry's record of the model file's sha256 for this version."""
    recorded = client.get_model_version(model_name, version).tags.get(REGISTRY_SHA_TAG)
    if not recorded:
        raise TamperedBundle(
            f"registry has no {REGISTRY_SHA_TAG} tag for {model_name} version {version}: "
            "its model file cannot be verified; refusing it"
        )
    return recorded


def check_registry_record(directory: Path, model_name: str, version: str, expected: str) -> None:
    actual = sha256_file(Path(directory) / MODEL_FILE)
    if actual != expected:
        raise TamperedBundle(
            f"{model_name} version {version}: {MODEL_FILE} sha256 {actual} differs from the registry's "
            f"record {expected}: the artifact was changed after registration; refusing it"
        )


def fetch_bundle(
    root: Path, model_name: str, version: str, tracking_uri: str, expected_sha256: str | None = None
) -> Path:
    """Download and verify versions/<version>/ (kept when already there and valid); with
    `expected_sha256` (the registry's record) the model file must match it too."""
    target = version_dir(root, version)
    if target.is_dir():
        try:
            load_bundle(target)
            if expected_sha256 is not None:
                check_registry_record(target, model_name, version, expected_sha256)
            return target
        except BundleError:
            logger.warning("re-fetching %s: the copy on disk fails its checks", target)
            shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".fetch-{version}-") as tmp:
        downloaded = download_version(model_name, version, tmp, tracking_uri)
        bundle = load_bundle(downloaded)  # refuse to publish a tampered or incomplete bundle
        if expected_sha256 is not None:
            check_registry_record(downloaded, model_name, version, expected_sha256)
        if bundle.metadata.version != version:
            logger.warning(
                "bundle metadata says version %s, registry says %s", bundle.metadata.version, version
            )
        os.replace(downloaded, target)  # same filesystem: the version appears whole or not at all
    return target


def sync_once(root: Path, client, model_name: str, alias: str, tracking_uri: str) -> bool:
    """Publish the alias' version if it moved; True when the pointer was flipped."""
    version = resolve_alias(client, model_name, alias)
    state = _read_state(root)
    if state.get("version") == version and read_pointer(root) is not None:
        return False
    expected = registry_sha256(client, model_name, version)
    fetch_bundle(root, model_name, version, tracking_uri, expected)
    write_pointer(root, version, source=f"models:/{model_name}@{alias}")
    (root / STATE_FILE).write_text(json.dumps({"alias": alias, "version": version}))
    logger.info("%s@%s is version %s: pointer flipped", model_name, alias, version)
    return True


def sync_shadow(root: Path, client, model_name: str, alias: str, tracking_uri: str) -> bool:
    """Publish the shadow alias' version to challenger.json, or remove the file (no version holds
    the alias, or the champion's does); True when the file changed."""
    try:
        version = resolve_alias(client, model_name, alias)
    except NoVersionForAlias:
        version = None
    if version is None or version == (read_pointer(root) or {}).get("version"):
        return remove_pointer(root, CHALLENGER_POINTER_FILE)
    if (read_pointer(root, CHALLENGER_POINTER_FILE) or {}).get("version") == version:
        return False
    fetch_bundle(root, model_name, version, tracking_uri, registry_sha256(client, model_name, version))
    write_pointer(root, version, source=f"models:/{model_name}@{alias}", name=CHALLENGER_POINTER_FILE)
    logger.info("%s@%s is version %s: scored in shadow", model_name, alias, version)
    return True


def remove_pointer(root: Path, name: str) -> bool:
    """Remove a pointer file; True when it was there."""
    try:
        (root / name).unlink()
    except FileNotFoundError:
        return False
    logger.info("%s removed: no challenger scored in shadow", name)
    return True


def prune(root: Path, keep: int) -> None:
    """Drop old versions, never one a pointer names."""
    named = {
        str((read_pointer(root, name) or {}).get("version"))
        for name in (POINTER_FILE, CHALLENGER_POINTER_FILE)
    }
    folder = root / VERSIONS_DIR
    versions = sorted(
        (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    for old in versions[:-keep] if keep > 0 else []:
        if old.name not in named:
            shutil.rmtree(old, ignore_errors=True)


def _read_state(root: Path) -> dict:
    try:
        return json.loads((root / STATE_FILE).read_text())
    except FileNotFoundError:
        return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seldon.sync", description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, type=Path, help="model root shared with the server")
    parser.add_argument("--model-name", default="", help="default: REGISTERED_MODEL")
    parser.add_argument("--metric-prefix", default="", help="default: METRIC_PREFIX")
    parser.add_argument("--alias", default=ALIAS)
    parser.add_argument("--shadow-alias", default="", help="also publish this alias, scored in shadow")
    parser.add_argument(
        "--tracking-uri", default=None, help="default: MLFLOW_TRACKING_URI or the project store"
    )
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between polls")
    parser.add_argument("--keep", type=int, default=3, help="versions kept on disk")
    parser.add_argument("--once", action="store_true", help="sync once and exit")
    parser.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics here")
    parser.add_argument("--metrics-host", default="127.0.0.1", help="0.0.0.0 in a pod")
    args = parser.parse_args(argv)
    try:
        args.model_name = registered_model(args.model_name)
        prefix = metric_prefix(args.metric_prefix)
    except SettingsError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sync %(levelname)s %(message)s")

    # mlflow retries a registry that is down for minutes (7 times, exponential backoff): a poll
    # should fail fast, be counted, and the next poll try again. Set these to change it.
    for name, value in REGISTRY_RETRY_DEFAULTS.items():
        os.environ.setdefault(name, value)
    import mlflow
    from mlflow import MlflowClient

    tracking_uri = args.tracking_uri or default_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    args.root.mkdir(parents=True, exist_ok=True)
    if args.once:
        try:
            sync_once(args.root, client, args.model_name, args.alias, tracking_uri)
        except NoVersionForAlias as exc:
            logger.error("%s", exc)
            return NO_CHAMPION_EXIT
        except RegistryAccessDenied as exc:
            logger.error("%s", exc)
            return ACCESS_DENIED_EXIT
        if args.shadow_alias:
            sync_shadow(args.root, client, args.model_name, args.shadow_alias, tracking_uri)
        return 0
    metrics = SyncMetrics(prefix)
    if args.metrics_port:
        metrics.serve(args.metrics_port, args.metrics_host)
    while True:
        poll(args, client, tracking_uri, metrics)
        time.sleep(args.interval)


def poll(args, client, tracking_uri: str, metrics: SyncMetrics) -> None:
    """One cycle of the loop: nothing it meets stops the loop or the servers' current bundle."""
    try:
        flipped = sync_once(args.root, client, args.model_name, args.alias, tracking_uri)
    except TamperedBundle:
        logger.exception("refused a tampered bundle; the server keeps its current bundle")
        metrics.refusal("registry_sha256")
    except BundleError:
        logger.exception("refused a bundle that fails its checks; the server keeps its current bundle")
        metrics.refusal("bundle")
    except Exception:  # registry down, network, disk: keep serving what we have, retry later
        logger.exception("sync failed; the server keeps its current bundle")
        metrics.poll("failed")
    else:
        metrics.poll("ok" if flipped else "unchanged")
        if flipped:
            prune(args.root, args.keep)
    if args.shadow_alias:
        try:
            if sync_shadow(args.root, client, args.model_name, args.shadow_alias, tracking_uri):
                prune(args.root, args.keep)
        except Exception:  # the champion is served whatever happens to its shadow
            logger.exception("shadow sync failed; the workers keep their current challenger")
            metrics.poll("shadow_failed")
    pointer = read_pointer(args.root)
    if pointer is not None:
        metrics.publish(str(pointer["version"]))


if __name__ == "__main__":
    raise SystemExit(main())
