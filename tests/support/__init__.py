"""What every test folder shares: the repository's root, the serving environment's Python and a
free loopback port here; synthetic tables (`tables`), a small real window and `pyflyte run`
(`pipeline`), processes started and stopped (`processes`), Debian's Prometheus tools and Redis
(`system_tools`), the tier of a test module (`tiers`) in the modules beside it."""

from __future__ import annotations

import socket
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVING_PYTHON = REPO / ".venv-serving" / "bin" / "python"  # `make setup-serving`


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick on 127.0.0.1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
