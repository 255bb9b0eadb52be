"""Start `seldon-core-microservice` with our metrics and, optionally, a bind host.

Everything else is the stock `seldon_core.microservice.main` with the same arguments, e.g.

  SERVING_BIND_HOST=127.0.0.1 python -m seldon.serve seldon.model.FlightsLateModel \\
      --workers 2 --grpc-workers 0 --http-port 9000 --metrics-port 6000

Four adjustments of the wrapper, made here before it starts:
- SERVING_BIND_HOST: the wrapper hard-codes 0.0.0.0 (right in a pod, wrong on a laptop or CI
  machine); with it set, the gunicorn `bind` option gets that host.
- Graceful SIGTERM: each stopping worker also answers the connections already waiting in the
  listen backlog before it exits (gunicorn would reset them: requests a client had sent before
  the shutdown).
- Metrics: the model writes its metrics with prometheus-client's multiprocess mode into
  PROMETHEUS_MULTIPROC_DIR (a fresh directory under the temp dir unless given; emptied at start),
  and the wrapper's metrics server merges them into its answer beside Seldon's own series. A
  worker's gauges leave with it (`worker_exit`).
- Seldon's custom-metrics store is updated after every prediction even when the model returns no
  custom metrics: two round trips to a multiprocessing manager (about 0.4 ms). An empty update
  changes nothing, so it is skipped.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

BIND_HOST = "SERVING_BIND_HOST"
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
_LEGACY_MULTIPROC_DIR = "prometheus_multiproc_dir"  # the name prometheus-client 0.8 reads

logger = logging.getLogger(__name__)


def patch_gunicorn_options(host: str | None) -> None:
    from seldon_core.gunicorn_utils import StandaloneApplication

    original = StandaloneApplication.load_config

    def load_config(self) -> None:
        bind = self.options.get("bind")
        if bind and host:
            self.options["bind"] = f"{host}:{bind.rsplit(':', 1)[1]}"
        on_exit = self.options.get("worker_exit")
        if on_exit is not None and not getattr(on_exit, "finishes_backlog", False):
            self.options["worker_exit"] = _finish_backlog_then(on_exit)
        original(self)

    StandaloneApplication.load_config = load_config


def _finish_backlog_then(on_exit):
    def worker_exit(server, worker) -> None:
        try:
            answered = finish_backlog(worker)
            if answered:
                logger.info("worker %s answered %d waiting connection(s) on exit", worker.pid, answered)
        finally:
            on_exit(server, worker)

    worker_exit.finishes_backlog = True  # type: ignore[attr-defined]
    return worker_exit


def finish_backlog(worker) -> int:
    """In a stopping sync worker: accept and answer what already waits in the listen backlog."""
    from gunicorn.workers.sync import SyncWorker

    if os.getpid() != getattr(worker, "pid", None) or not isinstance(worker, SyncWorker):
        return 0  # the arbiter calls worker_exit too, for workers that are already gone
    answered = 0
    for listener in getattr(worker, "sockets", []):
        try:
            listener.setblocking(False)
        except OSError:
            continue
        while True:
            try:
                worker.accept(listener)  # the sync worker's accept: blocking client, handled whole
            except OSError:  # EAGAIN: the backlog is empty (or the listener is gone)
                break
            answered += 1
    return answered


def prepare_multiprocess_dir() -> Path:
    """The metrics directory, exported under both names, emptied of an earlier run's files.
    Must run before prometheus_client is imported: it picks its value class at import."""
    given = os.environ.get(MULTIPROC_DIR) or os.environ.get(_LEGACY_MULTIPROC_DIR)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="flights-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_DIR] = os.environ[_LEGACY_MULTIPROC_DIR] = str(path)
    return path


def merge_model_metrics(path: Path) -> None:
    """The wrapper's metrics answer: Seldon's series plus every worker's model metrics."""
    from prometheus_client import CollectorRegistry, exposition, multiprocess
    from seldon_core import microservice
    from seldon_core.metrics import SeldonMetrics

    def generate_metrics(self):
        registry = CollectorRegistry()
        registry.register(self)
        multiprocess.MultiProcessCollector(registry, path=str(path))
        return exposition.generate_latest(registry).decode("utf-8"), exposition.CONTENT_TYPE_LATEST

    original_update = SeldonMetrics.update

    def update(self, custom_metrics, method):
        if custom_metrics:
            original_update(self, custom_metrics, method)

    original_exit = microservice.worker_exit

    def worker_exit(server, worker, seldon_metrics):
        multiprocess.mark_process_dead(os.getpid(), str(path))
        original_exit(server, worker, seldon_metrics=seldon_metrics)

    SeldonMetrics.generate_metrics = generate_metrics
    SeldonMetrics.update = update
    microservice.worker_exit = worker_exit


def main() -> None:
    # custom metrics are for Prometheus, not for every client response (the wrapper's default)
    os.environ.setdefault("INCLUDE_METRICS_IN_CLIENT_RESPONSE", "false")
    path = prepare_multiprocess_dir()
    from seldon_core import microservice

    merge_model_metrics(path)
    patch_gunicorn_options(os.environ.get(BIND_HOST) or None)
    microservice.main()


if __name__ == "__main__":
    main()
