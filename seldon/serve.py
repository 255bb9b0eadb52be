"""Start `seldon-core-microservice` with its HTTP and metrics servers bound to SERVING_BIND_HOST.

The wrapper hard-codes 0.0.0.0 (right in a pod, wrong on a laptop or CI machine). With
SERVING_BIND_HOST set, the gunicorn `bind` option gets that host; everything else is the stock
`seldon_core.microservice.main` with the same arguments, e.g.

  SERVING_BIND_HOST=127.0.0.1 python -m seldon.serve seldon.model.FlightsLateModel \
      --workers 2 --grpc-workers 0 --http-port 9000 --metrics-port 6000
"""

from __future__ import annotations

import os

BIND_HOST = "SERVING_BIND_HOST"


def bind_to(host: str) -> None:
    from seldon_core.gunicorn_utils import StandaloneApplication

    original = StandaloneApplication.load_config

    def load_config(self) -> None:
        bind = self.options.get("bind")
        if bind:
            self.options["bind"] = f"{host}:{bind.rsplit(':', 1)[1]}"
        original(self)

    StandaloneApplication.load_config = load_config


def main() -> None:
    # custom metrics are for Prometheus, not for every client response (the wrapper's default)
    os.environ.setdefault("INCLUDE_METRICS_IN_CLIENT_RESPONSE", "false")
    from seldon_core import microservice

    host = os.environ.get(BIND_HOST)
    if host:
        bind_to(host)
    microservice.main()


if __name__ == "__main__":
    main()
