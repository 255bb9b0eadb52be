"""Where the tests find Debian's prometheus, promtool and prometheus-pushgateway: unpacked into
.tools/system by `make setup-system` (no package installed, no service enabled)."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SYSTEM = REPO / ".tools" / "system"


def system_binary(name: str) -> str:
    """The unpacked binary, else one on PATH; fails naming the command that provides it."""
    unpacked = SYSTEM / "usr" / "bin" / name
    if unpacked.is_file():
        return str(unpacked)
    found = shutil.which(name)
    assert found, f"{name} missing: run `make setup-system` (Debian's prometheus, prometheus-pushgateway)"
    return found


def pushgateway_assets() -> Path:
    """The Pushgateway's web page templates, which the binary reads from its package's directory."""
    return SYSTEM / "usr" / "share" / "prometheus" / "pushgateway"
