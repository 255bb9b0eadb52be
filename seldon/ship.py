"""Ship the request log's closed segments to the artifact store MLflow's artifacts use.

    python -m seldon.ship --dir DIR [--to URI] [--replica NAME] [--interval 2] [--once]
                          [--metric-prefix PREFIX (default: METRIC_PREFIX)]

Runs beside the model server (locally next to `make serve`, on Kubernetes as a sidecar that
shares the request-log emptyDir), in the pipeline environment like the registry sync: it uploads
through MLflow's artifact repositories (`mlflow.store.artifact.artifact_repository_registry`),
so a segment goes wherever MLflow's artifacts go, with the same credentials. Where: `--to`, else
`REQUEST_LOG_URI`, else the use case's own location (`contract.log_store`):
`experiments:/<REGISTERED_MODEL>-request-logs/request-logs`, resolved through the tracking server
to that experiment's artifact location (behind the artifact proxy the pod needs no bucket
credentials; with authentication on, the user in `MLFLOW_TRACKING_USERNAME` / `_PASSWORD` needs
`EDIT` on that experiment). Any artifact URI works as well (`s3://`, `gs://`, a local path).
The serving image stays without mlflow.

Each cycle it closes the open segments of workers that died (`contract.log_segments`), then
uploads every closed segment to `<to>/date=<day>/replica=<replica>/<segment name>` and deletes
it locally only after the upload succeeded: delivery is at least once, and a segment shipped
twice overwrites the same object with the same bytes. While the store is down the segments
wait on disk (counted in `<prefix>_ship_pending_segments`) and ship when it is back, oldest
first. On SIGTERM it waits (up to --drain-seconds) for the workers to close their segments,
ships what is left and exits: a pod stopped normally loses nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path

from contract.deployment import SettingsError, metric_prefix, registered_model
from contract.log_segments import (
    close_orphans,
    closed_segments,
    open_segments,
    replica_name,
    segment_opened,
    store_folder,
)
from contract.log_store import LogStoreError, location, parse, refused, resolve
from contract.registry import tracking_uri

REPLICA_ENV = "REPLICA_NAME"
DESTINATION_ENV = "REQUEST_LOG_URI"
STORE_RETRY_DEFAULTS = {  # fail an upload fast and try again next cycle, instead of mlflow's minutes
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}

logger = logging.getLogger("seldon.ship")


def default_destination() -> str:
    """`REQUEST_LOG_URI`, else the use case's location, after its registered model
    (`REGISTERED_MODEL`: SettingsError when neither is set)."""
    return os.environ.get(DESTINATION_ENV) or location(registered_model())


class Shipper:
    """Uploads closed segments of one directory; `ship_once` is one cycle."""

    def __init__(self, directory: Path, destination: str, replica: str, metrics=None) -> None:
        self.directory = directory
        self.destination = destination
        self.replica = replica_name(replica)
        self.metrics = metrics
        self._repository = None

    def repository(self):
        """The artifact repository of the destination, resolved at the first upload (the
        tracking server may be down when the shipper starts): LogStoreError while the use case's
        experiment is absent on the server, or the server refuses the shipper's user."""
        if self._repository is None:
            from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

            tracking = tracking_uri()
            uri = resolve(self.destination, tracking, create=True)
            if uri is None:
                experiment = parse(self.destination)[0]  # type: ignore[index]
                raise LogStoreError(
                    f"experiment '{experiment}' does not exist on {tracking}: "
                    "scripts.registry_access makes it (with the shipper's grant)"
                )
            self._repository = get_artifact_repository(uri, tracking_uri=tracking)
        return self._repository

    def ship_once(self, min_idle_seconds: float = 5.0) -> tuple[int, int]:
        """Close dead workers' segments, upload every closed one. (shipped, still waiting)."""
        close_orphans(self.directory, min_idle_seconds)
        waiting = closed_segments(self.directory)
        shipped = 0
        for segment in waiting:
            folder = store_folder(segment_opened(segment.name), self.replica)
            try:
                self.repository().log_artifact(str(segment), folder)
            except Exception as exc:  # the store is down or refuses: keep the segment, retry later
                explained = self._explained(exc)
                logger.log(
                    logging.ERROR if isinstance(explained, LogStoreError) else logging.WARNING,
                    "could not ship %s to %s/%s (%d waiting): %s",
                    segment.name,
                    self.destination,
                    folder,
                    len(waiting) - shipped,
                    explained,
                )
                if self.metrics is not None:
                    self.metrics.failed()
                break  # oldest first: the rest waits for the next cycle
            lines = _count_lines(segment)
            segment.unlink()
            shipped += 1
            if self.metrics is not None:
                self.metrics.shipped(lines)
        remaining = len(waiting) - shipped
        if self.metrics is not None:
            self.metrics.pending(remaining)
        return shipped, remaining

    def _explained(self, exc: Exception) -> Exception:
        """A refusal (401/403) says who lacks which grant on which experiment."""
        named = parse(self.destination)
        experiment = named[0] if named else self.destination
        return refused(exc, f"writing to {self.destination}", "EDIT", experiment)

    def drain(self, deadline_seconds: float, interval: float) -> int:
        """At shutdown: wait for the workers to close their segments (their exit does), then ship
        what is left, until the deadline. The segments still waiting."""
        deadline = time.monotonic() + deadline_seconds
        while True:
            workers_done = not open_segments(self.directory) or time.monotonic() >= deadline - interval
            _, remaining = self.ship_once(min_idle_seconds=0 if workers_done else 5.0)
            if (workers_done and remaining == 0) or time.monotonic() >= deadline:
                return remaining
            time.sleep(min(interval, 0.5))


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


