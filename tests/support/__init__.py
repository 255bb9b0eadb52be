"""What every test folder shares: the repository's root, the serving environment's Python and a
free loopback port here; synthetic tables (`tables`), a small real window and `pyflyte run`
(`pipeline`), processes started and stopped (`processes`), Debian's Prometheus tools and Redis
(`system_tools`), the tier of a test module (`tiers`) in the modules beside it."""

from __future__ import annotations

import socket
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVING_PYTHON = REPO / ".venv-serving" / "bin" / "python"  # `make setup-serving`


def deployment_env() -> dict[str, str]:
    """What a deployment of the process's use case (MLOPS_USE_CASE, default flights) sets for the
    serving processes, as `make serve` and the manifests do (`contract.deployment`): its metric
    prefix and its registered model."""
    import usecases
    from contract.deployment import METRIC_PREFIX_ENV, REGISTERED_MODEL_ENV

    case = usecases.current()
    return {METRIC_PREFIX_ENV: case.metric_prefix, REGISTERED_MODEL_ENV: case.model_name}


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick on 127.0.0.1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
