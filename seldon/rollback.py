"""Roll every replica back (or forward) by moving the registry alias that the sync sidecars follow.

    python -m seldon.rollback --to 2 [--alias champion] [--model-name NAME (default: REGISTERED_MODEL)]
                              [--tracking-uri URI] [--reason TEXT]
    make rollback VERSION=2 [REASON=...]

The registry alias is the one source of truth: each pod's `seldon.sync` sidecar polls it and
flips its own pod's pointer, so moving the alias reaches every replica (an admin call on one pod
reaches that pod only, and cannot write on a read-only model volume). Before the alias moves, the
target version's bundle is downloaded and verified exactly as the sidecars will verify it: a
version they would refuse (its own checks, or a model file that differs from the registry's
sha256 record) is never named. The move is recorded on the target version as the
`rollback` tag (from which version, when, why).

Exit codes: 0 moved (or already there), 2 no such version, 3 its bundle fails its checks.
Runs in the pipeline environment (it needs mlflow).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from contract.champion import push_champion
from contract.deployment import SettingsError, registered_model
from contract.names import CHAMPION
from contract.registry import NoVersionForAlias, resolve_alias
from contract.registry import tracking_uri as default_tracking_uri
from seldon.pointer import VERSION_NAME
from seldon.sync import fetch_bundle, registry_sha256

NO_VERSION_EXIT = 2
REFUSED_EXIT = 3
ROLLBACK_TAG = "rollback"

logger = logging.getLogger("seldon.rollback")


class RollbackRefused(RuntimeError):
    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def rollback(
    client, model_name: str, alias: str, version: str, tracking_uri: str, reason: str = ""
) -> str | None:
    """Point `alias` at `version` after verifying its bundle; the previous version (or None)."""
    from mlflow.exceptions import MlflowException

    if not VERSION_NAME.fullmatch(version):
        raise RollbackRefused(f"{version!r} is not a registry version", NO_VERSION_EXIT)
    try:
        client.get_model_version(model_name, version)
    except MlflowException as exc:
        raise RollbackRefused(
            f"registered model '{model_name}' has no version {version}: {exc.message}", NO_VERSION_EXIT
        ) from exc
    try:
        previous: str | None = resolve_alias(client, model_name, alias)
    except NoVersionForAlias:
        previous = None
    if previous == version:
        logger.info("%s@%s is already version %s: nothing to do", model_name, alias, version)
        return previous
    with tempfile.TemporaryDirectory(prefix="rollback-check-") as tmp:
        try:  # the very download and checks every sidecar will run
            expected = registry_sha256(client, model_name, version)
            fetch_bundle(Path(tmp), model_name, version, tracking_uri, expected)
        except Exception as exc:
            raise RollbackRefused(
                f"version {version}'s bundle fails its checks, the alias stays on {previous}: {exc}",
                REFUSED_EXIT,
            ) from exc
    client.set_registered_model_alias(model_name, alias, version)
    record = {"from": previous, "alias": alias, "at": datetime.now(UTC).isoformat(), "reason": reason}
    client.set_model_version_tag(model_name, version, ROLLBACK_TAG, json.dumps(record))
    if alias == CHAMPION:  # the served-vs-champion alert compares with the pushed champion
        import usecases  # the pipeline's environment, where rollback runs

        push_champion(model_name, version, usecases.current().metric_prefix)
    logger.warning(
        "%s@%s moved from version %s to %s (%s): every sync sidecar follows at its next poll",
        model_name,
        alias,
        previous,
        version,
        reason or "no reason given",
    )
    return previous


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seldon.rollback", description=__doc__.split("\n")[0])
    parser.add_argument("--to", required=True, dest="version", help="registry version to serve")
    parser.add_argument("--alias", default=CHAMPION)
    parser.add_argument("--model-name", default="", help="default: REGISTERED_MODEL")
    parser.add_argument(
        "--tracking-uri", default=None, help="default: MLFLOW_TRACKING_URI or the project store"
    )
    parser.add_argument("--reason", default="", help="recorded in the version's rollback tag")
    args = parser.parse_args(argv)
    try:
        args.model_name = registered_model(args.model_name)
    except SettingsError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s rollback %(levelname)s %(message)s")

    import mlflow
    from mlflow import MlflowClient

    tracking_uri = args.tracking_uri or default_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        rollback(client, args.model_name, args.alias, args.version, tracking_uri, args.reason)
    except RollbackRefused as exc:
        logger.error("%s", exc)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