class ShipMetrics:
    """<prefix>_ship_segments_total{outcome}, <prefix>_ship_lines_total,
    <prefix>_ship_pending_segments, <prefix>_ship_last_success_timestamp_seconds: served on
    --metrics-port."""

    def __init__(self, prefix: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.registry = CollectorRegistry()
        self.segments = Counter(
            f"{prefix}_ship_segments_total",
            "Request-log segment uploads by outcome (shipped, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.lines = Counter(
            f"{prefix}_ship_lines_total", "Request-log lines shipped", registry=self.registry
        )
        self.waiting = Gauge(
            f"{prefix}_ship_pending_segments",
            "Closed segments waiting on disk for the store",
            registry=self.registry,
        )
        self.last_success = Gauge(
            f"{prefix}_ship_last_success_timestamp_seconds",
            "Unix time of the last segment shipped",
            registry=self.registry,
        )
        for outcome in ("shipped", "failed"):
            self.segments.labels(outcome)

    def serve(self, port: int, host: str) -> None:
        from prometheus_client import start_http_server

        start_http_server(port, addr=host, registry=self.registry)

    def shipped(self, lines: int) -> None:
        self.segments.labels("shipped").inc()
        self.lines.inc(lines)
        self.last_success.set(time.time())

    def failed(self) -> None:
        self.segments.labels("failed").inc()

    def pending(self, count: int) -> None:
        self.waiting.set(count)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seldon.ship", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", required=True, type=Path, help="the servers' REQUEST_LOG_DIR")
    parser.add_argument(
        "--to", default=None, help="where to (default: REQUEST_LOG_URI, else the use case's location)"
    )
    parser.add_argument(
        "--replica", default=None, help="store folder of this replica; default: REPLICA_NAME or the host name"
    )
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between cycles")
    parser.add_argument("--drain-seconds", type=float, default=20.0, help="at SIGTERM, time to ship the rest")
    parser.add_argument("--once", action="store_true", help="one cycle, then exit")
    parser.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics here")
    parser.add_argument("--metrics-host", default="127.0.0.1", help="0.0.0.0 in a pod")
    parser.add_argument("--metric-prefix", default="", help="default: METRIC_PREFIX")
    args = parser.parse_args(argv)
    try:
        prefix = metric_prefix(args.metric_prefix)
        destination = args.to or default_destination()
    except SettingsError as exc:
        parser.error(str(exc))
    stopping = threading.Event()  # before mlflow's slow import: a SIGTERM during it still drains
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s ship %(levelname)s %(message)s")
    for name, value in STORE_RETRY_DEFAULTS.items():
        os.environ.setdefault(name, value)

    args.dir.mkdir(parents=True, exist_ok=True)
    metrics = ShipMetrics(prefix)
    shipper = Shipper(
        args.dir,
        destination,
        args.replica or os.environ.get(REPLICA_ENV) or socket.gethostname(),
        metrics,
    )
    if args.once:
        return 0 if shipper.ship_once()[1] == 0 else 1
    if args.metrics_port:
        metrics.serve(args.metrics_port, args.metrics_host)
    logger.info("shipping %s to %s as replica %s", args.dir, shipper.destination, shipper.replica)
    while not stopping.is_set():
        shipper.ship_once()
        stopping.wait(args.interval)
    remaining = shipper.drain(args.drain_seconds, args.interval)
    if remaining:
        logger.error("stopped with %d segment(s) not shipped: they stay in %s", remaining, args.dir)
    return 0 if remaining == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
