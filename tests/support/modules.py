"""Tests that scaffold a use case import its package: the next scaffold of the same name in the
same process (another test of a worker) must import the new folder, not the module left behind."""

from __future__ import annotations

import sys


def forget_package(name: str) -> None:
    """Drop `name` and its submodules from `sys.modules`."""
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]
