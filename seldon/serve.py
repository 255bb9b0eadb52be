"""Start `seldon-core-microservice` with its HTTP and metrics servers bound to SERVING_BIND_HOST.

The wrapper hard-codes 0.0.0.0 (right in a pod, wrong on a laptop or CI machine). With
SERVING_BIND_HOST set, the gunicorn `bind` option gets that host. On SIGTERM, each worker also
answers the connections already waiting in the listen backlog before it exits (gunicorn would
reset them: requests a client had sent before the shutdown). Everything else is the stock
`seldon_core.microservice.main` with the same arguments, e.g.

  SERVING_BIND_HOST=127.0.0.1 python -m seldon.serve seldon.model.FlightsLateModel \
      --workers 2 --grpc-workers 0 --http-port 9000 --metrics-port 6000
"""

from __future__ import annotations

import logging
import os

BIND_HOST = "SERVING_BIND_HOST"

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


def main() -> None:
    # custom metrics are for Prometheus, not for every client response (the wrapper's default)
    os.environ.setdefault("INCLUDE_METRICS_IN_CLIENT_RESPONSE", "false")
    from seldon_core import microservice

    patch_gunicorn_options(os.environ.get(BIND_HOST) or None)
    microservice.main()


if __name__ == "__main__":
    main()
