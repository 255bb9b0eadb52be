"""Start `seldon-core-microservice` with our metrics and, optionally, a bind host.

Everything else is the stock `seldon_core.microservice.main` with the same arguments, e.g.

  SERVING_BIND_HOST=127.0.0.1 python -m seldon.serve seldon.model.FlightsLateModel \\
      --workers 2 --grpc-workers 0 --http-port 9000 --metrics-port 6000

Three adjustments of the wrapper, made here before it starts:
- SERVING_BIND_HOST: the wrapper hard-codes 0.0.0.0 (right in a pod, wrong on a laptop or CI
  machine); with it set, the gunicorn `bind` option gets that host.
- Metrics: the model writes its metrics with prometheus-client's multiprocess mode into
  PROMETHEUS_MULTIPROC_DIR (a fresh directory under the temp dir unless given; emptied at start),
  and the wrapper's metrics server merges them into its answer beside Seldon's own series. A
  worker's gauges leave with it (`worker_exit`).
- Seldon's custom-metrics store is updated after every prediction even when the model returns no
  custom metrics: two round trips to a multiprocessing manager (about 0.4 ms). An empty update
  changes nothing, so it is skipped.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BIND_HOST = "SERVING_BIND_HOST"
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
_LEGACY_MULTIPROC_DIR = "prometheus_multiproc_dir"  # the name prometheus-client 0.8 reads


def bind_to(host: str) -> None:
    from seldon_core.gunicorn_utils import StandaloneApplication

    original = StandaloneApplication.load_config

    def load_config(self) -> None:
        bind = self.options.get("bind")
        if bind:
            self.options["bind"] = f"{host}:{bind.rsplit(':', 1)[1]}"
        original(self)

    StandaloneApplication.load_config = load_config


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
    host = os.environ.get(BIND_HOST)
    if host:
        bind_to(host)
    microservice.main()


if __name__ == "__main__":
    main()
