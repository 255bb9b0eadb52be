"""`make test` installs its system tools without touching the machine's services."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.system_tools import REPO, SYSTEM, system_binary

SYSTEM_WIDE = re.compile(r"apt-get install|apt install|dpkg -i|systemctl|service ")


def test_make_test_installs_nothing_system_wide():
    planned = subprocess.run(
        ["make", "-n", "-B", "test"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert "scripts/debian_tools.sh" in planned  # the system tools are still provided
    assert not SYSTEM_WIDE.findall(planned), planned


def test_the_tests_use_the_unpacked_debian_binaries():
    for name in ("prometheus", "promtool", "prometheus-pushgateway", "prometheus-alertmanager", "amtool"):
        path = Path(system_binary(name))
        assert path.is_relative_to(SYSTEM), f"{name} resolved to {path}, not under {SYSTEM}"
        version = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=True)
        assert "version" in (version.stdout + version.stderr)
