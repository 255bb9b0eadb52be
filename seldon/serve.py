"""Start `seldon-core-microservice` with this project's changes to the wrapper.

Everything else is the stock `seldon_core.microservice.main` with the same arguments, e.g.

  SERVING_BIND_HOST=127.0.0.1 python -m seldon.serve seldon.model.BundleModel \\
      --workers 2 --grpc-workers 0 --http-port 9000 --metrics-port 6000

What changes, and why: `seldon/wrapper_changes.py`.
"""

from __future__ import annotations

import os


def main() -> None:
    # custom metrics are for Prometheus, not for every client response (the wrapper's default)
    os.environ.setdefault("INCLUDE_METRICS_IN_CLIENT_RESPONSE", "false")
    from seldon import wrapper_changes

    path = wrapper_changes.prepare_multiprocess_dir()  # before prometheus_client is imported
    from seldon_core import microservice

    wrapper_changes.apply(path, os.environ.get(wrapper_changes.BIND_HOST) or None)
    microservice.main()


if __name__ == "__main__":
    main()
