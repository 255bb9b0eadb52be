"""The trees' OpenMP thread policy, read from `threads.env` beside this module: the one place the
Makefile, the tests, the task image and the serving image take it from (docs/performance.md)."""

from __future__ import annotations

from pathlib import Path

THREADS_ENV = Path(__file__).with_name("threads.env")


def thread_policy(path: Path = THREADS_ENV) -> dict[str, str]:
    """The environment variables of the policy: `NAME=value` lines, `#` comments and blanks skipped."""
    policy = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, separator, value = line.partition("=")
            if not separator or not name.strip():
                raise ValueError(f"{path}: expected NAME=value, got {line!r}")
            policy[name.strip()] = value.strip()
    return policy
